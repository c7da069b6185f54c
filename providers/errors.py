"""Errors a language-model endpoint can cause, in words a facilitator can act on.

Every failure that leaves :mod:`providers` is one of these (after the SDK's own retries)::

    ModelError                  base class; ``setting`` names the variable to fix (or None)
    ├── ModelUnavailable        cannot connect / DNS / the bundled local server failed to start   LLM_BASE_URL
    ├── ModelAuthError          HTTP 401 / 403                                                   LLM_API_KEY
    ├── ModelTimeout            no answer within the time limit (or HTTP 408)                    LLM_TIMEOUT_S
    ├── ModelRateLimited        HTTP 429, still after retries
    ├── ModelServerError        HTTP 5xx, still after retries, or a reply that is not an API answer
    ├── ModelBadRequest         HTTP 400 / 404 / 422, e.g. an unknown model                        LLM_MODEL
    └── ModelOutputError        the reply broke the requested structure (bad tool-call JSON, invalid fields)

``str(exc)`` is one line meant for a user's screen; it never contains an API key.
:func:`as_model_error` is the only place that knows the exception types of the ``openai`` SDK and of
``httpx``.

>>> err = ModelAuthError("The model endpoint rejected the API key (HTTP 401).", status_code=401)
>>> err.setting, str(err)
('LLM_API_KEY', 'The model endpoint rejected the API key (HTTP 401). Check LLM_API_KEY.')
>>> isinstance(as_model_error(ConnectionRefusedError(111, "Connection refused")), ModelUnavailable)
True
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, ClassVar

from errors import StudioError

__all__ = [
    "ModelAuthError",
    "ModelBadRequest",
    "ModelError",
    "ModelOutputError",
    "ModelRateLimited",
    "ModelServerError",
    "ModelTimeout",
    "ModelUnavailable",
    "as_model_error",
    "describe_output_error",
    "masked_line",
]

_MAX_DETAIL = 240
_SECRET_PATTERNS = (
    re.compile(r"\b(sk|pk|rk|ak)-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.=]{6,}"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]{4,}"),
)


class ModelError(StudioError):
    """The language model could not answer; ``str()`` is one line for a user screen.

    ``setting`` is the environment variable a user should look at (``None`` when no setting helps),
    ``status_code`` the HTTP status when the endpoint answered with one.
    """

    default_setting: ClassVar[str | None] = None

    def __init__(self, message: str, *, setting: str | None = None, status_code: int | None = None) -> None:
        self.message = masked_line(message)
        self.setting = setting if setting is not None else self.default_setting
        self.status_code = status_code
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.setting and self.setting not in self.message:
            return f"{self.message} Check {self.setting}."
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:  # keep keyword-only attributes through pickling
        return (_rebuild, (type(self), self.message, self.setting, self.status_code))


def _rebuild(cls: type[ModelError], message: str, setting: str | None, status: int | None) -> ModelError:
    return cls(message, setting=setting, status_code=status)


class ModelUnavailable(ModelError):
    """The endpoint cannot be reached (refused, DNS, TLS) or the bundled local server failed to start."""

    default_setting = "LLM_BASE_URL"


class ModelAuthError(ModelError):
    """The endpoint rejected the credentials (HTTP 401) or refused access (HTTP 403)."""

    default_setting = "LLM_API_KEY"


class ModelTimeout(ModelError):
    """No answer (or no next chunk of a streamed answer) within ``LLM_TIMEOUT_S``."""

    default_setting = "LLM_TIMEOUT_S"


class ModelRateLimited(ModelError):
    """HTTP 429 still after the SDK's retries: too many requests or the quota is spent."""


class ModelServerError(ModelError):
    """HTTP 5xx still after the SDK's retries, or an answer that is not an OpenAI-style response."""


class ModelBadRequest(ModelError):
    """HTTP 400 / 404 / 422: the endpoint refused the request, most often an unknown model name."""

    default_setting = "LLM_MODEL"


