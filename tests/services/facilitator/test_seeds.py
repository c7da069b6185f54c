"""Seed values through the database (SQLite and PostgreSQL): typed and generated, checked by the card
rules, picked up by the vote draw and the story pairs, marked in the export, removable while unused, and
required before a deliberation opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from interviews.prompting import load_prompt
from providers.accounting import RecordingCallback
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations, seed_rows, seeds, values
from services.participant import voting
from services.research import graphs
from services.runtime.accounting import llm_call_sink
from storage import repo_values
from storage.db import session_scope
from storage.schemas import JudgementCreate
from storage.tables import CanonicalValue, EdgeHypothesis, Impression, Judgement, LLMCall, ValuesCard, Vote
from tests.services.participant_world import add_person
from tests.worlds import GOOD_CARD, HONEST_CARD

ROOM = {
    "title": "Room to Decide",
    "description": "Leaving the decision with the person whose life it shapes.",
    "policies": ["CHOICES the person can make for themselves", "MOMENTS when advice would take over"],
}


def _setup(engine: Engine, **config: object) -> tuple[int, int, int]:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q one?", "Q two?"], config=config)
    return d.id, d.questions[0].id, d.questions[1].id


def test_a_typed_seed_is_a_value_of_its_question_with_its_own_card(engine: Engine) -> None:
    d, q1, q2 = _setup(engine)
    seed = seeds.add_seed(
        engine,
        question_id=q1,
        contexts=["When the user faces a frightening choice"],
        actor="ann",
        **HONEST_CARD,
    )
    assert (seed.deliberation_id, seed.question_id, seed.title, seed.contexts_mined) == (
        d,
        q1,
        "Honest Presence",
        True,
    )
    with session_scope(engine) as s:
        value = s.get(CanonicalValue, seed.id)
        card = s.get(ValuesCard, seed.card_id)
        assert value is not None and value.seed is True and value.policies == HONEST_CARD["policies"]
        assert card is not None and (card.participant_id, card.interview_id, card.question_id) == (
            None,
            None,
            q1,
        )
        assert (card.status, card.canonical_value_id) == ("submitted", seed.id)
        assert repo_values.question_value_ids(s, deliberation_id=d, question_id=q1) == [seed.id]
        assert repo_values.question_value_ids(s, deliberation_id=d, question_id=q2) == []
        by_context = repo_values.values_by_context(s, deliberation_id=d)
        (event,) = repo_values.list_moderation_events(s, deliberation_id=d, action="add_seed")
    assert list(by_context.values()) == [[seed.id]]  # its context is linked to its question
    assert (event.actor, event.target_id, event.details["made_by"]) == ("ann", seed.id, "typed")
    assert event.details["contexts_added"] == ["When the user faces a frightening choice"]

    # A participant on that question is shown the seed, marked as one.
    with session_scope(engine) as s:
        token = add_person(s, d, stage="vote").token
    draw = voting.draw_values(engine, token=token, question_id=q1)
    assert [(v.id, v.seed) for v in draw.values] == [(seed.id, True)]
    assert [s.id for s in seeds.list_seeds(engine, deliberation_id=d)] == [seed.id]
    assert seeds.list_seeds(engine, deliberation_id=d, question_id=q2) == []
    assert values.get_value(engine, canonical_id=seed.id).seed is True


def test_a_seed_that_breaks_the_card_rules_is_refused_with_every_problem(engine: Engine) -> None:
    d, q1, _ = _setup(engine)
    with pytest.raises(InvalidInput) as caught:
        seeds.add_seed(
            engine,
            question_id=q1,
            title="Depth",
            description="A deep way of choosing.",
            policies=["be kind", "MOMENTS of calm"],
        )
    message = str(caught.value)
    assert message.startswith("This seed breaks the card rules: ")
    for problem in (
        "title: use 2-5 words",
        "description: say what to attend to instead of deep",
        "policy 1:",
    ):
        assert problem in message
    with pytest.raises(InvalidInput, match="The title contains a NUL character"):
        seeds.add_seed(engine, question_id=q1, **{**HONEST_CARD, "title": "Honest\x00 Presence"})
    with pytest.raises(InvalidInput, match='starts with "When"'):
        seeds.add_seed(engine, question_id=q1, contexts=["The user is afraid"], **HONEST_CARD)
    seeds.add_seed(engine, question_id=q1, **HONEST_CARD)
    with pytest.raises(InvalidInput, match="already has a value titled 'honest presence'"):
        seeds.add_seed(engine, question_id=q1, **{**GOOD_CARD, "title": "honest presence"})
    other, *_ = _setup(engine)
    with pytest.raises(InvalidInput, match=f"Question {q1} is not part of deliberation {other}"):
        seeds.add_seed(engine, question_id=q1, deliberation_id=other, **GOOD_CARD)
    assert len(seeds.list_seeds(engine, deliberation_id=d)) == 1  # nothing refused was stored


def _seed_turn(messages: list[BaseMessage]) -> dict[str, object]:
    prompt = str(messages[-1].content)
    assert "<question>\nQ one?\n</question>" in prompt and "Honest Presence" in prompt  # the existing value
    bad = {**GOOD_CARD, "title": "Profound Care"}
    return {"cards": [ROOM, bad, HONEST_CARD, GOOD_CARD, {**ROOM, "title": "Room To Decide"}]}


def test_generated_seeds_keep_only_cards_that_pass_and_are_new(engine: Engine) -> None:
    d, q1, _ = _setup(engine)
    typed = seeds.add_seed(engine, question_id=q1, contexts=["When a choice cannot be undone"], **HONEST_CARD)
    contexts_turn = {"contexts": ["When the person feels rushed to decide"]}
    model = ScriptedChatModel(
        [_seed_turn, contexts_turn, contexts_turn], callbacks=[RecordingCallback(llm_call_sink(engine))]
    )
    g = seeds.generate_seeds(engine, model, question_id=q1, count=2, actor="cli")
    assert [s.title for s in g.added] == ["Room to Decide", "Listening First"]
    assert all(s.contexts_mined for s in g.added) and g.contexts_added == 1 and g.mining_errors == ()
    assert [(r.title, r.reason.split(":")[0]) for r in g.rejected] == [
        ("Profound Care", "title"),
        ("Honest Presence", "the same title as another value of the question"),
        ("Room To Decide", "the same title as another value of the question"),
    ]
    assert g.prompt_ref == load_prompt("seed_values").ref and g.model == "scripted"
    with session_scope(engine) as s:
        purposes = sorted(c.purpose for c in s.exec(select(LLMCall)).all())
        events = repo_values.list_moderation_events(s, deliberation_id=d, action="add_seed")
    assert purposes == ["contexts", "contexts", "seeds"]
    made = {e.target_id: e.details for e in events}
    assert made[typed.id]["made_by"] == "typed"
    assert made[g.added[0].id]["prompt"] == g.prompt_ref and made[g.added[0].id]["model"] == "scripted"
    with pytest.raises(InvalidInput, match="1-12 seed values"):
        seeds.generate_seeds(engine, model, question_id=q1, count=13)


def test_an_unused_seed_is_removed_with_its_stories_a_used_one_stays(engine: Engine) -> None:
    d, q1, _ = _setup(engine)
    context = ["When the user faces a frightening choice"]
    a = seeds.add_seed(engine, question_id=q1, contexts=context, **HONEST_CARD)
    b = seeds.add_seed(engine, question_id=q1, contexts=context, **GOOD_CARD)
    with session_scope(engine) as s:
        (context_id,) = repo_values.values_by_context(s, deliberation_id=d)
        s.add(
            EdgeHypothesis(
                deliberation_id=d, from_value_id=a.id, to_value_id=b.id, context_id=context_id, run_id="r"
            )
        )
        person = add_person(s, d, stage="vote")
        s.add(Impression(participant_id=person.id, canonical_value_id=b.id, question_id=q1, draw_id="x"))
        s.add(Vote(participant_id=person.id, canonical_value_id=b.id, question_id=q1, draw_id="x"))
    removed = seed_rows.remove_seed(engine, value_id=a.id, reason="a typo")
    assert (removed.value_id, removed.title, removed.stories_removed) == (a.id, "Honest Presence", 1)
    with pytest.raises(InvalidInput, match=rf"Seed value {b.id} is in use \(1 impressions, 1 votes\)"):
        seed_rows.remove_seed(engine, value_id=b.id)
    with pytest.raises(InvalidInput, match=f"There is no value {a.id}"):
        seed_rows.remove_seed(engine, value_id=a.id)
    with session_scope(engine) as s:
        plain = CanonicalValue(deliberation_id=d, title="Not a seed")
        s.add(plain)
        s.flush()
        plain_id = plain.id
        (event,) = repo_values.list_moderation_events(s, deliberation_id=d, action="remove_seed")
        assert s.get(ValuesCard, a.card_id) is None
    assert event.reason == "a typo" and event.details["value"]["title"] == "Honest Presence"
    with pytest.raises(InvalidInput, match=f"Value {plain_id} is not a seed value"):
        seed_rows.remove_seed(engine, value_id=plain_id)
    assert [s.id for s in seeds.list_seeds(engine, deliberation_id=d)] == [b.id]


def test_a_deliberation_that_requires_seeds_opens_only_with_them(engine: Engine) -> None:
    d, q1, q2 = _setup(engine, seeds_required=1)
    with pytest.raises(
        InvalidInput, match=rf"needs 1 seed value on each question.*question {q1} has 0, question {q2} has 0"
    ):
        deliberations.set_status(engine, deliberation_id=d, status="open")
    seeds.add_seed(engine, question_id=q1, **HONEST_CARD)
    with pytest.raises(InvalidInput, match=rf"\(question {q2} has 0\)"):
        deliberations.set_status(engine, deliberation_id=d, status="open")
    seeds.add_seed(engine, question_id=q2, **HONEST_CARD)
    assert deliberations.set_status(engine, deliberation_id=d, status="open").status == "open"
    assert deliberations.set_status(engine, deliberation_id=d, status="closed").status == "closed"
    free, *_ = _setup(engine)  # by default no seed is needed
    assert deliberations.set_status(engine, deliberation_id=free, status="open").status == "open"


def test_the_export_marks_seed_values(engine: Engine, tmp_path: Path) -> None:
    d, q1, _ = _setup(engine)
    context = ["When the user faces a frightening choice"]
    a = seeds.add_seed(engine, question_id=q1, contexts=context, **HONEST_CARD)
    with session_scope(engine) as s:
        (context_id,) = repo_values.values_by_context(s, deliberation_id=d)
        other = CanonicalValue(deliberation_id=d, title="Listening First", dedup_run="r")
        s.add(other)
        s.flush()
        judgements = []
        for _ in range(3):
            person = add_person(s, d, stage="done")
            judgements.append(
                JudgementCreate(
                    deliberation_id=d,
                    participant_id=person.id,
                    from_value_id=other.id,
                    to_value_id=a.id,
                    context_id=context_id,
                    answer="upgrade",
                )
            )
        s.add_all(Judgement.model_validate(j) for j in judgements)
        other_id = other.id
    summary = graphs.build_snapshot(engine, deliberation_id=d)
    assert summary.edges == 1
    with session_scope(engine) as s:
        from storage import repo_snapshots

        document = repo_snapshots.latest_graph_snapshot(s, deliberation_id=d).result  # type: ignore[union-attr]
    marks = {v["id"]: v.get("seed") for v in document["values"]}
    assert marks == {a.id: True, other_id: None}
    out = graphs.export_graph(engine, deliberation_id=d, fmt="graphml", out=tmp_path / "graph.graphml")
    assert 'attr.name="seed"' in out.read_text()  # the seed marker travels to GraphML as a node attribute
