"""Job runs are safe to start twice and survive their own staleness (SQLite and PostgreSQL): a stories job
without a run id resumes the deliberation's one story run; one run of a kind per deliberation whatever its
arguments (contexts: per question); a run's end never overwrites a status set meanwhile; the heartbeat goes
on for a run still executing; deleting a deliberation ignores stale runs and holds the job-start lock; and an
uploaded import's folder is removed when its start is refused."""

from __future__ import annotations

import dataclasses
import io
import shutil
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberation_edits
from services.jobs import run_kinds, runs
from services.research import dft_import
from storage import repo_jobs
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import EdgeHypothesis, JobRun, utcnow
from tests.services.dedup_world import TitleEmbeddings, new_deliberation
from tests.services.jobs.test_runs import HeldJobs
from tests.services.story_world import seed, story_model


def models(chat: ScriptedChatModel) -> runs.Models:
    return runs.Models(lambda: chat, TitleEmbeddings)


HOLD_S = 1.5


def _age(engine: Engine, run_id: int, *, status: str = "running") -> None:
    """Make run ``run_id`` look left by a stopped process (no heartbeat for longer than STALE_S)."""
    with session_scope(engine) as s:
        row = s.get(JobRun, run_id)
        assert row is not None
        row.status, row.heartbeat_at = status, utcnow() - timedelta(seconds=runs.STALE_S + 5)
        s.add(row)


def test_a_second_stories_job_resumes_the_deliberations_story_run(engine: Engine) -> None:
    w = seed(engine)
    first = runs.run_here(
        engine, models(story_model(16)), kind="stories", deliberation_id=w.deliberation_id, args={}, actor="a"
    )
    assert first.status == "succeeded", first.error
    assert first.args["run_id"] == f"console-{w.deliberation_id}" and first.result["judged"] == 8
    idle = ScriptedChatModel([])  # any model call would fail the run
    again = runs.run_here(
        engine,
        models(idle),
        kind="stories",
        deliberation_id=w.deliberation_id,
        args={"run_id": "  "},
        actor="b",
    )
    assert again.status == "succeeded" and again.result["skipped"] == 8 and again.result["written"] == 0
    with session_scope(engine) as s:
        assert len(s.exec(select(EdgeHypothesis)).all()) == 8  # no pair rewritten
    named = run_kinds.kind("stories").check(engine, w.deliberation_id, {"run_id": "mine-1"})
    assert named["run_id"] == "mine-1"  # an explicit run id is kept


def test_one_active_run_per_kind_and_deliberation_whatever_the_arguments(engine: Engine) -> None:
    d, (q1, q2) = new_deliberation(engine, questions=("Q one?", "Q two?"))
    pool = HeldJobs()
    m = models(ScriptedChatModel([]))

    def start(kind: str, args: dict[str, Any], deliberation_id: int = d) -> runs.Started:
        return runs.start(engine, pool, m, kind=kind, deliberation_id=deliberation_id, args=args, actor="a")

    stories = start("stories", {"max_pairs": 5})
    assert stories.created
    other = start("stories", {"max_pairs": 9, "run_id": "elsewhere"})
    assert not other.created and other.run.id == stories.run.id
    dedup = start("dedup", {"batch_size": 3})
    assert dedup.created and not start("dedup", {"question_id": q1, "batch_size": 7}).created
    for kind in ("mine_contexts", "grade", "build"):
        assert start(kind, {}).created and not start(kind, {}).created
    on_q1 = start("generate_contexts", {"question_id": q1, "n": 2})
    assert not start("generate_contexts", {"question_id": q1, "n": 5}).created
    on_q2 = start("generate_contexts", {"question_id": q2, "n": 2})
    assert on_q1.created and on_q2.created and on_q1.run.id != on_q2.run.id
    d2, _ = new_deliberation(engine)
    assert start("build", {}, d2).created  # another deliberation: its own
    assert len(pool.given) == 8

    _age(engine, stories.run.id)  # a run left by a stopped process does not hold its kind
    fresh = start("stories", {})
    assert fresh.created and fresh.run.id != stories.run.id


