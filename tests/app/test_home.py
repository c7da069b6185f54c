"""Landing page (AppTest): what the app is, what it runs on, clear errors for bad configuration."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from providers import local
from services.runtime import model_clients
from tests.app.conftest import shown, texts


def test_landing_page_describes_the_app_and_its_setup(make_app: Callable[[], AppTest]) -> None:
    at = make_app().run()
    assert not at.exception
    page = texts(at)
    assert "Moral Graph Studio" in page and "moral graph" in page
    assert "Demo mode" in page  # LLM_MODE=fake is labelled as such
    assert "scripted-demo" in page and "sqlite" in page and "moral_graph.sqlite3" in page


def test_model_check_answers_and_is_recorded(make_app: Callable[[], AppTest]) -> None:
    at = make_app().run()
    at.button[0].click().run()
    assert not at.exception
    assert at.success and "The model answered" in at.success[0].value
    at.run()  # a rerun re-reads the counts
    assert "0 deliberations, 1 model call recorded." in texts(at)


def test_offline_mode_shows_the_banner_and_starts_the_model_in_the_background(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    app_env.setattr(local, "start_in_background", started.append)  # no real server in this test
    app_env.setenv("LLM_MODE", "auto")
    at = make_app().run()
    assert not at.exception
    assert at.warning and "small bundled offline model" in at.warning[0].value
    assert "LLM_BASE_URL" in at.warning[0].value
    assert "starts on first use" in texts(at)  # the fake start above never began
    assert len(started) == 1  # app.py asked for the start, once per process
    at.run()
    assert len(started) == 1


def test_the_model_check_reports_a_start_in_progress_instead_of_waiting(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setattr(local, "start_in_background", lambda settings: None)
    app_env.setattr(local, "_progress", local.ServerProgress("starting", time.monotonic() - 12))

    def never(*args: object) -> object:
        raise AssertionError("the model check waited for the model")

    app_env.setattr(model_clients, "chat_model", never)
    app_env.setenv("LLM_MODE", "local")
    at = make_app().run()
    assert not at.exception
    assert re.search(r"starting the offline model\.\.\. \(1\d s so far\)", texts(at))  # how far it is
    next(b for b in at.button if b.label == "Check the model connection").click().run()
    assert not at.exception and not at.error and not at.success
    assert at.info and shown(at.info[0].value).startswith("Not ready yet: starting the offline model...")
    app_env.setattr(local, "_progress", local.ServerProgress("failed", time.monotonic(), "no model file"))
    at.run()
    assert "the offline model could not start: no model file" in texts(at)


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


def test_unreachable_endpoint_names_the_setting(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, closed_port: int
) -> None:
    app_env.setenv("LLM_MODE", "openai")
    app_env.setenv("LLM_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    app_env.setenv("LLM_MODEL", "llama3.2")
    app_env.setenv("LLM_MAX_RETRIES", "0")
    at = make_app().run()
    assert not at.exception and not at.warning  # a configured endpoint: no offline banner
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "LLM_BASE_URL" in at.error[0].value
