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

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args
from urllib.parse import urlsplit

from errors import StudioError

LlmMode = Literal["auto", "openai", "local", "fake"]
LLM_MODES: tuple[LlmMode, ...] = get_args(LlmMode)
#: The interview prompts' variant; ``auto`` picks by the model's size (``Settings.prompt_style``).
PromptStyleSetting = Literal["auto", "full", "compact"]
PROMPT_STYLES: tuple[PromptStyleSetting, ...] = get_args(PromptStyleSetting)
#: ``PIPELINE``: ``auto`` runs the continuous pipeline after every submitted card; ``off`` only mines its
#: contexts (dedup and stories wait for ``cli.py pipeline ID``).
PipelineMode = Literal["auto", "off"]
PIPELINE_MODES: tuple[PipelineMode, ...] = get_args(PipelineMode)
#: ``PROMPT_STYLE=auto`` gives models below this many billion parameters the compact prompts.
COMPACT_BELOW_B = 1.0
#: A local GGUF file whose name tells no size is small below this many bytes (a 4-bit 1B model: ~0.8 GB).
COMPACT_BELOW_BYTES = 600_000_000
#: A name for a downloaded model (``LOCAL_MODEL``, ``cli.py model pull NAME``): its file is ``NAME.gguf``.
MODEL_NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

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
    llm_reply_max_tokens: int = 120
    participant_token_budget: int = 60_000
    public_base_url: str = "http://localhost:8501"
    local_model_path: Path | None = None
    local_model: str | None = None
    local_model_threads: int = 2
    prompt_style_setting: PromptStyleSetting = "auto"
    db_pool_size: int = 5
    pipeline: PipelineMode = "auto"
    #: Signs facilitator sessions; None: the app makes one key once and keeps it in the database.
    session_secret: str | None = field(default=None, repr=False)
    session_hours: float = 12.0
    #: The app is reached only through a reverse proxy that appends the client's address to
    #: X-Forwarded-For (the sign-in limit then counts per that address).
    trusted_proxy: bool = False
    #: Price per million tokens of each model: name -> (input, output), in the currency the facilitator
    #: reads; empty: the monitor shows tokens only.
    model_prices: dict[str, tuple[float, float]] = field(default_factory=dict)

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
        mode = self.effective_llm_mode
        if mode == "local" and (self.local_model or self.local_model_path):
            return self.local_model or Path(str(self.local_model_path)).stem
        return {"openai": DEFAULT_OPENAI_MODEL, "local": LOCAL_MODEL_NAME, "fake": "scripted-demo"}[mode]

    @property
    def models_dir(self) -> Path:
        """Where ``cli.py model pull`` puts downloaded GGUF files: ``DATA_DIR/models``."""
        return self.data_dir / "models"

    @property
    def local_model_file(self) -> Path | None:
        """The GGUF file the offline server should load: ``LOCAL_MODEL_PATH``, else ``LOCAL_MODEL``'s file
        in :attr:`models_dir`; ``None`` means the bundled SmolLM2 (found by ``providers.local``)."""
        if self.local_model_path is not None:
            return self.local_model_path
        if self.local_model is not None:
            return self.models_dir / f"{self.local_model}.gguf"
        return None

    @property
    def prompt_style(self) -> Literal["full", "compact"]:
        """The interview prompts' variant for this model: ``PROMPT_STYLE``, or with ``auto`` the compact
        prompts for a model below :data:`COMPACT_BELOW_B` billion parameters (the bundled SmolLM2-135M), as
        its name tells (:func:`model_size_b`) or, for a local GGUF file whose name does not, its size on
        disk. The demo model and models of unknown size get the full prompts.
        """
        if self.prompt_style_setting != "auto":
            return self.prompt_style_setting
        mode = self.effective_llm_mode
        if mode == "fake":
            return "full"
        size = model_size_b(self.chat_model_name)
        if size is None and mode == "local" and self.local_model_file is not None:
            try:
                return "compact" if self.local_model_file.stat().st_size < COMPACT_BELOW_BYTES else "full"
            except OSError:
                return "full"
        return "compact" if size is not None and size < COMPACT_BELOW_B else "full"

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
    local_model = raw("LOCAL_MODEL")
    if local_model is not None:
        if not MODEL_NAME_RULE.fullmatch(local_model):
            raise SettingsError(
                "LOCAL_MODEL must be a model name such as qwen2.5-1.5b-instruct: letters, digits, '.', '-' "
                f"or '_' (got {_shown(local_model)})"
            )
        if local_model_path is not None:
            raise SettingsError("LOCAL_MODEL and LOCAL_MODEL_PATH name two model files: set only one")
    prompt_style = (raw("PROMPT_STYLE") or "auto").lower()
    if not _is_prompt_style(prompt_style):
        raise SettingsError(
            f"PROMPT_STYLE must be one of {', '.join(PROMPT_STYLES)} (got {_shown(prompt_style)})"
        )

    pipeline = (raw("PIPELINE") or "auto").lower()
    if not _is_pipeline_mode(pipeline):
        raise SettingsError(f"PIPELINE must be one of {', '.join(PIPELINE_MODES)} (got {_shown(pipeline)})")

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
        llm_reply_max_tokens=_count(raw("LLM_REPLY_MAX_TOKENS"), "LLM_REPLY_MAX_TOKENS", 120),
        participant_token_budget=_count(raw("PARTICIPANT_TOKEN_BUDGET"), "PARTICIPANT_TOKEN_BUDGET", 60_000),
        public_base_url=public_base_url,
        local_model_path=Path(local_model_path) if local_model_path else None,
        local_model=local_model,
        local_model_threads=_count(raw("LOCAL_MODEL_THREADS"), "LOCAL_MODEL_THREADS", 2),
        prompt_style_setting=prompt_style,
        db_pool_size=_count(raw("DB_POOL_SIZE"), "DB_POOL_SIZE", 5),
        pipeline=pipeline,
        session_secret=_session_secret(raw("SESSION_SECRET")),
        session_hours=_session_hours(raw("SESSION_HOURS")),
        trusted_proxy=_flag(raw("TRUSTED_PROXY"), "TRUSTED_PROXY"),
        model_prices=_model_prices(raw("MODEL_PRICES")),
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


