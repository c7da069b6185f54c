"""Job runs through the database (SQLite and PostgreSQL): progress and log persisted, a second start of the
same job (the kind on the deliberation, whatever its arguments) returns the first, a run whose every batch
failed ends failed, a run left by a stopped process reads as failed, and another process (another engine)
sees a run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from providers.accounting import RecordingCallback
from providers.fakes import ScriptedChatModel
from services.jobs import runs
from services.runtime.accounting import llm_call_sink
from services.runtime.background import BackgroundJobs
from storage import db
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import JobRun, LLMCall, ModerationEvent, utcnow
from tests.services.dedup_world import (
    TitleEmbeddings,
    add_cards,
    canonical_of,
    drop_all_but_one,
    new_deliberation,
    title_judge,
)


def models(chat: ScriptedChatModel) -> runs.Models:
    return runs.Models(lambda: chat, TitleEmbeddings)


class HeldJobs(BackgroundJobs):
    """A pool that only records what it was given (the run stays queued until a test runs it)."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.given: list[tuple[Any, ...]] = []

    def submit(self, what: str, fn: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.given.append((what, fn, args, kwargs))
        return None


def test_a_dedup_run_stores_its_progress_log_result_and_model_calls(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, ["Value A", "Value B", "Value C"])
    chat = ScriptedChatModel([title_judge] * 2, callbacks=[RecordingCallback(llm_call_sink(engine))])
    seen: list[str] = []
    run = runs.run_here(
        engine,
        models(chat),
        kind="dedup",
        deliberation_id=d,
        args={"batch_size": 2},
        actor="ada",
        on_line=seen.append,
    )
    assert run.status == "succeeded" and run.error is None and run.actor == "ada"
    assert (run.done, run.total) == (2, 2)
    assert run.args == {"question_id": None, "batch_size": 2}
    assert run.result["cards_processed"] == 3 and run.result["batches"] == 2
    assert run.started_at is not None and run.finished_at is not None
    assert [line for line in run.log if line.startswith("batch")] == [
        "batch 1/2: 2 cards, 2 new values, 0 joined",
        "batch 2/2: 1 cards, 1 new values, 0 joined",
    ]
    assert seen == run.log[1:]  # the header line is logged, not echoed
    assert None not in canonical_of(engine, cards)
    with session_scope(engine) as s:
        recorded = s.exec(select(LLMCall.job_run).where(LLMCall.purpose == "dedup")).all()
    assert recorded == [f"job-{run.id}"] * 2
    with session_scope(engine) as s:  # the batches' moderation events name who started the job
        actors = s.exec(select(ModerationEvent.actor).where(ModerationEvent.action == "dedup_batch")).all()
    assert actors == ["ada", "ada"]
    assert runs.get_run(engine, run_id=run.id) == run


def test_a_run_whose_every_batch_failed_ends_failed(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, ["Value A", "Value B", "Value C", "Value D"])
    chat = ScriptedChatModel([drop_all_but_one] * 4)
    run = runs.run_here(
        engine, models(chat), kind="dedup", deliberation_id=d, args={"batch_size": 2}, actor="ada"
    )
    assert run.status == "failed" and run.error is not None
    assert run.error.startswith("every batch failed (2; 4 cards left for the next run)")
    assert run.result["failed_batches"] == 2 and len(run.result["failures"]) == 2
    assert run.log[-1] == f"failed: {run.error}"
    assert canonical_of(engine, cards) == [None] * 4

    # One batch of two going through is a success that reports the other.
    chat = ScriptedChatModel([drop_all_but_one, drop_all_but_one, title_judge])
    again = runs.run_here(
        engine, models(chat), kind="dedup", deliberation_id=d, args={"batch_size": 2}, actor="ada"
    )
    assert again.status == "succeeded" and again.result["failed_batches"] == 1


def test_an_error_ends_the_run_failed_with_its_one_line(engine: Engine) -> None:
    d, _ = new_deliberation(engine)
    chat = ScriptedChatModel([])
    run = runs.run_here(engine, models(chat), kind="build", deliberation_id=d, args={}, actor="ada")
    assert run.status in ("succeeded", "failed")  # an empty graph: whatever build says, it is recorded
    assert (run.status == "failed") == (run.error is not None)

    with pytest.raises(NotFound):  # checked before anything is stored
        runs.run_here(engine, models(chat), kind="dedup", deliberation_id=424242, args={}, actor="ada")
    with pytest.raises(InvalidInput, match="batch size is 1-40"):
        runs.run_here(
            engine, models(chat), kind="dedup", deliberation_id=d, args={"batch_size": 99}, actor="a"
        )
    with pytest.raises(InvalidInput, match="no job kind"):
        runs.run_here(engine, models(chat), kind="nope", deliberation_id=d, args={}, actor="ada")
    assert [r.kind for r in runs.list_runs(engine)] == ["build"]


def test_starting_the_same_job_twice_returns_the_first_run(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    add_cards(engine, q, ["Value A"])
    pool = HeldJobs()
    chat = ScriptedChatModel([title_judge])
    started = runs.start(engine, pool, models(chat), kind="dedup", deliberation_id=d, args={}, actor="ada")
    first = started.run
    again = runs.start(engine, pool, models(chat), kind="dedup", deliberation_id=d, args={}, actor="bob")
    second = again.run
    assert started.created and not again.created
    assert first.status == "queued" and second.id == first.id and second.actor == "ada"
    assert len(pool.given) == 1
    other = runs.start(  # other arguments: still the deliberation's one dedup
        engine, pool, models(chat), kind="dedup", deliberation_id=d, args={"question_id": q}, actor="bob"
    )
    assert not other.created and other.run.id == first.id and len(pool.given) == 1
    with pytest.raises(InvalidInput, match="already queued as run"):
        runs.run_here(engine, models(chat), kind="dedup", deliberation_id=d, args={}, actor="cy")

    _, fn, args, kwargs = pool.given[0]
    done = fn(*args, **kwargs)  # the worker runs it
    assert done.status == "succeeded" and done.id == first.id
    assert fn(*args, **kwargs).status == "succeeded"  # a second worker leaves an ended run alone
    assert chat.remaining == 0
    third = runs.start(engine, pool, models(chat), kind="dedup", deliberation_id=d, args={}, actor="ada")
    assert third.created and third.run.id != first.id  # ended runs are not reused


def test_a_run_on_the_pool_ends_and_another_process_sees_it(engine: Engine, database_url: str) -> None:
    d, (q,) = new_deliberation(engine)
    add_cards(engine, q, ["Value A", "Value B"])
    pool = BackgroundJobs(workers=1)
    try:
        run = runs.start(
            engine,
            pool,
            models(ScriptedChatModel([title_judge])),
            kind="dedup",
            deliberation_id=d,
            args={},
            actor="ada",
        ).run
        assert pool.wait(timeout_s=30)
    finally:
        pool.shutdown()
    other = db.make_engine(database_url)  # another app process: its own engine on the same database
    try:
        (seen,) = runs.list_runs(other, deliberation_id=d)
        assert seen.id == run.id and seen.status == "succeeded" and seen.done == seen.total == 1
        assert seen.result["cards_processed"] == 2 and any(line.startswith("batch 1/1") for line in seen.log)
    finally:
        other.dispose()


def test_a_run_left_by_a_stopped_process_reads_failed_and_is_started_afresh(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    add_cards(engine, q, ["Value A"])
    pool = HeldJobs()
    chat = ScriptedChatModel([title_judge])
    first = runs.start(engine, pool, models(chat), kind="dedup", deliberation_id=d, args={}, actor="ada").run
    assert runs.get_run(engine, run_id=first.id).status == "queued"
    with session_scope(engine) as s:
        row = s.get(JobRun, first.id)
        row.status, row.heartbeat_at = "running", utcnow() - timedelta(seconds=runs.STALE_S + 5)
        s.add(row)
    shown = runs.get_run(engine, run_id=first.id)
    assert shown.status == "failed" and shown.error == runs.STOPPED
    assert not runs.any_active(runs.list_runs(engine, deliberation_id=d))

    again = runs.start(engine, pool, models(chat), kind="dedup", deliberation_id=d, args={}, actor="bob").run
    assert again.id != first.id and again.status == "queued"
    with session_scope(engine) as s:  # the stale one is now stored as failed
        stored = s.get(JobRun, first.id)
        assert stored.status == "failed" and stored.error == runs.STOPPED and stored.finished_at is not None


def test_a_live_run_beats_and_the_log_keeps_its_last_lines(engine: Engine) -> None:
    d, _ = new_deliberation(engine)
    pool = HeldJobs()
    run = runs.start(
        engine, pool, models(ScriptedChatModel([])), kind="build", deliberation_id=d, args={}, actor="a"
    ).run
    old = utcnow() - timedelta(seconds=runs.STALE_S + 5)
    with session_scope(engine) as s:
        from storage import repo_jobs

        assert repo_jobs.beat(s, run_ids=[run.id], at=old) == {run.id}
    assert runs.get_run(engine, run_id=run.id).status == "failed"  # no beat for too long
    with session_scope(engine) as s:
        assert repo_jobs.beat(s, run_ids=[run.id], at=utcnow()) == {run.id}
    assert runs.get_run(engine, run_id=run.id).status == "queued"  # beating again: alive

    progress = runs.Progress(engine, run.id)
    for i in range(runs.LOG_LINES + 20):
        progress.update(f"line {i}", step=1)
    progress.update("x" * (runs.LINE_CHARS + 50))
    shown = runs.get_run(engine, run_id=run.id)
    assert (
        len(shown.log) == runs.LOG_LINES and shown.log[0] == "line 21" and shown.done == runs.LOG_LINES + 20
    )
    assert len(shown.log[-1]) == runs.LINE_CHARS and shown.log[-1].endswith("…")


def test_a_generate_contexts_run_names_itself_on_its_model_call(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    reply = {"contexts": ["When money is tight", "When the user is grieving"]}
    chat = ScriptedChatModel([reply], callbacks=[RecordingCallback(llm_call_sink(engine))])
    run = runs.run_here(
        engine,
        models(chat),
        kind="generate_contexts",
        deliberation_id=d,
        args={"question_id": q, "n": 2},
        actor="ada",
    )
    assert run.status == "succeeded" and run.result["added"] == reply["contexts"]
    with session_scope(engine) as s:
        calls = s.exec(select(LLMCall)).all()
    assert [(c.purpose, c.deliberation_id, c.job_run) for c in calls] == [
        (calls[0].purpose, d, f"job-{run.id}")
    ]


def test_a_grade_run_keeps_its_grades_where_moderation_finds_them(engine: Engine) -> None:
    from interviews.grading import CRITERIA
    from services.facilitator import moderation
    from tests.services.story_world import seed

    w = seed(engine)
    reply = {name: {"grade": "A", "reason": "fine"} for name, _ in CRITERIA} | {
        "overall": {"grade": "B", "reason": "Short but sound."}
    }
    chat = ScriptedChatModel([reply], callbacks=[RecordingCallback(llm_call_sink(engine))])
    before = moderation.search_transcripts(engine, deliberation_id=w.deliberation_id)
    assert [h.grades for h in before.hits if h.interview_id == w.interview_id] == [None]

    run = runs.run_here(
        engine, models(chat), kind="grade", deliberation_id=w.deliberation_id, args={}, actor="ada"
    )
    assert run.status == "succeeded" and run.result["graded"] == 1
    page = moderation.search_transcripts(engine, deliberation_id=w.deliberation_id, text="aunt")
    (hit,) = [h for h in page.hits if h.interview_id == w.interview_id]
    assert hit.grades is not None and hit.grades.overall == "B" and hit.grades.actor == "ada"
    assert hit.grades.rows[-1] == ("overall", "B", "Short but sound.")
    (card_hit,) = [
        h
        for h in moderation.search_cards(engine, deliberation_id=w.deliberation_id).hits
        if h.card.interview_id == w.interview_id
    ]
    assert card_hit.grades == hit.grades  # the card search shows the same grades
    with session_scope(engine) as s:
        recorded = s.exec(select(LLMCall.job_run).where(LLMCall.purpose == "grader")).all()
    assert recorded == [f"job-{run.id}"]
    again = runs.run_here(
        engine,
        models(ScriptedChatModel([])),
        kind="grade",
        deliberation_id=w.deliberation_id,
        args={},
        actor="bo",
    )
    assert again.status == "succeeded" and again.result["interviews"] == 0  # graded once: nothing left


def test_a_build_before_anyone_judged_says_what_fills_the_graph(engine: Engine) -> None:
    d, _ = new_deliberation(engine)
    chat = ScriptedChatModel([])
    run = runs.run_here(engine, models(chat), kind="build", deliberation_id=d, args={}, actor="ada")
    assert run.status == "succeeded" and run.result["judgements"] == 0
    assert run.log[-1] == "Nobody has judged an upgrade story yet: the graph fills as participants judge."
