"""make_chat_model over httpx.MockTransport: a real ChatOpenAI stack with only the network faked."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import BaseModel, Field

from providers.chat import EndpointChatModel, make_chat_model
from providers.errors import (
    ModelAuthError,
    ModelBadRequest,
    ModelOutputError,
    ModelRateLimited,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
)
from providers.fakes import (
    DemoChatModel,
    chat_completion,
    chat_completion_sse,
    error_response,
    tool_call,
    truncated_stream,
)


class Card(BaseModel):
    """A small bounded schema, like the ones the interview features ask for."""

    title: str = Field(min_length=1, max_length=40)
    tags: list[str] = Field(min_length=1, max_length=3)


def test_plain_call(endpoint_model):
    model, endpoint = endpoint_model("Hello there.", LLM_API_KEY="sk-test-key")
    assert isinstance(model, EndpointChatModel)
    reply = model.invoke("hi")
    assert reply.content == "Hello there."
    assert reply.usage_metadata["input_tokens"] == 10
    request = endpoint.requests[0]
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-key"
    assert endpoint.bodies[0]["model"] == "test-model"
    assert endpoint.bodies[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_base_url_without_key_sends_placeholder_key(endpoint_model):
    model, endpoint = endpoint_model("ok")
    model.invoke("hi")
    assert endpoint.requests[0].headers["authorization"] == "Bearer not-needed"


def test_settings_reach_the_client(make_settings):
    settings = make_settings(LLM_TIMEOUT_S="12.5", LLM_MAX_RETRIES="4")
    model = make_chat_model(settings)
    assert (model.request_timeout, model.max_retries, model.max_tokens) == (12.5, 4, 321)
    assert model.stream_usage is True


def test_streaming_chunks_arrive_with_usage(endpoint_model):
    model, endpoint = endpoint_model("One streamed reply, in pieces.")
    chunks = list(model.stream("hi"))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 3
    assert "".join(texts) == "One streamed reply, in pieces."
    total = sum(chunks[1:], chunks[0])
    assert total.usage_metadata["input_tokens"] == 10
    assert total.usage_metadata["output_tokens"] == 5
    assert endpoint.bodies[0]["stream"] is True
    assert endpoint.bodies[0]["stream_options"] == {"include_usage": True}


def _finish_reasons(chunks: list) -> list:
    return [r for c in chunks if (r := c.response_metadata.get("finish_reason"))]


def test_a_stream_says_how_it_ended(endpoint_model):
    """The finish reason reaches the chunks; a server that closes the stream early sends none."""
    model, _ = endpoint_model(
        "A whole reply.",
        truncated_stream("Half a sen"),
        truncated_stream("Long answer", finish_reason="length"),
    )
    assert _finish_reasons(list(model.stream("a"))) == ["stop"]
    cut = list(model.stream("b"))
    assert "".join(c.content for c in cut) == "Half a sen" and _finish_reasons(cut) == []
    assert _finish_reasons(list(model.stream("c"))) == ["length"]


def test_a_stream_body_cut_short_has_no_end():
    body = chat_completion_sse(["Hel", "lo"], cut_short=True).decode()
    assert '"finish_reason": "stop"' not in body and "[DONE]" not in body and '"usage"' not in body
    whole = chat_completion_sse(["Hel", "lo"], finish_reason="length").decode()
    assert '"finish_reason": "length"' in whole and whole.endswith("data: [DONE]\n\n")


def test_structured_output_uses_function_calling(endpoint_model):
    model, endpoint = endpoint_model({"title": "Honesty at work", "tags": ["candour", "care"]})
    card = model.with_structured_output(Card).invoke("make a card")
    assert card == Card(title="Honesty at work", tags=["candour", "care"])
    body = endpoint.bodies[0]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Card"}}
    assert body["tools"][0]["function"]["parameters"]["properties"]["tags"]["maxItems"] == 3
    assert "response_format" not in body


def test_structured_output_include_raw(endpoint_model):
    model, _ = endpoint_model({"title": "T", "tags": ["a"]})
    result = model.with_structured_output(Card, include_raw=True).invoke("x")
    assert result["parsed"] == Card(title="T", tags=["a"])
    assert result["raw"].tool_calls[0]["name"] == "Card"


def test_max_tokens_also_in_body_for_other_hosts(endpoint_model):
    model, endpoint = endpoint_model("ok", "ok")
    model.invoke("hi")
    list(model.stream("hi"))
    for body in endpoint.bodies:
        assert body["max_tokens"] == 321  # llama.cpp's server reads only this one
        assert body["max_completion_tokens"] == 321


@pytest.mark.parametrize("base_url", [None, "https://api.openai.com/v1"])
def test_max_tokens_absent_for_openai(endpoint_model, base_url):
    model, endpoint = endpoint_model("ok", LLM_BASE_URL=base_url, LLM_API_KEY="sk-test", LLM_MODEL=None)
    model.invoke("hi")
    body = endpoint.bodies[0]
    assert "max_tokens" not in body
    assert body["max_completion_tokens"] == 321
    assert body["model"] == "gpt-4o-mini"
    assert endpoint.requests[0].url.host == "api.openai.com"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_then_succeeds(endpoint_model, records, status):
    model, endpoint = endpoint_model(status, "recovered")
    assert model.invoke("hi").content == "recovered"
    assert len(endpoint.requests) == 2
    assert [r.error for r in records] == [None]


def test_retries_a_stream_that_fails_to_start(endpoint_model):
    model, endpoint = endpoint_model(500, "streamed after all")
    assert "".join(c.content for c in model.stream("hi")) == "streamed after all"
    assert len(endpoint.requests) == 2


def test_persistent_500_is_server_error(endpoint_model, records):
    model, endpoint = endpoint_model(500, repeat_last=True)
    with pytest.raises(ModelServerError) as caught:
        model.invoke("hi")
    assert len(endpoint.requests) == 3  # the first try and LLM_MAX_RETRIES=2 retries
    assert caught.value.status_code == 500
    assert "HTTP 500" in str(caught.value)
    assert records[0].error.startswith("ModelServerError: ")


def test_persistent_429_is_rate_limited(endpoint_model):
    model, endpoint = endpoint_model(429, repeat_last=True, LLM_MAX_RETRIES="1")
    with pytest.raises(ModelRateLimited):
        model.invoke("hi")
    assert len(endpoint.requests) == 2


def test_read_timeout_is_model_timeout(endpoint_model):
    model, endpoint = endpoint_model(httpx.ReadTimeout("too slow"), repeat_last=True, LLM_MAX_RETRIES="0")
    with pytest.raises(ModelTimeout) as caught:
        model.invoke("hi")
    assert caught.value.setting == "LLM_TIMEOUT_S"
    assert "LLM_TIMEOUT_S" in str(caught.value)


def test_unauthorized_is_auth_error_naming_the_key_setting(endpoint_model):
    response = error_response(401, "Incorrect API key provided: sk-live-abcdef0123456789.")
    model, _ = endpoint_model(response, LLM_API_KEY="sk-live-abcdef0123456789")
    with pytest.raises(ModelAuthError) as caught:
        model.invoke("hi")
    message = str(caught.value)
    assert "LLM_API_KEY" in message
    assert "abcdef0123456789" not in message
    assert "\n" not in message


def test_connect_error_is_unavailable_naming_the_base_url(endpoint_model):
    model, _ = endpoint_model(
        httpx.ConnectError("[Errno 111] Connection refused"), repeat_last=True, LLM_MAX_RETRIES="0"
    )
    with pytest.raises(ModelUnavailable) as caught:
        model.invoke("hi")
    assert caught.value.setting == "LLM_BASE_URL"
    assert "LLM_BASE_URL" in str(caught.value)
    assert "Connection refused" in str(caught.value)


def test_unknown_model_is_bad_request_naming_the_model_setting(endpoint_model):
    model, _ = endpoint_model(error_response(404, "model 'nope' not found"))
    with pytest.raises(ModelBadRequest) as caught:
        model.invoke("hi")
    assert "LLM_MODEL" in str(caught.value)
    assert "model 'nope' not found" in str(caught.value)


def test_errors_while_streaming_are_translated(endpoint_model):
    model, _ = endpoint_model(error_response(403, "no access"))
    with pytest.raises(ModelAuthError):
        list(model.stream("hi"))


def test_malformed_tool_call_arguments_are_output_errors(endpoint_model):
    broken = httpx.Response(200, json=chat_completion("", tool_calls=[tool_call("Card", '{"title": "Hon')]))
    model, _ = endpoint_model(broken)
    with pytest.raises(ModelOutputError) as caught:
        model.with_structured_output(Card).invoke("make a card")
    assert caught.value.raw is not None


def test_invalid_fields_are_output_errors(endpoint_model):
    model, _ = endpoint_model({"title": "x" * 80, "tags": []})
    with pytest.raises(ModelOutputError) as caught:
        model.with_structured_output(Card).invoke("make a card")
    assert "title" in str(caught.value) and "tags" in str(caught.value)


def test_a_reply_without_the_tool_call_is_an_output_error(endpoint_model):
    model, _ = endpoint_model("I would rather chat.")
    with pytest.raises(ModelOutputError, match="without filling in the Card structure"):
        model.with_structured_output(Card).invoke("make a card")


def test_async_calls_and_errors(endpoint_model):
    model, endpoint = endpoint_model("async reply", "async stream", 401)

    async def run() -> tuple[str, str]:
        reply = await model.ainvoke("hi")
        streamed = "".join([c.content async for c in model.astream("hi")])
        with pytest.raises(ModelAuthError):
            await model.ainvoke("hi")
        return reply.content, streamed

    assert asyncio.run(run()) == ("async reply", "async stream")
    assert len(endpoint.requests) == 3


def test_fake_mode_is_the_demo(make_settings):
    model = make_chat_model(make_settings(LLM_MODE="fake", LLM_MODEL=None))
    assert isinstance(model, DemoChatModel)
    assert "demo" in model.model_name


def test_callbacks_are_attached_at_construction(endpoint_model, records):
    model, _ = endpoint_model("ok")
    model.invoke("hi", config={"metadata": {"purpose": "health_check"}})
    assert [r.purpose for r in records] == ["health_check"]
