"""The continuous pipeline through the database (SQLite and PostgreSQL): after each submitted card its
contexts, its value and the stories of its new pairs; bounded by the deliberation's caps, idempotent,
serialised per deliberation, and resumable after a stop (by a rerun or the existing commands)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from interviews.limits import DEDUP_BATCH
from providers.errors import ModelUnavailable
from providers.fakes import ScriptedChatModel
from services.jobs import pipeline, stories
from services.participant import judging, voting
from services.runtime.background import BackgroundJobs
from storage import repo_values
from storage.db import session_scope
from storage.repo_interviews import MINED_FLAG
from storage.tables import EdgeHypothesis, LLMCall, ModerationEvent, ValuesCard
from tests.services.dedup_world import TitleEmbeddings
from tests.services.pipeline_world import answer, model, new_deliberation, submit


def _stories(engine: Engine) -> list[EdgeHypothesis]:
    with session_scope(engine) as s:
        return list(s.exec(select(EdgeHypothesis).order_by(EdgeHypothesis.id)).all())


def _events(engine: Engine) -> list[ModerationEvent]:
    with session_scope(engine) as s:
        statement = select(ModerationEvent).where(ModerationEvent.action == "pipeline_run")
        return list(s.exec(statement.order_by(ModerationEvent.id)).all())


def _value_of(engine: Engine, card_id: int) -> int | None:
    with session_scope(engine) as s:
        card = s.get(ValuesCard, card_id)
        assert card is not None
        return card.canonical_value_id


def test_after_each_card_the_next_participant_votes_on_it_and_judges_stories(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    one = pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    assert (one.cards_mined, one.contexts_added, one.cards_linked, one.pairs, one.calls) == (1, 1, 1, 0, 2)
    assert _stories(engine) == []  # a value alone in its context: nothing to pair it with

    second, _ = submit(engine, q, "Room to Decide")
    two = pipeline.after_card(engine, model(engine, 6), embeddings, card_id=second)
    assert (two.cards_linked, two.pairs, two.new_pairs, two.written, two.judged, two.shown) == (
        1,
        1,
        1,
        2,
        2,
        2,
    )
    assert two.calls == 6 and two.stopped == "" and two.capped == []
    a, b = _value_of(engine, first), _value_of(engine, second)
    rows = _stories(engine)
    assert {(h.from_value_id, h.to_value_id) for h in rows} == {(a, b), (b, a)}
    assert {h.run_id for h in rows} == {f"pipeline-{d}"} and all(h.shown for h in rows)

    # The next participant votes on both values and judges the stories about them.
    _, token = submit(engine, q, "Gentle Timing")
    draw = voting.draw_values(engine, token=token, question_id=q)
    assert {v.id for v in draw.values} == {a, b}
    judged = judging.stories_to_judge(engine, token=token)
    assert {(s.from_value.id, s.to_value.id) for s in judged} == {(a, b), (b, a)}

    with session_scope(engine) as s:
        purposes = Counter(c.purpose for c in s.exec(select(LLMCall)).all() if c.purpose != "embedding")
        assert all(c.deliberation_id == d for c in s.exec(select(LLMCall)).all() if c.purpose != "embedding")
    assert purposes == {"contexts": 2, "dedup": 2, "stories": 2, "story_judge": 2}
    events = _events(engine)
    assert [(e.actor, e.details["calls"], e.details["card_id"]) for e in events] == [
        ("pipeline", 2, first),
        ("pipeline", 6, second),
    ]
    assert pipeline.calls_used(engine, deliberation_id=d) == 8


def test_a_second_run_for_the_same_card_asks_no_model(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    idle = ScriptedChatModel([])  # any call would raise ScriptExhausted
    again = pipeline.after_card(engine, idle, embeddings, card_id=first)
    assert again.calls == 0 and idle.calls == [] and again.event_id is None
    assert len(_events(engine)) == 1
    assert pipeline.catch_up(engine, idle, embeddings, deliberation_id=d).calls == 0


def test_the_call_cap_stops_the_job_before_a_call_would_exceed_it(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=7)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")
    capped = pipeline.after_card(engine, model(engine, 6), embeddings, card_id=second)
    # 2 + mining 1 + dedup 1 = 4 used: the pair needs 4 more, the cap leaves 3.
    assert capped.calls == 2 and capped.capped == ["pipeline_max_calls"] and capped.pairs == 0
    assert "cap of 7 model calls (pipeline_max_calls) is reached" in capped.stopped
    assert _value_of(engine, second) is not None and _stories(engine) == []
    assert _events(engine)[-1].reason == capped.stopped
    assert pipeline.calls_used(engine, deliberation_id=d) == 4
    status = pipeline.status(engine, deliberation_id=d)
    assert (status.calls_used, status.max_calls, status.pairs_used, status.pending_cards) == (4, 7, 0, 0)
    # By hand the facilitator goes on (the cap bounds the pipeline only).
    by_hand = stories.generate_stories(engine, model(engine, 4), deliberation_id=d, run_id=f"pipeline-{d}")
    assert (by_hand.written, by_hand.judged) == (2, 2)


def test_the_pair_cap_and_the_pairs_per_value(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_pairs=2, pipeline_pairs_per_value=1)
    embeddings = TitleEmbeddings()
    reports, values = [], []
    for title in ("Honest Presence", "Room to Decide", "Gentle Timing", "Family Harmony"):
        card, _ = submit(engine, q, title)
        reports.append(pipeline.after_card(engine, model(engine, 6), embeddings, card_id=card))
        values.append(_value_of(engine, card))
    assert [r.new_pairs for r in reports] == [0, 1, 1, 0]
    assert reports[3].capped == ["pipeline_max_pairs"] and reports[3].stopped == ""
    assert "cap of 2 pairs (pipeline_max_pairs) is reached" in _events(engine)[-1].reason
    v1, v2, v3, _ = values
    # One pair per new value: the second value with the first; the third with the partner of fewest
    # pairs (both have one: the newer); the fourth gets none, the deliberation's two pairs are spent.
    pairs = {
        (min(h.from_value_id, h.to_value_id), max(h.from_value_id, h.to_value_id)) for h in _stories(engine)
    }
    assert pairs == {(v1, v2), (v2, v3)} and len(_stories(engine)) == 4
    assert pipeline.status(engine, deliberation_id=d).pairs_used == 2


def test_a_stop_mid_job_and_a_rerun_that_completes_without_duplicates(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=20)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")
    # mine, dedup, write A->B, judge it: then the endpoint goes away at the second story.
    broken = model(engine, 6, fail_at=5, error=ModelUnavailable("The model endpoint is unreachable."))
    with pytest.raises(ModelUnavailable):
        pipeline.after_card(engine, broken, embeddings, card_id=second)
    stopped = _events(engine)[-1]
    assert stopped.details["calls"] == 5 and stopped.reason.startswith(
        "stopped by an error: The model endpoint"
    )
    assert [(h.judge_scores is not None) for h in _stories(engine)] == [True]

    # A card submitted meanwhile, while the model was down, is left pending; the catch-up does the rest.
    third, _ = submit(engine, q, "Gentle Timing")
    with pytest.raises(ModelUnavailable):
        pipeline.after_card(
            engine, model(engine, 1, fail_at=1, error=ModelUnavailable("down")), embeddings, card_id=third
        )
    assert _value_of(engine, third) is None
    done = pipeline.catch_up(engine, model(engine, 20), embeddings, deliberation_id=d)
    assert done.stopped == "" and done.cards_mined == 1 and done.cards_linked == 1
    rows = _stories(engine)
    keys = [(h.from_value_id, h.to_value_id, h.context_id, h.run_id) for h in rows]
    assert len(keys) == len(set(keys)) == 6  # (A, B), (A, C), (B, C) both ways: no story twice
    assert all(h.judge_scores is not None for h in rows)
    assert pipeline.calls_used(engine, deliberation_id=d) <= 20


def test_the_cap_stops_the_job_between_steps(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=3)
    cards = [submit(engine, q, title)[0] for title in ("Honest Presence", "Room to Decide", "Gentle Timing")]
    report = pipeline.catch_up(engine, model(engine, 10), TitleEmbeddings(), deliberation_id=d)
    # Mining three cards takes the cap: a dedup batch (up to two calls) is not started.
    assert report.calls == 3 and report.capped == ["pipeline_max_calls"] and report.cards_mined == 3
    assert [_value_of(engine, c) for c in cards] == [None, None, None]


def test_a_cap_reached_mid_dedup_keeps_the_batches_done(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=2)
    cards = [submit(engine, q, f"Value Number {i}")[0] for i in range(DEDUP_BATCH + 3)]
    with session_scope(engine) as s:  # mined already: only dedup calls count here
        for card in s.exec(select(ValuesCard)).all():
            card.quality_flags = [MINED_FLAG]
            s.add(card)
    report = pipeline.catch_up(engine, model(engine, 5), TitleEmbeddings(), deliberation_id=d)
    # The first batch (one call) is committed; the next could take two and only one is left.
    assert report.calls == 1 and report.capped == ["pipeline_max_calls"]
    linked = [_value_of(engine, c) is not None for c in cards]
    assert linked.count(True) == DEDUP_BATCH and report.cards_linked == DEDUP_BATCH


def test_two_submits_at_once_are_serialised(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    cards = [submit(engine, q, title)[0] for title in ("Room to Decide", "Gentle Timing")]
    shared = ScriptedChatModel([answer] * 30)
    errors: list[BaseException] = []

    def run(card: int) -> None:
        try:
            pipeline.after_card(engine, shared, embeddings, card_id=card)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    values = {_value_of(engine, c) for c in [first, *cards]}
    assert None not in values and len(values) == 3
    keys = [(h.from_value_id, h.to_value_id, h.context_id) for h in _stories(engine)]
    assert len(keys) == len(set(keys)) == 6  # three pairs, each story once
    with session_scope(engine) as s:
        assert repo_values.count_pending_cards(s, deliberation_id=d) == 0


def test_working_while_a_job_is_queued_or_running() -> None:
    release = threading.Event()
    started = threading.Event()
    jobs = BackgroundJobs(workers=1)
    try:

        def slow() -> None:
            with pipeline.running(424242):
                started.set()
                release.wait(10)

        assert not pipeline.working(424242)
        jobs.submit("slow", slow)
        assert started.wait(10) and pipeline.working(424242)
        release.set()
        assert jobs.wait(timeout_s=10)
        assert not pipeline.working(424242)
    finally:
        jobs.shutdown()
