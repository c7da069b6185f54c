"""Model-call accounting: one :class:`LLMCallRecord` per chat-model call (and per embedding call).

Attach :class:`RecordingCallback` to the chat model at construction; callers say what a call is for in
the run's metadata::

    model.invoke(messages, config={"metadata": {"purpose": "interview", "interview_id": 7}})

A job that counts its own calls names its run there too (``"job_run": "pipeline-12"``, at most 64
characters; the continuous pipeline's call cap counts the calls recorded with it).

Token counts come from the response (``usage_metadata``, else ``llm_output["token_usage"]``); when the
server reports none (llama.cpp's server while streaming) they are estimated at 4 characters per token
and the record says ``estimated=True``. A failing sink is logged and never breaks the model call.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, GenerationChunk, LLMResult

from providers.errors import masked_line

__all__ = ["LLMCallRecord", "RecordingCallback", "RecordingEmbeddings", "estimate_tokens"]

log = logging.getLogger(__name__)

Sink = Callable[["LLMCallRecord"], None]
ID_KEYS = ("interview_id", "participant_id", "deliberation_id")
#: The longest job run name a record keeps (the column's length).
JOB_RUN_CHARS = 64


@dataclass(frozen=True)
class LLMCallRecord:
    """What one model call cost and how it ended (``error`` is ``"ClassName: short message"`` or None)."""

    purpose: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    error: str | None = None
    streamed: bool = False
    estimated: bool = False
    interview_id: int | None = None
    participant_id: int | None = None
    deliberation_id: int | None = None
    job_run: str | None = None


def estimate_tokens(chars: int) -> int:
    """About 4 characters per token, rounded up.

    >>> estimate_tokens(0), estimate_tokens(1), estimate_tokens(400)
    (0, 1, 100)
    """
    return math.ceil(chars / 4)


def error_text(error: BaseException) -> str:
    """``"ClassName: first 200 characters of the message"``."""
    message = masked_line(str(error), 200)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@dataclass
class _Run:
    started: float
    purpose: str
    model: str
    ids: dict[str, int | None]
    prompt_chars: int
    job_run: str | None = None
    streamed: bool = False
    output_chars: int = 0


class RecordingCallback(BaseCallbackHandler):
    """Sends one :class:`LLMCallRecord` to ``sink`` per chat-model call (keyed by ``run_id``; thread-safe)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            meta, params = metadata or {}, invocation_params or {}
            model = meta.get("ls_model_name") or params.get("model") or params.get("model_name") or "unknown"
            run = _Run(
                started=time.perf_counter(),
                purpose=str(meta.get("purpose") or "unspecified"),
                model=str(model),
                ids={key: _as_int(meta.get(key)) for key in ID_KEYS},
                prompt_chars=sum(_message_chars(m) for batch in messages for m in batch),
                job_run=str(meta["job_run"])[:JOB_RUN_CHARS] if meta.get("job_run") else None,
            )
            with self._lock:
                self._runs[run_id] = run
        except Exception:
            log.exception("RecordingCallback could not register a model call")

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.streamed = True
                run.output_chars += len(token)
                message = getattr(chunk, "message", None)
                for call in getattr(message, "tool_call_chunks", None) or ():
                    run.output_chars += len(call.get("args") or "")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        try:
            usage = _usage(response)
            if usage is not None:
                tokens_in, tokens_out, estimated = usage[0], usage[1], False
            else:
                out_chars = max(_output_chars(response), run.output_chars)
                tokens_in, tokens_out = estimate_tokens(run.prompt_chars), estimate_tokens(out_chars)
                estimated = True
            model = _reported_model(response) or run.model
            record = self._record(run, str(model), tokens_in, tokens_out, estimated, None)
        except Exception:
            log.exception("RecordingCallback could not account for a model call")
            return
        self._emit(record)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        partial = run.output_chars > 0  # a stream broke off: the prompt was read and some text written
        tokens_in = estimate_tokens(run.prompt_chars) if partial else 0
        record = self._record(
            run, run.model, tokens_in, estimate_tokens(run.output_chars), partial, error_text(error)
        )
        self._emit(record)

    def _record(
        self, run: _Run, model: str, tokens_in: int, tokens_out: int, estimated: bool, error: str | None
    ) -> LLMCallRecord:
        return LLMCallRecord(
            purpose=run.purpose,
            model=model,
            tokens_in=int(tokens_in),
            tokens_out=int(tokens_out),
            latency_ms=round((time.perf_counter() - run.started) * 1000),
            error=error,
            streamed=run.streamed,
            estimated=estimated,
            job_run=run.job_run,
            **run.ids,
        )

    def _emit(self, record: LLMCallRecord) -> None:
        try:
            self.sink(record)
        except Exception:
            log.exception("The LLM call sink failed; the call itself went through (%s)", record.purpose)


