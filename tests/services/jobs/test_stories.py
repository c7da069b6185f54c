"""Upgrade stories through the database: pairs, both directions, the judge, idempotence and resuming."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from interviews.prompting import load_prompt
from providers.accounting import RecordingCallback
from providers.errors import ModelUnavailable
from providers.fakes import ScriptedChatModel
from services.jobs import stories
from services.runtime.accounting import llm_call_sink
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import EdgeHypothesis, Judgement, LLMCall
from tests.services.story_world import PASS, World, seed, story_model, story_turn


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return seed(sqlite_engine)


def _rows(engine: Engine, run_id: str | None = None) -> list[EdgeHypothesis]:
    with session_scope(engine) as s:
        statement = select(EdgeHypothesis).order_by(EdgeHypothesis.id)
        if run_id is not None:
            statement = statement.where(EdgeHypothesis.run_id == run_id)
        return list(s.exec(statement).all())


def test_pairs_in_shared_contexts_get_both_stories_judged(sqlite_engine: Engine, world: World) -> None:
    w = world
    model = story_model(16, callbacks=[RecordingCallback(llm_call_sink(sqlite_engine))])
    run = stories.generate_stories(sqlite_engine, model, deliberation_id=w.deliberation_id, run_id="r1")
    assert (run.pairs, run.written, run.judged, run.skipped, run.failed) == (4, 8, 8, 0, 0)
    # Stories moving away from Family Harmony (v3) fail the judge: two of them.
    assert (run.shown, run.hidden) == (6, 2)

    rows = _rows(sqlite_engine)
    triples = {(h.from_value_id, h.to_value_id, h.context_id) for h in rows}
    assert triples == {
        (w.v1, w.v2, w.c1), (w.v2, w.v1, w.c1),
        (w.v1, w.v2, w.c2), (w.v2, w.v1, w.c2),
        (w.v1, w.v3, w.c2), (w.v3, w.v1, w.c2),
        (w.v2, w.v3, w.c2), (w.v3, w.v2, w.c2),
    }  # fmt: skip
    # The hidden card that put v3 on q1 does not make v3 a value of c1.
    assert all(h.context_id == w.c2 for h in rows if w.v3 in (h.from_value_id, h.to_value_id))
    for h in rows:
        assert h.run_id == "r1" and h.prompt_hash == load_prompt("upgrade_story").ref
        assert h.model_id == "scripted" and h.deliberation_id == w.deliberation_id
        assert h.judge_scores is not None
        assert h.judge_scores["judge_prompt"] == load_prompt("story_judge").ref
        assert h.shown is h.judge_scores["passed"] is (h.from_value_id != w.v3)
    weak = next(h for h in rows if h.from_value_id == w.v3)
    assert weak.story.startswith("From Family Harmony") and weak.shown is False  # stored, not shown

    with session_scope(sqlite_engine) as s:
        purposes = [c.purpose for c in s.exec(select(LLMCall)).all()]
        deliberations = {c.deliberation_id for c in s.exec(select(LLMCall)).all()}
    assert purposes.count("stories") == 8 and purposes.count("story_judge") == 8
    assert deliberations == {w.deliberation_id}


def test_a_second_run_with_the_same_id_adds_nothing(sqlite_engine: Engine, world: World) -> None:
    first = stories.generate_stories(
        sqlite_engine, story_model(16), deliberation_id=world.deliberation_id, run_id="r1"
    )
    idle = ScriptedChatModel([])  # any model call would fail the test (ScriptExhausted)
    again = stories.generate_stories(sqlite_engine, idle, deliberation_id=world.deliberation_id, run_id="r1")
    assert (again.written, again.judged, again.skipped) == (0, 0, 8)
    assert (again.shown, again.hidden) == (first.shown, first.hidden)
    assert idle.calls == [] and len(_rows(sqlite_engine)) == 8

    other = stories.generate_stories(sqlite_engine, story_model(16), deliberation_id=world.deliberation_id)
    assert other.run_id.startswith("stories-") and other.written == 8  # a new run writes its own
    assert len(_rows(sqlite_engine)) == 16


def test_a_model_failure_midway_resumes_where_it_stopped(sqlite_engine: Engine, world: World) -> None:
    turn = story_turn()
    # Calls: write, judge, write, judge, write, <endpoint down while judging the third story>.
    model = ScriptedChatModel([turn] * 5 + [ModelUnavailable("The model endpoint could not be reached.")])
    with pytest.raises(ModelUnavailable):
        stories.generate_stories(sqlite_engine, model, deliberation_id=world.deliberation_id, run_id="r1")
    rows = _rows(sqlite_engine)
    assert len(rows) == 3 and [h.judge_scores is not None for h in rows] == [True, True, False]
    assert rows[2].shown is False  # written but not judged: not shown

    resumed_model = story_model(16)
    run = stories.generate_stories(
        sqlite_engine, resumed_model, deliberation_id=world.deliberation_id, run_id="r1"
    )
    assert (run.skipped, run.written, run.judged) == (2, 5, 6)  # the third story is judged, not rewritten
    assert len(resumed_model.calls) == 11
    rows = _rows(sqlite_engine)
    assert len(rows) == 8 and all(h.judge_scores is not None for h in rows)


def test_broken_output_is_counted_and_the_job_goes_on(sqlite_engine: Engine, world: World) -> None:
    turn = story_turn()
    bad_judge = {"clarity": 9, "gain": 4, "fit": 4, "respect": 4}  # out of range
    model = ScriptedChatModel([turn, bad_judge, {"story": ""}] + [turn] * 13)
    run = stories.generate_stories(sqlite_engine, model, deliberation_id=world.deliberation_id, run_id="r1")
    assert run.failed == 2 and len(run.errors) == 2
    assert "Honest Presence → Gentle Timing" in run.errors[0]
    assert (run.written, run.judged) == (7, 6)
    rows = _rows(sqlite_engine)
    assert len(rows) == 7 and sum(h.judge_scores is None for h in rows) == 1

    rerun = stories.generate_stories(
        sqlite_engine, story_model(3), deliberation_id=world.deliberation_id, run_id="r1"
    )
    assert (rerun.written, rerun.judged, rerun.failed, rerun.skipped) == (1, 2, 0, 6)


def test_given_pairs_and_a_cap(sqlite_engine: Engine, world: World) -> None:
    w = world
    run = stories.generate_stories(
        sqlite_engine,
        story_model(4),
        deliberation_id=w.deliberation_id,
        run_id="given",
        pairs=[(w.v3, w.v1, w.c1), (w.v1, w.v3, w.c1)],  # the same pair twice: written once
    )
    assert run.pairs == 1 and {(h.from_value_id, h.to_value_id) for h in _rows(sqlite_engine)} == {
        (w.v3, w.v1),
        (w.v1, w.v3),
    }
    capped = stories.generate_stories(
        sqlite_engine, story_model(8), deliberation_id=w.deliberation_id, run_id="cap", max_pairs=2
    )
    # Round robin over contexts: one pair in c1, one in c2.
    assert capped.pairs == 2 and {h.context_id for h in _rows(sqlite_engine, "cap")} == {w.c1, w.c2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_id": "bad id!"}, "A run id is"),
        ({"run_id": "x" * 65}, "A run id is"),
        ({"max_pairs": 0}, "max_pairs must be"),
        ({"pairs": [(1, 1, 1)]}, "two different values"),
        ({"pairs": [(1, 999, 1)]}, "no canonical value 999"),
        ({"pairs": [(1, 2, 999)]}, "no context 999"),
    ],
)
def test_bad_input_is_refused_before_any_model_call(
    sqlite_engine: Engine, world: World, kwargs: dict, message: str
) -> None:
    model = ScriptedChatModel([])
    with pytest.raises(InvalidInput, match=message):
        stories.generate_stories(sqlite_engine, model, deliberation_id=world.deliberation_id, **kwargs)
    assert model.calls == []


def test_unknown_deliberation(sqlite_engine: Engine) -> None:
    with pytest.raises(NotFound, match="no deliberation with id 42"):
        stories.generate_stories(sqlite_engine, ScriptedChatModel([]), deliberation_id=42)


def test_shown_stories_for_the_judge_page(sqlite_engine: Engine, world: World) -> None:
    w = world
    stories.generate_stories(sqlite_engine, story_model(16), deliberation_id=w.deliberation_id, run_id="r1")
    shown = stories.list_shown_stories(sqlite_engine, deliberation_id=w.deliberation_id)
    assert len(shown) == 6 and all(s.shown for s in shown)
    first = shown[0]
    assert first.context in ("When a parent is seriously ill", "When family members disagree")
    assert first.from_value.title and first.to_value.policies and first.story.startswith("From ")

    # q2 is linked only to c2.
    on_q2 = stories.list_shown_stories(sqlite_engine, deliberation_id=w.deliberation_id, question_id=w.q2)
    assert {s.context_id for s in on_q2} == {w.c2} and len(on_q2) == 4

    # A second run's story of the same triple replaces the first; a judged triple disappears.
    stories.generate_stories(
        sqlite_engine,
        story_model(4),
        deliberation_id=w.deliberation_id,
        run_id="r2",
        pairs=[(w.v1, w.v2, w.c1)],
    )
    with session_scope(sqlite_engine) as s:
        s.add(
            Judgement(
                deliberation_id=w.deliberation_id,
                participant_id=w.participant_id,
                from_value_id=w.v2,
                to_value_id=w.v1,
                context_id=w.c1,
                answer="upgrade",
            )
        )
    latest = stories.list_shown_stories(
        sqlite_engine, deliberation_id=w.deliberation_id, participant_id=w.participant_id
    )
    keys = [(s.from_value.id, s.to_value.id, s.context_id) for s in latest]
    assert len(keys) == len(set(keys)) == 5
    assert (w.v2, w.v1, w.c1) not in keys
    assert (
        next(s for s in latest if (s.from_value.id, s.to_value.id, s.context_id) == (w.v1, w.v2, w.c1)).run_id
        == "r2"
    )

    everything = stories.list_stories(sqlite_engine, deliberation_id=w.deliberation_id, run_id="r1")
    assert len(everything) == 8 and sum(not s.shown for s in everything) == 2


def test_generate_and_rerun_on_each_backend(engine: Engine) -> None:
    """SQLite and PostgreSQL: the savepoint inserts, the JSON scores and the pair query behave alike."""
    w = seed(engine)
    run = stories.generate_stories(engine, story_model(16), deliberation_id=w.deliberation_id, run_id="r1")
    assert (run.written, run.judged, run.shown) == (8, 8, 6)
    again = stories.generate_stories(
        engine, ScriptedChatModel([]), deliberation_id=w.deliberation_id, run_id="r1"
    )
    assert again.skipped == 8
    rows = _rows(engine)
    assert len(rows) == 8 and all(h.judge_scores is not None for h in rows)
    assert {h.judge_scores["clarity"] for h in rows if h.shown and h.judge_scores} == {PASS["clarity"]}
    assert stories.list_shown_stories(engine, deliberation_id=w.deliberation_id, question_id=w.q1)
