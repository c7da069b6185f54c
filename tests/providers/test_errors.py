"""as_model_error: SDK, transport and parsing failures map onto the ModelError tree."""

from __future__ import annotations

import json
import pickle

import httpx
import httpx2
import openai
import pytest
from pydantic import BaseModel, ValidationError

from providers.errors import (
    ModelAuthError,
    ModelBadRequest,
    ModelError,
    ModelOutputError,
    ModelRateLimited,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
    as_model_error,
    masked_line,
)

REQUEST = httpx2.Request("POST", "http://llm.test/v1/chat/completions")


SDK_CLASSES = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def status_error(status: int, message: str = "went wrong") -> openai.APIStatusError:
    """The exception the SDK raises for ``status`` (after its retries)."""
    body = {"error": {"message": message}}
    response = httpx2.Response(status, json=body, request=REQUEST)
    kind = SDK_CLASSES.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return kind(message, response=response, body=body)


@pytest.mark.parametrize(
    ("status", "kind", "setting"),
    [
        (400, ModelBadRequest, "LLM_MODEL"),
        (401, ModelAuthError, "LLM_API_KEY"),
        (403, ModelAuthError, "LLM_API_KEY"),
        (404, ModelBadRequest, "LLM_MODEL"),
        (408, ModelTimeout, "LLM_TIMEOUT_S"),
        (409, ModelBadRequest, "LLM_BASE_URL"),
        (422, ModelBadRequest, "LLM_MODEL"),
        (429, ModelRateLimited, None),
        (500, ModelServerError, None),
        (502, ModelServerError, None),
    ],
)
def test_status_codes(status, kind, setting):
    err = as_model_error(status_error(status, "the server's words"))
    assert type(err) is kind
    assert err.setting == setting
    assert err.status_code == status
    assert "the server's words" in str(err)
    if setting:
        assert str(err).endswith(f"Check {setting}.")


def test_sdk_connection_and_timeout_errors():
    assert isinstance(as_model_error(openai.APITimeoutError(request=REQUEST)), ModelTimeout)
    try:
        try:
            raise httpx2.ConnectError("[Errno -2] Name or service not known")
        except httpx2.ConnectError as exc:
            raise openai.APIConnectionError(request=REQUEST) from exc
    except openai.APIConnectionError as exc:
        err = as_model_error(exc)
    assert isinstance(err, ModelUnavailable)
    assert "Name or service not known" in str(err)


@pytest.mark.parametrize("module", [httpx, httpx2])
def test_transport_errors_of_both_httpx_generations(module):
    assert isinstance(as_model_error(module.ReadTimeout("slow")), ModelTimeout)
    assert isinstance(as_model_error(module.ConnectTimeout("slow")), ModelTimeout)
    assert isinstance(as_model_error(module.ConnectError("refused")), ModelUnavailable)
    assert isinstance(as_model_error(module.RemoteProtocolError("peer closed")), ModelUnavailable)


def test_plain_socket_errors():
    assert isinstance(as_model_error(ConnectionRefusedError(111, "Connection refused")), ModelUnavailable)
    assert isinstance(as_model_error(TimeoutError()), ModelTimeout)


def test_parsing_failures_are_output_errors():
    class Small(BaseModel):
        n: int

    with pytest.raises(ValidationError) as caught:
        Small(n="many")
    err = as_model_error(caught.value)
    assert isinstance(err, ModelOutputError)
    assert "n: Input should be a valid integer" in str(err)
    assert isinstance(as_model_error(json.JSONDecodeError("Expecting value", "{", 1)), ModelOutputError)


def test_langchain_provider_neutral_errors():
    from langchain_core import exceptions as lc

    assert isinstance(as_model_error(lc.ModelRateLimitError("slow down")), ModelRateLimited)
    assert isinstance(as_model_error(lc.ContextOverflowError("too long")), ModelBadRequest)


def test_unrelated_errors_are_not_model_errors():
    assert as_model_error(ValueError("a bug")) is None
    assert as_model_error(KeyError("x")) is None


def test_model_errors_pass_through_unchanged():
    err = ModelTimeout("slow")
    assert as_model_error(err) is err


def test_messages_are_one_line_without_keys():
    err = ModelAuthError("bad key sk-abcdefghijklmnop\n  and Bearer abcdefghijk and api_key=supersecret1")
    text = str(err)
    assert "\n" not in text
    for secret in ("abcdefghijklmnop", "abcdefghijk", "supersecret1"):
        assert secret not in text
    assert masked_line("a\n\n b", 80) == "a b"
    assert len(masked_line("x" * 1000)) == 400


def test_model_errors_pickle():
    err = pickle.loads(pickle.dumps(ModelServerError("boom", status_code=502)))
    assert (type(err), err.status_code, str(err)) == (ModelServerError, 502, "boom")
    assert isinstance(err, ModelError)