class RecordingEmbeddings(Embeddings):
    """Wraps an :class:`Embeddings` and records each call (``purpose="embedding"``, input tokens
    estimated from characters, ``tokens_out=0``) to ``sink``; errors are recorded, then re-raised.
    """

    def __init__(self, inner: Embeddings, sink: Sink, *, model: str, purpose: str = "embedding") -> None:
        self.inner = inner
        self.sink = sink
        self.model = model
        self.purpose = purpose

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._timed(texts, lambda: self.inner.embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._timed([text], lambda: self.inner.embed_query(text))

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            result = await self.inner.aembed_documents(texts)
        except Exception as exc:
            self._emit(texts, started, exc)
            raise
        self._emit(texts, started, None)
        return result

    async def aembed_query(self, text: str) -> list[float]:
        started = time.perf_counter()
        try:
            result = await self.inner.aembed_query(text)
        except Exception as exc:
            self._emit([text], started, exc)
            raise
        self._emit([text], started, None)
        return result

    def _timed(self, texts: Sequence[str], call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:
            self._emit(texts, started, exc)
            raise
        self._emit(texts, started, None)
        return result

    def _emit(self, texts: Sequence[str], started: float, error: BaseException | None) -> None:
        record = LLMCallRecord(
            purpose=self.purpose,
            model=self.model,
            tokens_in=estimate_tokens(sum(len(t) for t in texts)),
            tokens_out=0,
            latency_ms=round((time.perf_counter() - started) * 1000),
            error=error_text(error) if error is not None else None,
            estimated=True,
        )
        try:
            self.sink(record)
        except Exception:
            log.exception("The LLM call sink failed for an embedding call")


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _message_chars(message: BaseMessage) -> int:
    content = message.content
    chars = len(content) if isinstance(content, str) else len(json.dumps(content, default=str))
    for call in getattr(message, "tool_calls", None) or ():
        chars += len(json.dumps(call.get("args", {}), default=str))
    return chars


def _usage(response: LLMResult) -> tuple[int, int] | None:
    """(input, output) tokens the server reported, summed over generations; None when it reported none."""
    tokens_in = tokens_out = 0
    found = False
    for generation in (g for batch in response.generations for g in batch):
        usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
        if usage:
            tokens_in += usage.get("input_tokens", 0)
            tokens_out += usage.get("output_tokens", 0)
            found = True
    if found:
        return tokens_in, tokens_out
    token_usage = (response.llm_output or {}).get("token_usage") or {}
    if token_usage.get("prompt_tokens") is not None or token_usage.get("completion_tokens") is not None:
        return int(token_usage.get("prompt_tokens") or 0), int(token_usage.get("completion_tokens") or 0)
    return None


def _output_chars(response: LLMResult) -> int:
    chars = 0
    for generation in (g for batch in response.generations for g in batch):
        chars += len(generation.text or "")
        if isinstance(generation, ChatGeneration):
            for call in getattr(generation.message, "tool_calls", None) or ():
                chars += len(json.dumps(call.get("args", {}), default=str))
    return chars


def _reported_model(response: LLMResult) -> str | None:
    """The model name the server put in its answer (it may differ from the one requested)."""
    name = (response.llm_output or {}).get("model_name")
    for generation in (g for batch in response.generations for g in batch):
        if name:
            break
        metadata = getattr(getattr(generation, "message", None), "response_metadata", None) or {}
        name = metadata.get("model_name")
    return str(name) if name else None