class ModelOutputError(ModelError):
    """The model answered, but not in the requested structure (malformed tool-call JSON, invalid fields).

    ``raw`` is the model's message when it is known (useful for a repair prompt), else ``None``.
    """

    raw: Any = None


def masked_line(text: str, limit: int = 400) -> str:
    """``text`` with whitespace collapsed to single spaces, likely secrets masked, cut to ``limit`` chars.

    >>> masked_line("Incorrect API key provided: sk-proj-abcdef123456.\\n  Try again")
    'Incorrect API key provided: sk-***. Try again'
    """
    flat = " ".join(str(text).split())
    flat = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}-***", flat)
    for pattern in _SECRET_PATTERNS[1:]:
        flat = pattern.sub(lambda m: f"{m.group(1)}***", flat)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def as_model_error(exc: BaseException) -> ModelError | None:
    """The :class:`ModelError` that ``exc`` means, or ``None`` when it is not a model failure.

    Understands the ``openai`` SDK's exceptions (and LangChain's subclasses of them), ``httpx`` and
    ``httpx2`` transport errors, plain socket errors, and output-parsing failures (LangChain's
    ``OutputParserException``, pydantic's ``ValidationError``, ``json.JSONDecodeError``).
    A :class:`ModelError` is returned unchanged.
    """
    if isinstance(exc, ModelError):
        return exc
    for mapper in (_from_openai, _from_httpx, _from_output, _from_langchain, _from_os):
        err = mapper(exc)
        if err is not None:
            return err
    return None


# --- openai SDK -------------------------------------------------------------------------------------------


def _from_openai(exc: BaseException) -> ModelError | None:
    import openai

    if not isinstance(exc, openai.OpenAIError):
        return None
    if isinstance(exc, openai.APITimeoutError):
        return ModelTimeout("The model endpoint did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        cause = _root_cause(exc)
        detail = f" ({_detail(cause)})" if cause is not exc and _detail(cause) else ""
        return ModelUnavailable(f"The model endpoint could not be reached{detail}.")
    if isinstance(exc, openai.APIResponseValidationError):
        return ModelServerError(
            "The model endpoint answered with something that is not an OpenAI-compatible response.",
            setting="LLM_BASE_URL",
            status_code=getattr(exc, "status_code", None),
        )
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc.status_code, _api_message(exc))
    if isinstance(exc, openai.LengthFinishReasonError | openai.ContentFilterFinishReasonError):
        return ModelOutputError(f"The model stopped before finishing its answer: {_detail(exc)}")
    if isinstance(exc, openai.APIError):
        return ModelServerError(f"The model endpoint reported an error: {_detail(exc)}")
    return None