def _is_pipeline_mode(value: str) -> TypeGuard[PipelineMode]:
    return value in PIPELINE_MODES


def _is_prompt_style(value: str) -> TypeGuard[PromptStyleSetting]:
    return value in PROMPT_STYLES


_SIZE_IN_NAME = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z0-9])", re.IGNORECASE)


def model_size_b(name: str) -> float | None:
    """A model's size in billions of parameters, as its name tells (``None`` when it does not).

    >>> [model_size_b(n) for n in ("SmolLM2-135M-Instruct", "qwen2.5-1.5b-instruct", "llama3.2:3b")]
    [0.135, 1.5, 3.0]
    >>> [model_size_b(n) for n in ("gpt-4o-mini", "llama3.2", "Mistral-7B-Instruct-v0.3")]
    [None, None, 7.0]
    """
    match = _SIZE_IN_NAME.search(name)
    if match is None:
        return None
    number = float(match[1])
    return number / 1000 if match[2].lower() == "m" else number


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


def _model_prices(value: str | None) -> dict[str, tuple[float, float]]:
    """``MODEL_PRICES``: a JSON object of model name -> [input, output] price per million tokens.

    >>> _model_prices('{"gpt-4o": [2.5, 10]}')
    {'gpt-4o': (2.5, 10.0)}
    >>> _model_prices(None)
    {}
    """
    if value is None:
        return {}
    example = 'such as {"gpt-4o": [2.5, 10]} (input and output price per million tokens)'
    try:
        data = json.loads(value)
    except ValueError:
        raise SettingsError(f"MODEL_PRICES must be a JSON object {example}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"MODEL_PRICES must be a JSON object {example}")
    prices: dict[str, tuple[float, float]] = {}
    for name, pair in data.items():
        ok = isinstance(pair, list) and len(pair) == 2
        ok = ok and all(isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p < 1e6 for p in pair)
        if not ok:
            raise SettingsError(f"MODEL_PRICES[{_shown(str(name))}] must be [input, output] prices {example}")
        prices[str(name)] = (float(pair[0]), float(pair[1]))
    return prices


#: The shortest SESSION_SECRET, and the longest sign-in (SESSION_HOURS: 90 days).
SESSION_SECRET_MIN = 32
SESSION_HOURS_MAX = 24 * 90


def _session_secret(value: str | None) -> str | None:
    if value is not None and len(value) < SESSION_SECRET_MIN:
        raise SettingsError(
            f"SESSION_SECRET must be at least {SESSION_SECRET_MIN} characters long (got {len(value)}): "
            "make one with python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return value


def _session_hours(value: str | None) -> float:
    hours = _positive_float(value, "SESSION_HOURS", 12.0, unit="hours")
    if hours > SESSION_HOURS_MAX:
        raise SettingsError(f"SESSION_HOURS must be at most {SESSION_HOURS_MAX} (90 days; got {value!r})")
    return hours


def _flag(value: str | None, name: str) -> bool:
    """A yes/no variable: 1, true, yes, on or 0, false, no, off (case ignored); unset: no."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 (yes) or 0 (no) (got {_shown(value)})")


def _positive_float(value: str | None, name: str, default: float, *, unit: str = "seconds") -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise SettingsError(f"{name} must be a positive number of {unit} (got {value!r})")
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
