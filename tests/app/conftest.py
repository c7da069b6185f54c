"""AppTest fixtures: a fresh app per test, on its own database, never the developer's settings."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from services.facilitator import accounts, system
from settings import load_settings
from ui import literal, state

REPO = Path(__file__).resolve().parents[2]
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "DATA_DIR",
    "LLM_MODE",
    "LLM_BASE_URL",
    "LLM_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LLM_MODEL",
    "EMBEDDING_MODEL",
    "FACILITATOR_PASSWORD",
    "PUBLIC_BASE_URL",
    "LLM_MAX_RETRIES",
    "LLM_TIMEOUT_S",
    "LLM_REPLY_MAX_TOKENS",
    "PROMPT_STYLE",
    "LOCAL_MODEL",
    "LOCAL_MODEL_PATH",
    "SESSION_SECRET",
    "SESSION_HOURS",
    "TRUSTED_PROXY",
)
#: argon2id with the smallest parameters: the same code paths, milliseconds per hash.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment for a demo-mode app on a private SQLite file; tests may change it further."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_MODE", "fake")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://studio.example.org")
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(accounts, "HASHER", CHEAP_HASHER)  # argon2id still, at test speed
    st.cache_resource.clear()  # settings, engine and model are process-wide caches
    yield monkeypatch
    st.cache_resource.clear()


@pytest.fixture
def make_app(app_env: pytest.MonkeyPatch) -> Callable[[], AppTest]:
    def make() -> AppTest:
        # Production hides error details on screen (.streamlit/config.toml); tests want them in failures.
        st.config.set_option("client.showErrorDetails", "full")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.secrets["STREAMLIT_TEST"] = "1"  # an explicit secrets dict: no real secrets.toml leaks in
        return at

    return make


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shown(markdown: object) -> str:
    """What a person reads from a Markdown source: the writing of ``ui.components.plain`` undone."""
    return literal.read(str(markdown))


def by_label(elements, label: str):
    """The first widget of ``elements`` (``at.button``, ``at.text_input``...) with ``label``."""
    found = [e for e in elements if e.label == label]
    assert found, f"no {label!r} among {[e.label for e in elements]}"
    return found[0]


def texts(at: AppTest) -> str:
    """Everything visible as text on the page, for loose assertions."""
    parts = [e.value for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption, *at.text)]
    parts += [e.value for e in at.code]
    parts += [e.value for e in (*at.error, *at.warning, *at.info, *at.success)]
    return "\n".join(shown(p) for p in parts)


def open_page(make_app: Callable[[], AppTest], page: str, **params: str) -> AppTest:
    """A fresh app run with ``params`` in the URL, switched to ``page`` (as a link to it opens)."""
    at = make_app()
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    return at


@pytest.fixture
def console_app(make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch) -> Callable[[str], AppTest]:
    """Factory: ``console_app("pages/jobs.py")`` is an app signed in as the named account
    :data:`CONSOLE_ACCOUNT` (a real session token, :func:`console_token`), run once on that page."""

    def make(page: str) -> AppTest:
        at = make_app()
        at.session_state[state.FACILITATOR_SESSION] = console_token()
        at.run()
        at.switch_page(page).run()
        return at

    return make


#: The named account ``console_app`` signs in as (every console action of a test is attributed to it).
CONSOLE_ACCOUNT = "console-tester"
CONSOLE_PASSWORD = "console test password"


def console_token(name: str = CONSOLE_ACCOUNT, password: str = CONSOLE_PASSWORD) -> str:
    """A session token for account ``name`` on the app's database (made with ``password`` when missing),
    signed in as the sign-in page does; put it in ``at.session_state[state.FACILITATOR_SESSION]``."""
    settings = load_settings()
    engine = system.open_database(settings)
    try:
        if name not in {a.name for a in accounts.list_accounts(engine)}:
            accounts.add_account(engine, name=name, password=password, actor="test")
        outcome = accounts.sign_in(engine, settings, name=name, password=password, client="test")
    finally:
        engine.dispose()
    assert outcome.ok and outcome.token, outcome.message
    return outcome.token
