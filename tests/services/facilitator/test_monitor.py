"""The monitor's numbers from a seeded world (SQLite and PostgreSQL), and its arithmetic (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from interviews import funnel
from services.facilitator import deliberations, monitor
from storage.errors import NotFound
from tests.services import monitor_world
from tests.services.monitor_world import PRICES


def by(rows: list, attribute: str) -> dict:
    return {getattr(r, attribute): r for r in rows}


def test_the_funnel_counts_participants_only_from_consent(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    m = monitor.overview(engine, deliberation_id=world.deliberation_id)
    assert [(s.step, s.reached, s.skipped) for s in m.funnel] == [
        ("visited", 5, 0),
        ("consented", 3, 0),
        ("interviewed", 2, 0),
        ("card submitted", 2, 0),
        ("voted", 1, 1),
        ("judged", 2, 0),
        ("surveyed", 2, 0),
    ]
    assert m.participants == 3 and m.title == "Monitored"


def test_median_time_per_step(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    times = by(monitor.overview(engine, deliberation_id=world.deliberation_id).times, "step")
    expected = {
        "consent": (30.0, 3),  # 30, 90, 10
        "interview and card": (420.0, 2),  # 540, 300
        "vote": (60.0, 1),  # 620 -> 680
        "judge": (110.0, 2),  # 680 -> 800, 400 -> 500
        "survey": (100.0, 2),  # 800 -> 900, 500 -> 600 (the receipt's answers later do not count)
        "whole visit": (750.0, 2),
    }
    assert {step: (t.median_s, t.people) for step, t in times.items()} == expected


def test_usage_per_step_with_prices(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    m = monitor.overview(engine, deliberation_id=world.deliberation_id, prices=PRICES)
    steps = by(m.by_step, "label")
    assert set(steps) == {
        "participant: interview",
        "participant: card writing",
        "job: upgrade stories",
        "embeddings (vote draws, dedup)",
    }  # the other deliberation's call and the unattributed model check are left out
    interview = steps["participant: interview"]
    assert (interview.calls, interview.errors, interview.tokens_in, interview.tokens_out) == (
        5,
        1,
        3100,
        1540,
    )
    assert interview.cost == pytest.approx(0.0225) and interview.unpriced_calls == 2
    assert interview.cost_text == "0.0225 + 2 unpriced calls"
    assert steps["participant: card writing"].cost == pytest.approx(0.015)
    assert steps["job: upgrade stories"].cost_text == "0.0900"
    assert steps["embeddings (vote draws, dedup)"].cost_text == "tokens only"
    assert m.by_step[0].label == "job: upgrade stories"  # the most tokens first
    assert m.priced_models == ["gpt-4o"]


def test_usage_per_participant(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    per = monitor.overview(engine, deliberation_id=world.deliberation_id, prices=PRICES, top=1).by_participant
    assert per.participants == 2
    assert [u.label for u in per.top] == [f"participant {world.p1}"]
    assert per.top[0].tokens == 7500 and per.top[0].cost == pytest.approx(0.0375)
    assert per.median_tokens == (7500 + 170) / 2
    assert per.median_cost is None  # p2's models have no price: no median cost is made up


def test_without_prices_everything_is_tokens_only(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    m = monitor.overview(engine, deliberation_id=world.deliberation_id)
    assert m.by_step and all(u.cost is None and u.cost_text == "tokens only" for u in m.by_step)
    assert m.by_participant.median_cost is None and m.priced_models == []


def test_survey_beside_the_published_figures(engine: Engine) -> None:
    world = monitor_world.seed(engine)
    survey = by(monitor.overview(engine, deliberation_id=world.deliberation_id).survey, "key")
    care = survey["expressed_care"]
    assert care.answered == 2 and care.counts["5"] == 1 and care.counts["3"] == 1
    assert care.agree_percent == 50.0 and care.published is not None and care.published.percent == 89.1
    assert survey["clarified"].agree_percent == 100.0 and survey["clarified"].published.percent == 71.0
    assert survey["gained_respect"].agree_percent == 0.0
    fair = survey["fair_position"]
    assert (
        fair.counts == {"yes": 1, "no": 1} and fair.agree_percent == 50.0 and fair.published.percent == 89.0
    )
    assert survey["represents_my_value"].published is None
    assert survey["learned_values"].answered == 0 and survey["learned_values"].agree_percent is None
    assert survey["comment"].answered == 1 and survey["comment"].counts == {}


def test_an_empty_deliberation_and_a_missing_one(engine: Engine) -> None:
    d = deliberations.create_deliberation(engine, title="Empty", questions=["Q?"])
    m = monitor.overview(engine, deliberation_id=d.id)
    assert all(s.reached == 0 for s in m.funnel) and m.by_step == []
    assert all(t.median_s is None and t.people == 0 for t in m.times)
    assert m.by_participant.median_tokens is None
    with pytest.raises(NotFound):
        monitor.overview(engine, deliberation_id=d.id + 100)


# --- the arithmetic --------------------------------------------------------------------------------

T = datetime(2025, 1, 1, tzinfo=UTC)


def test_median_of_even_odd_and_none() -> None:
    assert funnel.median([5, 1, 3]) == 3
    assert funnel.median([1, 2, 3, 10]) == 2.5
    assert funnel.median([]) is None


def test_a_time_going_backwards_is_left_out() -> None:
    ahead = funnel.Journey(1, visited_at=T, consented_at=T - timedelta(seconds=5))
    fine = funnel.Journey(2, visited_at=T, consented_at=T + timedelta(seconds=40))
    consent = funnel.step_times([ahead, fine])[0]
    assert (consent.step, consent.median_s, consent.people) == ("consent", 40.0, 1)


def test_skipped_counts_only_who_did_not_do_the_step() -> None:
    both = funnel.Journey(1, visited_at=T, skipped=("vote",), votes=2)
    skipped = funnel.Journey(2, visited_at=T, skipped=("vote", "judge"))
    steps = {s.step: s for s in funnel.funnel([both, skipped])}
    assert (steps["voted"].reached, steps["voted"].skipped) == (1, 1)
    assert (steps["judged"].reached, steps["judged"].skipped) == (0, 1)


def test_cost_per_million_tokens_and_no_price_is_no_cost() -> None:
    prices = {"m": (1.0, 2.0)}
    assert funnel.cost_of("m", 500_000, 250_000, prices) == pytest.approx(1.0)
    assert funnel.cost_of("unknown", 1, 1, prices) is None
    groups = [
        funnel.CallGroup("interview", "m", 7, 2, 1, 500_000, 250_000),
        funnel.CallGroup("interview", "unknown", 7, 1, 0, 10, 10),
        funnel.CallGroup("mystery", "unknown", None, 1, 0, 5, 0),
    ]
    steps = {u.label: u for u in funnel.usage_by_step(groups, prices)}
    assert steps["participant: interview"].cost_text == "1.0000 + 1 unpriced calls"
    assert steps["other: mystery"].cost_text == "tokens only"
    per = funnel.usage_by_participant(groups, prices)
    assert per.participants == 1 and per.median_tokens == 750_020 and per.median_cost is None
    priced = funnel.usage_by_participant(groups[:1], prices)
    assert priced.median_cost == pytest.approx(1.0)


def test_survey_answers_out_of_range_are_not_counted() -> None:
    items = [funnel.SurveyItem("clarified", "C", "scale"), funnel.SurveyItem("ok", "OK", "yes_no")]
    results = funnel.survey_results(
        items, [("clarified", 9), ("clarified", True), ("clarified", 4), ("ok", True)]
    )
    clarified, ok = results
    assert clarified.counts == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0} and clarified.agree_percent == 100.0
    assert ok.agree_percent == 100.0 and ok.published is None
