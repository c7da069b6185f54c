"""Jobs page (AppTest): start a dedup and a graph build as job runs, watch them end with their progress and
log (log lines shown literally), a second click while a run is active returns it (signed out: test_access)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, system
from services.jobs import runs
from settings import load_settings
from storage.db import session_scope
from storage.tables import JobRun
from tests.app.conftest import CONSOLE_ACCOUNT, texts
from tests.services.dedup_world import add_cards

PAGE = "pages/jobs.py"


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def ended(engine, run_id: int, timeout_s: float = 60) -> runs.JobRunPublic:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = runs.get_run(engine, run_id=run_id)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"job run {run_id} did not end in {timeout_s} s")


def click(at: AppTest, label: str) -> AppTest:
    button = next(b for b in (*at.button, *at.get("form_submit_button")) if b.label == label)
    button.click().run()
    assert not at.exception
    return at


def test_dedup_and_build_run_as_jobs_with_progress_and_log(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = deliberations.create_deliberation(engine, title="Jobs", questions=["Q one?"])
    add_cards(engine, d.questions[0].id, ["Faith in People", "Honest Care"])
    at = console_app(PAGE)
    assert not at.exception
    assert "No job runs for this deliberation yet." in texts(at)

    click(at, "Run dedup")
    (started,) = runs.list_runs(engine, deliberation_id=d.id)
    assert started.kind == "dedup" and started.actor == CONSOLE_ACCOUNT
    assert f"Job run {started.id} (dedup) is" in texts(at)
    done = ended(engine, started.id)
    assert done.status == "succeeded", done.error
    assert done.done == done.total == 1 and done.result["cards_processed"] == 2

    click(at, "Build the moral graph")
    build = ended(engine, runs.list_runs(engine, deliberation_id=d.id)[0].id)
    assert build.kind == "build" and build.status in ("succeeded", "failed")
    at.run()
    assert not at.exception
    shown = texts(at)
    assert f"Run {started.id}: dedup, succeeded (by {CONSOLE_ACCOUNT}" in shown
    assert f"Run {build.id}: build, {build.status}" in shown
    assert any("batch 1/1: 2 cards, 2 new values, 0 joined" in c.value for c in at.code)


def test_a_second_start_returns_the_active_run_and_log_lines_are_literal(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = deliberations.create_deliberation(engine, title="Jobs", questions=["Q one?"])
    at = console_app(PAGE)
    with session_scope(engine) as s:  # a run another process holds (beating), with hostile log lines
        run = JobRun(
            kind="mine_contexts", deliberation_id=d.id, actor="someone", status="running", done=1, total=4
        )
        run.log = ["**not bold** <b>no html</b> [link](https://example.org)", "line two"]
        from storage.tables import utcnow

        run.heartbeat_at = utcnow()
        s.add(run)
        s.flush()
        run_id = run.id
    at.run()
    click(at, "Mine contexts from cards")
    assert f"Job run {run_id} (mine_contexts) is running." in texts(at)
    assert len(runs.list_runs(engine, deliberation_id=d.id)) == 1
    assert any(
        c.value == "**not bold** <b>no html</b> [link](https://example.org)\nline two" for c in at.code
    )
    assert [p.value for p in at.get("progress")] == [25]  # 1 of 4
