"""Jobs page (AppTest): start a dedup and a graph build as job runs on the console's own pool, watch them end
with their progress and log (log lines shown literally), a second click while a run is active returns it
and says so, a stories job resumes the deliberation's story run, and a malformed ?d= falls back to the
first deliberation (signed out: test_access)."""

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
    assert f"The same job is already running as run {run_id} (started by someone)" in texts(at)
    assert len(runs.list_runs(engine, deliberation_id=d.id)) == 1
    assert any(
        c.value == "**not bold** <b>no html</b> [link](https://example.org)\nline two" for c in at.code
    )
    assert [p.value for p in at.get("progress")] == [25]  # 1 of 4


def test_console_jobs_run_on_their_own_pool_and_stories_resume(
    console_app: Callable[[str], AppTest], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import resources

    def participants_pool() -> None:
        raise AssertionError("a console job went to the participants' pool")

    monkeypatch.setattr(resources, "jobs", participants_pool)
    d = deliberations.create_deliberation(engine, title="Jobs", questions=["Q one?"])
    at = console_app(PAGE)
    click(at, "Write and judge stories")
    (first,) = runs.list_runs(engine, deliberation_id=d.id)
    assert resources.console_jobs().wait(timeout_s=60)
    done = ended(engine, first.id)
    assert done.kind == "stories" and done.status == "succeeded", done.error
    assert done.args["run_id"] == f"console-{d.id}"
    click(at, "Write and judge stories")
    second = runs.list_runs(engine, deliberation_id=d.id)[0]
    assert second.id != first.id and second.args["run_id"] == f"console-{d.id}"  # the same story run
    ended(engine, second.id)


def test_a_malformed_deliberation_in_the_link_falls_back(make_app: Callable[[], AppTest], engine) -> None:
    from tests.app.conftest import console_token
    from ui import state

    deliberations.create_deliberation(engine, title="First", questions=["Q one?"])
    newest = deliberations.create_deliberation(engine, title="Second", questions=["Q two?"])
    for bad in ("²", "-1", "99999999999999999999999", "1e3"):
        at = make_app()
        at.query_params["d"] = bad
        at.session_state[state.FACILITATOR_SESSION] = console_token()
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, bad
        assert at.sidebar.selectbox[0].value == newest.id  # the picker's first: the newest
        assert "No job runs for this deliberation yet." in texts(at)


def test_the_live_run_list_checks_the_sign_in_first() -> None:
    """The Jobs and Import pages share one self-refreshing list whose refresh starts with the sign-in check
    (``auth.guard_fragment``: tests/app/test_access.py drives it)."""
    from tests.app.conftest import REPO

    source = (REPO / "ui" / "job_runs.py").read_text()
    body = source.split("    def run_list() -> None:\n", 1)[1]
    assert body.lstrip().startswith("auth.guard_fragment()")
    for page in ("jobs.py", "import_study.py"):
        text = (REPO / "pages" / page).read_text()
        assert "job_runs.live_list(" in text and "st.fragment" not in text
        assert "resources.console_jobs()" in text and "resources.jobs()" not in text
