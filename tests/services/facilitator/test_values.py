"""Canonical values under review through the database: merge and split (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from services.facilitator import moderation, values
from services.research import graphs
from storage.db import session_scope
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Impression,
    Judgement,
    Participant,
    ValuesCard,
    Vote,
)
from tests.services.dedup_world import events, new_deliberation


def seed_graph(engine: Engine) -> dict[str, int]:
    """Values A, B, C with cards, votes, impressions, stories and judgements that collide when B → A."""
    d, (q,) = new_deliberation(engine)
    ids: dict[str, int] = {"d": d, "q": q}
    with session_scope(engine) as s:
        for name in "ABC":
            value = CanonicalValue(deliberation_id=d, title=f"Value {name}", policies=[f"MOMENTS of {name}"])
            s.add(value)
            s.flush()
            ids[name] = value.id
        for name in ("p1", "p2", "p3"):
            person = Participant(deliberation_id=d)
            s.add(person)
            s.flush()
            ids[name] = person.id
        for name, value in (("a1", "A"), ("a2", "A"), ("b1", "B"), ("c1", "C")):
            card = ValuesCard(
                participant_id=ids["p1"],
                question_id=q,
                title=f"Card {name}",
                description=f"Card {name}.",
                policies=[f"MOMENTS of {name}"],
                status="submitted",
                canonical_value_id=ids[value],
            )
            s.add(card)
            s.flush()
            ids[name] = card.id
        context = Context(deliberation_id=d, text="When someone is afraid")
        s.add(context)
        s.flush()
        ids["ctx"] = context.id
        s.add_all(
            [
                Vote(participant_id=ids["p1"], canonical_value_id=ids["A"], question_id=q, draw_id="d1"),
                Vote(participant_id=ids["p1"], canonical_value_id=ids["B"], question_id=q, draw_id="d1"),
                Vote(participant_id=ids["p2"], canonical_value_id=ids["B"], question_id=q, draw_id="d2"),
                Impression(
                    participant_id=ids["p1"], canonical_value_id=ids["A"], question_id=q, draw_id="d1"
                ),
                Impression(
                    participant_id=ids["p1"], canonical_value_id=ids["B"], question_id=q, draw_id="d1"
                ),
                Impression(
                    participant_id=ids["p2"], canonical_value_id=ids["B"], question_id=q, draw_id="d2"
                ),
            ]
        )
        for name, a, b in (("H1", "A", "C"), ("H2", "B", "C"), ("H3", "A", "B"), ("H4", "C", "B")):
            hyp = EdgeHypothesis(
                deliberation_id=d,
                from_value_id=ids[a],
                to_value_id=ids[b],
                context_id=ids["ctx"],
                story=f"Story {name}",
                run_id="r1",
            )
            s.add(hyp)
            s.flush()
            ids[name] = hyp.id
        for name, person, hyp, answer in (
            ("j1", "p1", "H1", "upgrade"),
            ("j2", "p1", "H2", "no_upgrade"),  # p1 judged both stories that become A→C: one is dropped
            ("j3", "p2", "H2", "upgrade"),  # moves onto H1
            ("j4", "p3", "H3", "upgrade"),  # A→B becomes A→A: kept, detached
            ("j5", "p3", "H4", "upgrade"),  # C→B becomes C→A
        ):
            hypothesis = s.get(EdgeHypothesis, ids[hyp])
            judgement = Judgement(
                deliberation_id=d,
                participant_id=ids[person],
                hypothesis_id=hypothesis.id,
                from_value_id=hypothesis.from_value_id,
                to_value_id=hypothesis.to_value_id,
                context_id=ids["ctx"],
                answer=answer,
            )
            s.add(judgement)
            s.flush()
            ids[name] = judgement.id
    return ids


def test_merge_moves_everything_and_keeps_one_row_per_collision(engine: Engine) -> None:
    ids = seed_graph(engine)
    A, B, C = ids["A"], ids["B"], ids["C"]
    merged = values.merge(
        engine, deliberation_id=ids["d"], keep_id=A, merge_ids=[B], reason="Same value twice"
    )
    assert merged.merged_ids == (B,) and not merged.already_done and merged.event_id is not None
    assert merged.counts == {
        "cards_moved": 1,
        "votes_moved": 1,
        "impressions_moved": 1,
        "hypotheses_moved": 1,
        "judgements_moved": 2,
        "judgements_detached": 1,
        "votes_dropped": 1,
        "impressions_dropped": 1,
        "hypotheses_dropped": 2,
        "judgements_dropped": 1,
    }
    with session_scope(engine) as s:
        assert s.get(CanonicalValue, B) is None
        assert s.get(ValuesCard, ids["b1"]).canonical_value_id == A
        votes = sorted((v.participant_id, v.canonical_value_id) for v in s.exec(select(Vote)).all())
        assert votes == [(ids["p1"], A), (ids["p2"], A)]
        shown = sorted((i.participant_id, i.canonical_value_id) for i in s.exec(select(Impression)).all())
        assert shown == [(ids["p1"], A), (ids["p2"], A)]
        stories = {h.id: (h.from_value_id, h.to_value_id) for h in s.exec(select(EdgeHypothesis)).all()}
        assert stories == {ids["H1"]: (A, C), ids["H4"]: (C, A)}
        judged = {
            j.id: (j.hypothesis_id, j.from_value_id, j.to_value_id) for j in s.exec(select(Judgement)).all()
        }
        assert judged == {
            ids["j1"]: (ids["H1"], A, C),
            ids["j3"]: (ids["H1"], A, C),
            ids["j4"]: (None, A, A),
            ids["j5"]: (ids["H4"], C, A),
        }
    (event,) = events(engine, "merge_values")
    assert (event.target_id, event.reason, event.details["merged"]) == (A, "Same value twice", [B])
    removed = event.details["removed"]
    assert [v["title"] for v in removed["values"]] == ["Value B"]
    assert [j["id"] for j in removed["judgements"]] == [ids["j2"]]
    assert sorted(h["story"] for h in removed["hypotheses"]) == ["Story H2", "Story H3"]

    # The graph still builds; the judgement between two values that are now one is skipped as a self-loop.
    built = graphs.build_snapshot(engine, deliberation_id=ids["d"])
    assert built.skipped.get("self_loop") == 1


def test_merging_twice_is_a_no_op_and_bad_merges_are_refused(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A, B, C = ids["d"], ids["A"], ids["B"], ids["C"]
    values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="dup")
    again = values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="dup")
    assert again.already_done and again.already_merged == (B,) and again.event_id is None
    assert len(events(engine, "merge_values")) == 1

    other = seed_graph(engine)
    for kwargs, message in (
        ({"keep_id": A, "merge_ids": [A]}, "cannot be merged into itself"),
        ({"keep_id": A, "merge_ids": []}, "at least one value"),
        ({"keep_id": A, "merge_ids": [9999]}, "no value 9999"),
        ({"keep_id": C, "merge_ids": [B]}, f"no value {B}"),  # B was merged into A, not into C
        ({"keep_id": A, "merge_ids": [other["A"]]}, f"no value {other['A']} in deliberation {d}"),
        ({"keep_id": 9999, "merge_ids": [C]}, "no value 9999"),
    ):
        with pytest.raises(InvalidInput, match=message):
            values.merge(engine, deliberation_id=d, reason="x", **kwargs)
    with pytest.raises(InvalidInput, match="Give a reason"):
        values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[C], reason="  ")
    for reason, message in (("dup\x00", "NUL"), ("dup\ud800", "lone surrogate"), ("x" * 2001, "too long")):
        with pytest.raises(InvalidInput, match=message):
            values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[C], reason=reason)
    with pytest.raises(InvalidInput, match="lone surrogate"):
        values.split(engine, canonical_id=A, card_ids=[1], reason="x", title="T\ud800")
    assert len(events(engine, "merge_values")) == 1


def test_split_moves_chosen_cards_to_a_new_value_once(engine: Engine) -> None:
    ids = seed_graph(engine)
    A = ids["A"]
    with session_scope(engine) as s:
        s.get(ValuesCard, ids["c1"]).canonical_value_id = A  # A now has a1, a2, c1
    first = values.split(
        engine, canonical_id=A, card_ids=[ids["a2"], ids["c1"]], title="  Care  Work ", reason="different"
    )
    assert not first.already_done
    new = values.get_value(engine, canonical_id=first.new_canonical_id)
    assert (new.title, [c.id for c in new.cards]) == ("Care Work", [ids["a2"], ids["c1"]])
    assert (new.description, new.policies) == ("Card a2.", ["MOMENTS of a2"])
    kept = values.get_value(engine, canonical_id=A)
    assert [c.id for c in kept.cards] == [ids["a1"]] and kept.votes == 1  # votes stay with the original

    again = values.split(engine, canonical_id=A, card_ids=[ids["c1"], ids["a2"]], reason="different")
    assert again.already_done and again.new_canonical_id == first.new_canonical_id
    (event,) = events(engine, "split_value")
    assert event.details == {
        "new_value": first.new_canonical_id,
        "cards": [ids["a2"], ids["c1"]],
        "title": "Care Work",
    }

    with pytest.raises(InvalidInput, match="would leave it empty"):
        values.split(engine, canonical_id=A, card_ids=[ids["a1"]], reason="x")
    with pytest.raises(InvalidInput, match=f"{ids['b1']} are not members of value {A}"):
        values.split(engine, canonical_id=A, card_ids=[ids["b1"]], reason="x")
    with pytest.raises(InvalidInput, match="no value 9999"):
        values.split(engine, canonical_id=9999, card_ids=[ids["a1"]], reason="x")
    with pytest.raises(InvalidInput, match="at least one card"):
        values.split(engine, canonical_id=A, card_ids=[], reason="x")

    log = moderation.log(engine, deliberation_id=ids["d"])
    assert [e.action for e in log if e.target_type == "canonical_value"] == ["split_value"]
