"""The console's System page (AppTest): what the app runs on, the model check, the accounts (never a
hash) and the sign-in log; moved here from the landing page (issue 12 item 2)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from providers import local
from services.facilitator import accounts, deliberation_edits, deliberations, moderation, system
from services.runtime import model_clients
from settings import load_settings
from tests.app.conftest import CONSOLE_ACCOUNT, shown, texts
from ui import state

PAGE = "pages/system.py"


def test_the_system_page_shows_the_setup_accounts_and_sign_in_log(
    console_app: Callable[[str], AppTest],
) -> None:
    at = console_app(PAGE)
    assert not at.exception
    page = texts(at)
    assert "scripted-demo" in page and "sqlite" in page and "moral_graph.sqlite3" in page
    assert "0 deliberations, 0 model calls recorded." in page
    assert f"Signed in as {CONSOLE_ACCOUNT}" in page
    listed, log = at.dataframe[0].value, at.dataframe[1].value
    assert list(listed["name"]) == [CONSOLE_ACCOUNT] and list(listed["status"]) == ["enabled"]
    assert not any("argon2" in str(v) for v in listed.to_numpy().ravel())  # never a hash
    assert list(log["account"]) == [CONSOLE_ACCOUNT] and list(log["reason"]) == ["ok"]


def test_model_check_answers_and_is_recorded(console_app: Callable[[str], AppTest]) -> None:
    at = console_app(PAGE)
    next(b for b in at.button if b.label == "Check the model connection").click().run()
    assert not at.exception
    assert at.success and "The model answered" in at.success[0].value
    at.run()  # a rerun re-reads the counts
    assert "0 deliberations, 1 model call recorded." in texts(at)


def test_the_model_check_reports_a_start_in_progress_instead_of_waiting(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setattr(local, "start_in_background", lambda settings: None)
    app_env.setattr(local, "_progress", local.ServerProgress("starting", time.monotonic() - 12))

    def never(*args: object) -> object:
        raise AssertionError("the model check waited for the model")

    app_env.setattr(model_clients, "chat_model", never)
    app_env.setenv("LLM_MODE", "local")
    at = console_app(PAGE)
    assert not at.exception
    assert re.search(r"starting the offline model\.\.\. \(1\d s so far\)", texts(at))  # how far it is
    next(b for b in at.button if b.label == "Check the model connection").click().run()
    assert not at.exception and not at.error and not at.success
    assert at.info and shown(at.info[0].value).startswith("Not ready yet: starting the offline model...")
    app_env.setattr(local, "_progress", local.ServerProgress("failed", time.monotonic(), "no model file"))
    at.run()
    assert "the offline model could not start: no model file" in texts(at)


def test_unreachable_endpoint_names_the_setting(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch, closed_port: int
) -> None:
    app_env.setenv("LLM_MODE", "openai")
    app_env.setenv("LLM_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    app_env.setenv("LLM_MODEL", "llama3.2")
    app_env.setenv("LLM_MAX_RETRIES", "0")
    at = console_app(PAGE)
    assert not at.exception and not at.warning  # a configured endpoint: no offline banner
    next(b for b in at.button if b.label == "Check the model connection").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "LLM_BASE_URL" in at.error[0].value


def test_sign_out_everywhere_ends_every_session_of_the_account(console_app: Callable[[str], AppTest]) -> None:
    at = console_app(PAGE)
    other_tab = console_app(PAGE)  # a second session of the same account
    next(b for b in at.button if b.label == "Sign out everywhere").click().run()
    assert not at.exception
    other_tab.run()
    assert not other_tab.exception and "Sign in as a facilitator" in texts(other_tab)
    engine = system.open_database(load_settings())
    try:
        assert accounts.get_account(engine, name=CONSOLE_ACCOUNT).session_version == 1
    finally:
        engine.dispose()


def test_the_console_log_shows_deletions_and_account_changes_newest_first(
    console_app: Callable[[str], AppTest],
) -> None:
    engine = system.open_database(load_settings())
    try:
        d = deliberations.create_deliberation(engine, title="Gone soon", questions=["Q?"], actor="ann").id
        at = console_app(PAGE)  # the tester's account is added (by "test") on the way in
        accounts.add_account(engine, name="bo", password="a long enough password", actor="cli:root")
        deliberation_edits.delete_deliberation(
            engine, deliberation_id=d, confirm_title="Gone soon", actor="ann"
        )
        at.run()
    finally:
        engine.dispose()
    assert not at.exception
    assert "Console log" in texts(at)
    log = at.dataframe[-1].value
    assert list(log["who"]) == ["ann", "cli:root", "test"]
    assert list(log["action"]) == ["deliberation_delete", "account_add", "account_add"]
    assert list(log["target"])[0] == f"deliberation {d}"
    assert '"title": "Gone soon"' in log["details"][0] and '"name": "bo"' in log["details"][1]
    assert [b.label for b in at.get("download_button")] == ["Download the console log as CSV"]
    next(b for b in at.button if b.label == "Sign out everywhere").click().run()  # logged as it is done
    assert not at.exception
    engine = system.open_database(load_settings())
    try:
        newest = moderation.log(engine, deliberation_id=None, limit=1)[0]
    finally:
        engine.dispose()
    assert (newest.actor, newest.action, newest.details["name"]) == (
        CONSOLE_ACCOUNT,
        "account_sign_out_everywhere",
        CONSOLE_ACCOUNT,
    )


def test_the_console_log_says_when_it_is_empty(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("FACILITATOR_PASSWORD", "a shortcut password")  # signed in with no named account
    settings = load_settings()
    engine = system.open_database(settings)
    try:
        outcome = accounts.sign_in(
            engine, settings, name=accounts.SHORTCUT_NAME, password="a shortcut password", client="test"
        )
    finally:
        engine.dispose()
    at = make_app()
    at.session_state[state.FACILITATOR_SESSION] = outcome.token
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and "Console log" in texts(at)
    assert "Nothing logged yet." in [i.value for i in at.info]
    assert [b.label for b in at.get("download_button")] == ["Download the console log as CSV"]