def _api_message(exc: Any) -> str:
    """The server's own error message from an APIStatusError (``error.message`` in the JSON body)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("detail"):
            return json.dumps(body["detail"]) if not isinstance(body["detail"], str) else body["detail"]
    return str(getattr(exc, "message", "") or "")


def _from_status(status: int, server_message: str) -> ModelError:
    said = f": {masked_line(server_message, _MAX_DETAIL)}" if server_message.strip() else "."
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return ModelAuthError(f"The model endpoint {what} (HTTP {status}){said}", status_code=status)
    if status == 429:
        return ModelRateLimited(
            f"The model endpoint is rate limiting requests (HTTP 429), still after retries{said}",
            status_code=status,
        )
    if status == 408:
        return ModelTimeout(f"The model endpoint timed out (HTTP 408){said}", status_code=status)
    if status >= 500:
        return ModelServerError(
            f"The model endpoint failed (HTTP {status}), still after retries{said}", status_code=status
        )
    if status in (400, 404, 422):
        if status == 404 and not server_message.strip():
            said = " (is LLM_BASE_URL the API root, usually ending in /v1?)."
        return ModelBadRequest(
            f"The model endpoint refused the request (HTTP {status}){said}", status_code=status
        )
    return ModelBadRequest(
        f"The model endpoint refused the request (HTTP {status}){said}",
        setting="LLM_BASE_URL",
        status_code=status,
    )


# --- httpx / httpx2 / sockets -----------------------------------------------------------------------------


def _httpx_modules() -> list[Any]:
    return [sys.modules[name] for name in ("httpx", "httpx2") if name in sys.modules]


def _from_httpx(exc: BaseException) -> ModelError | None:
    for httpx in _httpx_modules():
        if isinstance(exc, httpx.TimeoutException):
            return ModelTimeout("The model endpoint did not answer in time.")
        if isinstance(exc, httpx.HTTPStatusError):
            return _from_status(exc.response.status_code, exc.response.text[:_MAX_DETAIL])
        if isinstance(exc, httpx.TransportError):
            return ModelUnavailable(f"The model endpoint could not be reached ({_detail(exc)}).")
    return None


def _from_os(exc: BaseException) -> ModelError | None:
    import socket

    if isinstance(exc, TimeoutError):
        return ModelTimeout("The model endpoint did not answer in time.")
    if isinstance(exc, ConnectionError | socket.gaierror):
        return ModelUnavailable(f"The model endpoint could not be reached ({_detail(exc)}).")
    return None


# --- structured output ------------------------------------------------------------------------------------


def _from_output(exc: BaseException) -> ModelError | None:
    from langchain_core.exceptions import OutputParserException
    from pydantic import ValidationError

    if isinstance(exc, OutputParserException | ValidationError | json.JSONDecodeError):
        return ModelOutputError(
            f"The model's answer did not match the requested structure: {describe_output_error(exc)}"
        )
    return None


def describe_output_error(exc: BaseException) -> str:
    """A short account of a parsing failure; pydantic errors become ``field: problem; ...``.

    >>> from pydantic import BaseModel, Field, ValidationError
    >>> class Card(BaseModel):
    ...     title: str = Field(max_length=3)
    >>> try:
    ...     Card(title="too long")
    ... except ValidationError as exc:
    ...     describe_output_error(exc)
    'title: String should have at most 3 characters'
    """
    from pydantic import ValidationError

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ValidationError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ValidationError):
        problems = []
        for error in cause.errors()[:5]:
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
        return masked_line("; ".join(problems), _MAX_DETAIL)
    return _detail(exc)


def _from_langchain(exc: BaseException) -> ModelError | None:
    """LangChain's provider-neutral model errors (other integrations raise these)."""
    from langchain_core import exceptions as lc

    if not isinstance(exc, lc.ModelError):
        return None
    detail = _detail(exc)
    table: list[tuple[type[BaseException], type[ModelError], str]] = [
        (lc.ModelAuthenticationError, ModelAuthError, "The model endpoint rejected the API key"),
        (lc.ModelPermissionDeniedError, ModelAuthError, "The model endpoint refused access"),
        (lc.ModelTimeoutError, ModelTimeout, "The model endpoint did not answer in time"),
        (lc.ModelConnectionError, ModelUnavailable, "The model endpoint could not be reached"),
        (lc.ModelRateLimitError, ModelRateLimited, "The model endpoint is rate limiting requests"),
        (lc.ModelAPIError, ModelServerError, "The model endpoint failed"),
        (lc.ModelNotFoundError, ModelBadRequest, "The model endpoint does not know this model"),
        (lc.ContextOverflowError, ModelBadRequest, "The conversation is too long for the model"),
        (lc.ModelInvalidRequestError, ModelBadRequest, "The model endpoint refused the request"),
    ]
    for lc_type, ours, text in table:
        if isinstance(exc, lc_type):
            return ours(f"{text}: {detail}" if detail else f"{text}.")
    return ModelServerError(f"The model failed: {detail}")


# --- helpers ----------------------------------------------------------------------------------------------


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (cause := exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = cause
    return exc


def _detail(exc: BaseException) -> str:
    text = masked_line(str(exc), _MAX_DETAIL)
    return text or type(exc).__name__