def test_the_end_of_a_run_keeps_a_status_set_meanwhile(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, _ = new_deliberation(engine)
    pool = HeldJobs()
    m = models(ScriptedChatModel([]))
    first = runs.start(engine, pool, m, kind="build", deliberation_id=d, args={}, actor="a").run
    later: list[runs.Started] = []

    def slow_build(
        engine: Engine, models: Any, progress: Any, deliberation_id: Any, args: Any
    ) -> runs.Outcome:
        # While it runs, its heartbeat is missed and another start marks it stopped, starting afresh.
        _age(engine, first.id)
        later.append(runs.start(engine, pool, m, kind="build", deliberation_id=d, args={}, actor="b"))
        return runs.Outcome({"snapshot_id": 1})

    build = run_kinds.KINDS["build"]
    monkeypatch.setitem(run_kinds.KINDS, "build", dataclasses.replace(build, run=slow_build))
    _, fn, args, kwargs = pool.given[0]
    ended = fn(*args, **kwargs)
    assert ended.status == "failed" and ended.error == runs.STOPPED and ended.result == {}
    with session_scope(engine) as s:
        stored = s.get(JobRun, first.id)
        assert stored is not None and stored.status == "failed" and stored.error == runs.STOPPED
    (again,) = later
    assert again.created and runs.get_run(engine, run_id=again.run.id).status == "queued"
    assert first.id not in runs._BEATER.held()  # released by execute's end


def test_the_heartbeat_goes_on_for_a_run_still_executing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, _ = new_deliberation(engine)
    beater = runs._Beater()  # beats are driven by hand here (no thread)
    monkeypatch.setattr(beater, "_ensure_thread", lambda: None)
    with session_scope(engine) as s:
        executing, queued = (JobRun(kind=k, deliberation_id=d, status="running") for k in ("build", "grade"))
        s.add(executing)
        s.add(queued)
        s.flush()
        ids = executing.id, queued.id
    assert None not in ids
    running_id, queued_id = int(ids[0]), int(ids[1])
    beater.executing(engine, running_id)
    beater.hold(engine, queued_id)

    real_beat = repo_jobs.beat
    monkeypatch.setattr(repo_jobs, "beat", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db down")))
    for _ in range(runs.BEAT_TRIES + 1):  # the database is away for a while
        beater.beat_once()
    assert beater.held() == {running_id}  # the queued one is given up, the executing one is not
    monkeypatch.setattr(repo_jobs, "beat", real_beat)
    _age(engine, running_id)
    beater.beat_once()
    assert not runs.is_stale(runs.get_run(engine, run_id=running_id))  # beating again

    with session_scope(engine) as s:  # marked stopped elsewhere: still held while it executes here
        row = s.get(JobRun, running_id)
        assert row is not None
        row.status = "failed"
        s.add(row)
    beater.beat_once()
    assert beater.held() == {running_id}
    beater.release(running_id)
    assert beater.held() == set()


def test_deleting_ignores_stale_runs_and_holds_the_job_start_lock(engine: Engine) -> None:
    d, _ = new_deliberation(engine)
    pool = HeldJobs()
    m = models(ScriptedChatModel([]))
    live = runs.start(engine, pool, m, kind="build", deliberation_id=d, args={}, actor="a").run
    with pytest.raises(InvalidInput, match="1 job queued or running"):
        deliberation_edits.delete_deliberation(engine, deliberation_id=d, confirm_title="Dedup", actor="a")
    _age(engine, live.id)  # its process stopped long ago
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:  # a job starting: the start lock held for a moment
        with session_scope(engine) as s:
            repo_jobs.lock_starts(s)
            repo_jobs.active_runs(s, kind="build", deliberation_id=d)  # SQLite: the write lock
            held.set()
            release.wait(HOLD_S * 4)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(5)
    threading.Timer(HOLD_S, release.set).start()
    began = time.monotonic()
    counts = deliberation_edits.delete_deliberation(
        engine, deliberation_id=d, confirm_title="Dedup", actor="a"
    )
    waited = time.monotonic() - began
    holder.join(5)
    assert waited >= HOLD_S - 0.1  # it waited for the start to end
    assert counts["job_runs"] == 1
    with pytest.raises(NotFound):  # and no job starts on it afterwards
        runs.start(engine, pool, m, kind="build", deliberation_id=d, args={}, actor="a")


def _study_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("dft-data/case.json", "[]")
    return buffer.getvalue()


def test_an_uploaded_import_refused_leaves_no_folder(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    made: list[Path] = []
    save = dft_import.save_upload

    def recorded(data: bytes) -> Path:
        made.append(save(data))
        return made[-1]

    monkeypatch.setattr(dft_import, "save_upload", recorded)
    pool = HeldJobs()
    m = models(ScriptedChatModel([]))
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        run_kinds.start_import(
            engine, pool, m, folder="", upload=_study_zip(), before="yesterday", title=None, actor="a"
        )
    assert len(made) == 1 and not made[0].exists() and pool.given == []

    ok = run_kinds.start_import(
        engine, pool, m, folder="", upload=_study_zip(), before=None, title=None, actor="a"
    )
    folder = Path(ok.run.args["folder"])
    assert ok.created and ok.run.args["uploaded"] and folder.is_dir()  # the run's now: it removes it
    shutil.rmtree(folder)
    with pytest.raises(InvalidInput, match="temporary folder"):  # only an upload's folder is ever removed
        runs.start(
            engine,
            pool,
            m,
            kind="import",
            deliberation_id=None,
            args={"folder": str(Path.cwd()), "uploaded": True},
            actor="a",
        )
