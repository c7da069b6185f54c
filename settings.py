"""Configuration: one frozen :class:`Settings`, read once from the environment.

Nothing else in the project reads ``os.environ``. Under Streamlit the UI layer passes
``st.secrets`` as ``secrets``; the environment wins over secrets, secrets over defaults.

>>> s = load_settings(environ={"LLM_MODE": "fake"}, secrets={})
>>> s.llm_mode, s.effective_llm_mode
('fake', 'fake')
>>> load_settings(environ={"LLM_TIMEOUT_S": "soon"}, secrets={})
Traceback (most recent call last):
...
settings.SettingsError: LLM_TIMEOUT_S must be a positive number of seconds (got 'soon')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args
from urllib.parse import urlsplit

from errors import StudioError

LlmMode = Literal["auto", "openai", "local", "fake"]
LLM_MODES: tuple[LlmMode, ...] = get_args(LlmMode)

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
LOCAL_EMBEDDING = "local"
#: Where the default data folder lives, whatever folder a command is started from.
PROJECT_DIR = Path(__file__).resolve().parent


class SettingsError(StudioError, ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every knob of the app. Build it with :func:`load_settings`, never by hand in product code."""

    data_dir: Path
    database_url: str
    llm_mode: LlmMode = "auto"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    embedding_model: str | None = None
    facilitator_password: str | None = field(default=None, repr=False)
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 3
    llm_max_tokens: int = 1024
    participant_token_budget: int = 60_000
    public_base_url: str = "http://localhost:8501"
    local_model_path: Path | None = None
    local_model_threads: int = 2
    db_pool_size: int = 5

    @property
    def effective_llm_mode(self) -> Literal["openai", "local", "fake"]:
        """``auto`` resolved: an endpoint when one is configured, else the bundled local model."""
        if self.llm_mode != "auto":
            return self.llm_mode
        return "openai" if (self.llm_base_url or self.llm_api_key) else "local"

    @property
    def chat_model_name(self) -> str:
        if self.llm_model:
            return self.llm_model
        return {"openai": DEFAULT_OPENAI_MODEL, "local": LOCAL_MODEL_NAME, "fake": "scripted-demo"}[
            self.effective_llm_mode
        ]

    @property
    def embedding_model_name(self) -> str:
        """The endpoint's embedding model, or ``"local"`` for the bundled all-MiniLM-L6-v2.

        Unset, OpenAI itself gets ``text-embedding-3-small``; any other endpoint (vLLM, Ollama,
        llama.cpp...) gets the local model, since most serve no embeddings by default.
        """
        if self.embedding_model:
            return self.embedding_model
        if self.effective_llm_mode == "openai" and self.is_openai_host:
            return DEFAULT_OPENAI_EMBEDDING_MODEL
        return LOCAL_EMBEDDING

    @property
    def is_openai_host(self) -> bool:
        """True when the endpoint is OpenAI's own API (no base URL, or api.openai.com)."""
        return not self.llm_base_url or _is_openai(self.llm_base_url)

    @property
    def database_backend(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    @property
    def database_display(self) -> str:
        """The database URL with any password masked, for screens and logs."""
        parts = urlsplit(self.database_url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.database_url


def load_settings(
    environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) and then ``secrets``.

    Raises :class:`SettingsError` with one line naming the variable to fix.
    """
    env = os.environ if environ is None else environ
    sec = secrets or {}

    def raw(*names: str) -> str | None:
        for name in names:
            value = env.get(name)
            if (value is None or not value.strip()) and name in sec:
                value = str(sec[name])  # an empty variable (a blank line of .env) does not hide a secret
            if value is not None and value.strip() != "":
                return value.strip()
        return None

    data_dir = Path(raw("DATA_DIR") or PROJECT_DIR / "data").expanduser()
    database_url = _database_url(raw("DATABASE_URL"), data_dir)

    mode = (raw("LLM_MODE") or "auto").lower()
    if not _is_llm_mode(mode):
        raise SettingsError(f"LLM_MODE must be one of {', '.join(LLM_MODES)} (got {mode!r})")

    base_url = raw("LLM_BASE_URL", "OPENAI_BASE_URL")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(
                f"LLM_BASE_URL must be an http(s) URL such as http://127.0.0.1:11434/v1 (got {base_url!r})"
            )
        base_url = base_url.rstrip("/")
    api_key = raw("LLM_API_KEY", "OPENAI_API_KEY")
    if mode == "openai" and not (base_url or api_key):
        raise SettingsError("LLM_MODE=openai needs LLM_BASE_URL or LLM_API_KEY (or OPENAI_API_KEY)")
    llm_model = raw("LLM_MODEL")
    uses_endpoint = mode == "openai" or (mode == "auto" and (base_url or api_key))
    if uses_endpoint and base_url and not _is_openai(base_url) and not llm_model:
        raise SettingsError(
            f"LLM_MODEL must name the model your server at {base_url} serves (e.g. llama3.2 for Ollama)"
        )

    public_base_url = (raw("PUBLIC_BASE_URL") or "http://localhost:8501").rstrip("/")
    problem = base_url_problem(public_base_url)
    if problem is not None:
        raise SettingsError(f"PUBLIC_BASE_URL {problem} (got {_shown(public_base_url)})")

    local_model_path = raw("LOCAL_MODEL_PATH")
    if local_model_path is not None and not Path(local_model_path).is_file():
        raise SettingsError(f"LOCAL_MODEL_PATH must name an existing GGUF file (got {local_model_path!r})")

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        llm_mode=mode,
        llm_base_url=base_url,
        llm_api_key=api_key,
        llm_model=llm_model,
        embedding_model=raw("EMBEDDING_MODEL"),
        facilitator_password=raw("FACILITATOR_PASSWORD"),
        llm_timeout_s=_positive_float(raw("LLM_TIMEOUT_S"), "LLM_TIMEOUT_S", 60.0),
        llm_max_retries=_count(raw("LLM_MAX_RETRIES"), "LLM_MAX_RETRIES", 3, minimum=0),
        llm_max_tokens=_count(raw("LLM_MAX_TOKENS"), "LLM_MAX_TOKENS", 1024),
        participant_token_budget=_count(raw("PARTICIPANT_TOKEN_BUDGET"), "PARTICIPANT_TOKEN_BUDGET", 60_000),
        public_base_url=public_base_url,
        local_model_path=Path(local_model_path) if local_model_path else None,
        local_model_threads=_count(raw("LOCAL_MODEL_THREADS"), "LOCAL_MODEL_THREADS", 2),
        db_pool_size=_count(raw("DB_POOL_SIZE"), "DB_POOL_SIZE", 5),
    )


#: The longest public address a link may start with.
MAX_BASE_URL = 500


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot start the links the app hands out (invites, open links), or None when it can: an
    ``http``/``https`` address with a host, without credentials, query, fragment, spaces or control
    characters. The one check of ``PUBLIC_BASE_URL`` and of every ``--base-url``.

    >>> base_url_problem("https://studio.example.org/app") is None
    True
    >>> base_url_problem("javascript:alert(1)")
    'must be an http:// or https:// address such as https://studio.example.org'
    >>> base_url_problem("https://user:secret@studio.example.org")
    'must not carry a user name or password'
    """
    if not isinstance(url, str) or not url:
        return "must be an http:// or https:// address such as https://studio.example.org"
    if len(url) > MAX_BASE_URL:
        return f"must be at most {MAX_BASE_URL} characters long"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        return "must be a well-formed http(s) address"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// address such as https://studio.example.org"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "must not carry a query (?...) or a fragment (#...)"
    return None


def _shown(value: str) -> str:
    """A value quoted in a message: ``repr``, cut to 80 characters."""
    return repr(value if len(value) <= 80 else value[:80] + "...")


def _is_llm_mode(value: str) -> TypeGuard[LlmMode]:
    return value in LLM_MODES


def _is_openai(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "").endswith("openai.com")


def _database_url(value: str | None, data_dir: Path) -> str:
    if value is None:
        return f"sqlite:///{data_dir / 'moral_graph.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    if value.startswith(("sqlite://", "postgresql+psycopg://")):
        return value
    raise SettingsError(
        "DATABASE_URL must start with sqlite:/// or postgresql+psycopg:// "
        f"(got {value.split('://')[0]!r}://...)"
    )


def _positive_float(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise SettingsError(f"{name} must be a positive number of seconds (got {value!r})")
    return number


def _count(value: str | None, name: str, default: int, *, minimum: int = 1) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise SettingsError(f"{name} must be a whole number >= {minimum} (got {value!r})")
    return number
