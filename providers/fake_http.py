"""Fake the network, not the SDK: OpenAI-style responses for ``httpx.MockTransport`` (httpx style).

Put a real :class:`~providers.chat.EndpointChatModel` (or ``ChatOpenAI``) in front of a
:class:`FakeEndpoint` and every layer below LangChain runs for real: request building, retries, SSE
parsing, usage accounting.

>>> endpoint = FakeEndpoint("Hello!")
>>> import httpx
>>> with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
...     reply = client.post("http://fake/v1/chat/completions", json={"model": "m", "messages": []})
>>> reply.json()["choices"][0]["message"]["content"], len(endpoint.bodies)
('Hello!', 1)
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

__all__ = [
    "FakeEndpoint",
    "chat_completion",
    "chat_completion_sse",
    "embeddings_response",
    "error_response",
    "sse_response",
    "tool_call",
    "truncated_stream",
]

_CREATED = 1_700_000_000


def tool_call(name: str, arguments: dict[str, Any] | str, *, call_id: str = "call_1") -> dict[str, Any]:
    """One OpenAI ``tool_calls`` entry; ``arguments`` may be a dict or a raw (even malformed) string."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def chat_completion(
    content: str | None = "",
    *,
    tool_calls: Sequence[dict[str, Any]] | None = None,
    model: str = "test-model",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` JSON body with one choice and a ``usage`` block."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def chat_completion_sse(
    pieces: Iterable[str] = (),
    *,
    tool_calls: Sequence[dict[str, Any]] | None = None,
    model: str = "test-model",
    usage: tuple[int, int] | None = (10, 5),
    finish_reason: str | None = None,
    cut_short: bool = False,
) -> bytes:
    """A streamed ``chat.completion.chunk`` body: one chunk per piece, a finish chunk (``finish_reason``,
    by default ``"stop"`` or ``"tool_calls"``), an optional usage chunk (``usage=(prompt_tokens,
    completion_tokens)``; ``None`` for servers that report none), and ``data: [DONE]``.

    ``cut_short=True`` ends the body right after the pieces, as a server whose connection closes early:
    no finish reason, no usage, no ``[DONE]``.
    """

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
        body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": _CREATED, "model": model}
        return {**body, "choices": choices, **extra}

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces]
    for i, call in enumerate(tool_calls or ()):
        events.append(chunk({"tool_calls": [{"index": i, **call}]}))
    if cut_short:
        return "".join(f"data: {json.dumps(event)}\n\n" for event in events).encode()
    events.append(chunk({}, finish_reason or ("tool_calls" if tool_calls else "stop")))
    if usage is not None:
        counts = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
        events.append(chunk(None, usage=counts))
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def truncated_stream(text: str, *, finish_reason: str | None = None) -> httpx.Response:
    """A streamed reply of ``text`` that the server ends early: with no finish reason (the connection
    closed after the last piece), or with ``finish_reason`` (``"length"``: cut by ``max_tokens``)."""
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
    if finish_reason is None:
        return sse_response(chat_completion_sse(pieces, cut_short=True))
    return sse_response(chat_completion_sse(pieces, finish_reason=finish_reason))


def sse_response(body: bytes, status_code: int = 200) -> httpx.Response:
    return httpx.Response(status_code, content=body, headers={"content-type": "text/event-stream"})


def error_response(
    status_code: int, message: str = "fake failure", *, retry_after_ms: int | None = 1
) -> httpx.Response:
    """An OpenAI-style error body; ``retry-after-ms`` keeps the SDK's retry backoff short in tests."""
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    body = {"error": {"message": message, "type": "fake_error", "code": None}}
    return httpx.Response(status_code, json=body, headers=headers)


def embeddings_response(
    vectors: Sequence[Sequence[float]], *, model: str = "test-embedding"
) -> dict[str, Any]:
    """An ``/embeddings`` JSON body (float encoding)."""
    data = [{"object": "embedding", "index": i, "embedding": list(v)} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 1, "total_tokens": 1}}


Reply = str | dict[str, Any] | int | httpx.Response | BaseException | Callable[[httpx.Request, dict], Any]


class FakeEndpoint:
    """A ``httpx.MockTransport`` handler answering from a queue of replies, one per request.

    Each reply is: a ``str`` (assistant text; streamed as SSE when the request asks for a stream), a
    ``dict`` (arguments of a call to the request's forced tool), an ``int`` (that HTTP error status,
    with ``retry-after-ms: 1``), an ``httpx.Response`` (sent as is), an exception (raised, e.g.
    ``httpx.ConnectError``), or a callable ``(request, body) -> reply``. ``requests`` and ``bodies`` hold
    what was sent. ``repeat_last=True`` reuses the last reply when the queue runs out.
    """

    def __init__(self, *replies: Reply, repeat_last: bool = False, model: str = "test-model") -> None:
        self.replies: deque[Reply] = deque(replies)
        self.repeat_last = repeat_last
        self.model = model
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.requests.append(request)
        self.bodies.append(body)
        if not self.replies:
            raise AssertionError(f"FakeEndpoint got request {len(self.requests)} but has no reply left")
        reply = self.replies[0] if self.repeat_last and len(self.replies) == 1 else self.replies.popleft()
        if callable(reply) and not isinstance(reply, httpx.Response | BaseException | type):
            reply = reply(request, body)
        return self._respond(reply, body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def _respond(self, reply: Any, body: dict[str, Any]) -> httpx.Response:
        if isinstance(reply, BaseException) or isinstance(reply, type) and issubclass(reply, BaseException):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if isinstance(reply, int):
            return error_response(reply)
        calls = None
        if isinstance(reply, dict):
            calls, reply = [tool_call(_forced_tool(body), reply)], ""
        if body.get("stream"):
            pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)]
            return sse_response(chat_completion_sse(pieces, tool_calls=calls, model=self.model))
        return httpx.Response(200, json=chat_completion(reply, tool_calls=calls, model=self.model))


def _forced_tool(body: dict[str, Any]) -> str:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice["function"]["name"])
    tools = body.get("tools") or []
    if not tools:
        raise AssertionError("FakeEndpoint got tool arguments but the request offers no tool")
    return str(tools[0]["function"]["name"])
