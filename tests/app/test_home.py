"""Landing page (AppTest): what the app is, and nothing for anonymous visitors to learn or trigger about
the system (issue 12 item 2); clear errors for bad configuration."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from providers import local
from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from storage.db import session_scope
from storage.tables import LLMCall
from tests.app.conftest import console_token, shown, texts
from ui import state


def _model_calls() -> int:
    engine = system.open_database(load_settings())
    try:
        with session_scope(engine) as session:
            return int(session.exec(select(func.count()).select_from(LLMCall)).one())
    finally:
        engine.dispose()


def test_landing_page_describes_the_app_and_nothing_of_the_system(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    def no_model(*args: object) -> object:
        raise AssertionError("the home page asked for the model")

    app_env.setattr(model_clients, "chat_model", no_model)
    at = make_app().run()
    assert not at.exception
    page = texts(at)
    assert "Moral Graph Studio" in page and "moral graph" in page and "invite link" in page
    assert "Demo mode" in page  # LLM_MODE=fake is labelled as such
    for secret in ("scripted-demo", "sqlite", "moral_graph.sqlite3", "schema", "recorded", "Running on"):
        assert secret not in page, secret
    assert not at.button and not at.dataframe and not at.text  # nothing to click, no system details
    assert _model_calls() == 0


def test_an_endpoint_and_a_database_url_stay_hidden(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, tmp_path
) -> None:
    app_env.setenv("LLM_MODE", "openai")
    app_env.setenv("LLM_BASE_URL", "http://10.9.8.7:8000/v1")
    app_env.setenv("LLM_API_KEY", "sk-never-shown")
    app_env.setenv("LLM_MODEL", "secret-model-name")
    app_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hidden-folder' / 'studio.sqlite3'}")
    at = make_app().run()
    assert not at.exception and not at.button
    page = texts(at) + "".join(str(e.value) for e in at.sidebar.markdown)
    for secret in ("10.9.8.7", "sk-never-shown", "secret-model-name", "hidden-folder", "studio.sqlite3"):
        assert secret not in page, secret
    assert _model_calls() == 0


def test_offline_mode_shows_the_banner_and_starts_the_model_in_the_background(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    app_env.setattr(local, "start_in_background", started.append)  # no real server in this test
    app_env.setenv("LLM_MODE", "auto")
    at = make_app().run()
    assert not at.exception
    assert at.warning and "small bundled offline model" in at.warning[0].value
    assert "LLM_BASE_URL" not in at.warning[0].value  # how to change it is for the facilitator only
    assert len(started) == 1  # app.py asked for the start, once per process
    at.run()
    assert len(started) == 1


def test_a_signed_in_facilitator_reads_how_to_use_a_better_model(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setattr(local, "start_in_background", lambda *a: None)  # no real server in this test
    app_env.setenv("LLM_MODE", "auto")
    at = make_app()
    at.session_state[state.FACILITATOR_SESSION] = console_token()
    at.run()
    assert not at.exception
    assert at.warning and "LLM_BASE_URL" in at.warning[0].value
    assert "python cli.py model pull" in at.warning[0].value


def test_bad_setting_is_one_clear_message(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("LLM_MODE", "gpt-5")
    at = make_app().run()
    assert not at.exception
    assert len(at.error) == 1 and "LLM_MODE must be one of" in shown(at.error[0].value)


def test_unopenable_database_is_one_clear_message(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, tmp_path
) -> None:
    (tmp_path / "file").write_text("x")
    app_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'file' / 'db.sqlite3'}")
    at = make_app().run()
    assert not at.exception
    assert len(at.error) == 1 and "DATABASE_URL" in at.error[0].value
