"""One factory for the chat model: any OpenAI-compatible endpoint, the bundled offline model, or the demo.

>>> from settings import load_settings
>>> model = make_chat_model(load_settings(environ={"LLM_MODE": "fake"}, secrets={}))
>>> type(model).__name__, model.model_name
('DemoChatModel', 'scripted-demo')

Errors leave the model as :class:`providers.errors.ModelError` subclasses, after the ``openai`` SDK's
own retries (it retries 408, 409, 429, 5xx and connection errors ``LLM_MAX_RETRIES`` times with
exponential backoff, honouring ``retry-after`` headers).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from providers.errors import ModelError, as_model_error
from providers.structured import strict_structured_output
from settings import Settings

__all__ = ["EndpointChatModel", "make_chat_model"]

NO_KEY = "not-needed"
OPENAI_API_BASE = "https://api.openai.com/v1"


class EndpointChatModel(ChatOpenAI):
    """``ChatOpenAI`` whose failures are :class:`~providers.errors.ModelError` and whose structured output
    uses function calling (llama.cpp's server rejects ``response_format`` json_schema; tools work
    everywhere).
    """

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        """The request, with a per-call ``max_tokens`` (a chat turn's cap, ``LLM_REPLY_MAX_TOKENS``) also
        in the ``extra_body`` copy that servers reading only ``max_tokens`` (llama.cpp) are sent."""
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        extra = payload.get("extra_body")
        cap = payload.get("max_completion_tokens")
        if isinstance(extra, dict) and "max_tokens" in extra and cap is not None:
            payload["extra_body"] = {**extra, "max_tokens": cap}
        return payload

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with _model_errors():
            return super()._generate(*args, **kwargs)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with _model_errors():
            return await super()._agenerate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with _model_errors():
            yield from super()._stream(*args, **kwargs)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        with _model_errors():
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk

    def with_structured_output(
        self,
        schema: Any = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable:
        """Like ``ChatOpenAI.with_structured_output`` but defaulting to function calling, and raising
        :class:`~providers.errors.ModelOutputError` when the answer is missing, malformed or invalid.
        """
        raw_chain = super().with_structured_output(schema, method=method, include_raw=True, **kwargs)
        return raw_chain if include_raw else strict_structured_output(raw_chain, schema)


@contextlib.contextmanager
def _model_errors() -> Iterator[None]:
    """Re-raise model and transport failures as :class:`ModelError`; anything else unchanged."""
    try:
        yield
    except ModelError:
        raise
    except Exception as exc:
        err = as_model_error(exc)
        if err is None:
            raise
        raise err from exc


def make_chat_model(
    settings: Settings,
    *,
    http_client: Any | None = None,
    http_async_client: Any | None = None,
    callbacks: list[BaseCallbackHandler] | None = None,
) -> BaseChatModel:
    """The chat model ``settings`` ask for; build it once and never mutate it.

    - ``openai``: an :class:`EndpointChatModel` on ``LLM_BASE_URL`` / ``LLM_API_KEY``.
    - ``local``: starts (or reuses) the bundled offline server and points an :class:`EndpointChatModel`
      at it; raises :class:`~providers.errors.ModelUnavailable` when it cannot start.
    - ``fake``: the scripted :class:`~providers.fakes.DemoChatModel`.

    ``http_client`` / ``http_async_client`` (an ``httpx.Client`` / ``httpx.AsyncClient``, or their
    ``httpx2`` twins) replace the network, e.g. with ``httpx.MockTransport`` in tests. ``callbacks`` are
    attached at construction (see :class:`providers.accounting.RecordingCallback`).
    """
    mode = settings.effective_llm_mode
    if mode == "fake":
        from providers.fakes import DemoChatModel

        return DemoChatModel(callbacks=callbacks)
    if mode == "local":
        from providers.local import ensure_local_server

        server = ensure_local_server(settings)
        base_url, api_key, openai_host = server.base_url, NO_KEY, False
    else:
        base_url = settings.llm_base_url or OPENAI_API_BASE
        api_key = settings.llm_api_key or NO_KEY
        openai_host = settings.is_openai_host
    extra: dict[str, Any] = {}
    if not openai_host:
        # langchain-openai sends max_tokens as max_completion_tokens, which llama.cpp's server ignores.
        extra["extra_body"] = {"max_tokens": settings.llm_max_tokens}
    return EndpointChatModel(
        model=settings.chat_model_name,
        base_url=base_url,
        api_key=SecretStr(api_key),
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        max_completion_tokens=settings.llm_max_tokens,  # the alias of the max_tokens field
        stream_usage=True,
        http_client=http_client,
        http_async_client=http_async_client,
        callbacks=callbacks,
        **extra,
    )
