"""Chat-model doubles: :class:`ScriptedChatModel` for tests, :class:`DemoChatModel` for ``LLM_MODE=fake``.

Both stream, bind tools and support ``with_structured_output`` with the same rule as the real model
(:mod:`providers.structured`): a parsed object, or :class:`~providers.errors.ModelOutputError`.
Transport-level fakes (a real ``ChatOpenAI`` in front of ``httpx.MockTransport``) live in
:mod:`providers.fake_http` and are re-exported here.

>>> from langchain_core.messages import AIMessage
>>> model = ScriptedChatModel(["Hi there.", AIMessage("Second.")])
>>> model.invoke("hello").content, "".join(c.content for c in model.stream("again"))
('Hi there.', 'Second.')
>>> len(model.calls), model.calls[0][0].content
(2, 'hello')
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field, PrivateAttr

from providers import demo_answers
from providers.fake_http import (
    FakeEndpoint,
    chat_completion,
    chat_completion_sse,
    embeddings_response,
    error_response,
    sse_response,
    tool_call,
    truncated_stream,
)
from providers.schema_fill import fill_schema
from providers.structured import strict_structured_output

__all__ = [
    "DemoChatModel",
    "FakeEndpoint",
    "ScriptExhausted",
    "ScriptedChatModel",
    "chat_completion",
    "chat_completion_sse",
    "cut_short",
    "embeddings_response",
    "error_response",
    "sse_response",
    "tool_call",
    "truncated_stream",
]


class ScriptExhausted(AssertionError):
    """A :class:`ScriptedChatModel` was called more often than its script has turns."""


class _ToolAwareChatModel(BaseChatModel):
    """Shared plumbing: tool binding, strict structured output, streaming of a finished message."""

    chunk_chars: int = 8
    """Streamed text arrives in pieces of about this many characters (split after whitespace)."""
    chunk_delay_s: float = 0.0
    """Pause between streamed pieces (the demo UI looks alive with ~0.02)."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | dict | bool | None = None, **kwargs: Any
    ) -> Runnable:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable:
        kwargs.pop("method", None)
        raw_chain = super().with_structured_output(schema, include_raw=True, **kwargs)
        return raw_chain if include_raw else strict_structured_output(raw_chain, schema)

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any) -> AIMessage:
        raise NotImplementedError

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._reply(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._reply(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        if message.tool_calls:
            calls = [
                tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c.get("id"), index=i)
                for i, c in enumerate(message.tool_calls)
            ]
            pieces: list[Any] = [AIMessageChunk(content=message.content, tool_call_chunks=calls)]
        else:
            pieces = [AIMessageChunk(content=p) for p in _split(str(message.content), self.chunk_chars)]
        # The last chunk says how the reply ended, as OpenAI's does: "stop" (or "tool_calls"), unless the
        # turn names its own end (see cut_short: None for a connection that closed early).
        default = "tool_calls" if message.tool_calls else "stop"
        reason = message.response_metadata.get("finish_reason", default)
        for i, piece in enumerate(pieces):
            if i and self.chunk_delay_s:
                time.sleep(self.chunk_delay_s)
            last = i == len(pieces) - 1
            chunk = ChatGenerationChunk(
                message=piece, generation_info={"finish_reason": reason} if last and reason else None
            )
            if run_manager:
                run_manager.on_llm_new_token(str(piece.content), chunk=chunk)
            yield chunk


class ScriptedChatModel(_ToolAwareChatModel):
    """Replies from a script, one turn per call, and records what it was sent in ``calls``.

    A turn is a ``str``; an ``AIMessage`` (may carry ``tool_calls``); a ``dict`` or pydantic object
    (arguments of a call to the bound tool, so ``with_structured_output`` parses it); an exception
    (raised); or a callable ``messages -> turn``. Running out raises :class:`ScriptExhausted`. A stream
    ends with finish reason ``"stop"`` (``"tool_calls"``) as OpenAI's does; :func:`cut_short` makes a turn
    whose stream ends early.
    """

    script: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    model_name: str = "scripted"
    _position: int = PrivateAttr(default=0)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, script: Sequence[Any] = (), **kwargs: Any) -> None:
        kwargs["script"] = list(script)  # a field of this class, unknown to the parent's typed __init__
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def remaining(self) -> int:
        """Turns not used yet."""
        return len(self.script) - self._position

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any) -> AIMessage:
        with self._lock:
            self.calls.append(list(messages))
            if self._position >= len(self.script):
                last = str(messages[-1].content)[:80] if messages else ""
                raise ScriptExhausted(
                    f"ScriptedChatModel: all {len(self.script)} scripted turns are used; "
                    f"call {len(self.calls)} got {last!r}"
                )
            turn = self.script[self._position]
            self._position += 1
        if callable(turn) and not isinstance(turn, BaseException | BaseMessage | type):
            turn = turn(messages)
        if isinstance(turn, BaseException) or isinstance(turn, type) and issubclass(turn, BaseException):
            raise turn
        if isinstance(turn, BaseModel) and not isinstance(turn, BaseMessage):
            turn = turn.model_dump(mode="json")
        if isinstance(turn, AIMessage):
            return turn
        if isinstance(turn, str):
            return AIMessage(content=turn)
        if isinstance(turn, dict):
            name = _chosen_tool(tools, tool_choice)
            if name is None:
                return AIMessage(content=json.dumps(turn))
            call_id = f"call_{len(self.calls)}"
            return AIMessage(
                content="", tool_calls=[{"name": name, "args": turn, "id": call_id, "type": "tool_call"}]
            )
        raise TypeError(f"ScriptedChatModel cannot reply with {type(turn).__name__}")


DEMO_QUESTIONS = (
    "Thanks for joining! I am the demo interviewer: my questions are scripted, not written by a language "
    "model. To start, could you tell me about a specific time when this question came up in your own "
    "life, or when you saw someone handle it well?",
    "Thank you for sharing that. In that moment, what did you pay attention to? What stood out to you as "
    "important?",
    "What made those things feel meaningful to you, rather than just useful or expected?",
    "If someone you admire were in the same situation, what would they notice that others might miss?",
    "Looking back, is there anything you would pay attention to differently now?",
    "Thank you, I think I understand what matters to you here. Is there anything you would like to add "
    "before we write it up as a values card?",
)


class DemoChatModel(_ToolAwareChatModel):
    """The explicitly labelled demo model of ``LLM_MODE=fake``: offline, deterministic, no real LLM.

    Plain calls stream the next interviewer question of a short fixed rotation (chosen by how many
    assistant turns the conversation already has); with tools it may choose from, it calls the first one
    once every question was asked (the interviewer's "I have enough" signal). Every structured call of the
    studio gets an answer that passes the domain's checks too (:mod:`providers.demo_answers`): a card that
    keeps the card rules, picked by the participant's words from cards written by this project (a change
    request gets the value's other wording), a dedup partition that covers its cards, valid contexts,
    stories that name their context and judge scores that pass, seed cards and a labelled fixed grade. Any
    other schema gets a well-formed instance synthesised from its JSON schema (lengths, item counts,
    enums, nested models).

    >>> from interviews.cards import CardDraft, lint_card
    >>> prompt = "<transcript>\\nParticipant: My father sat with me and listened.\\n</transcript>"
    >>> card = DemoChatModel().with_structured_output(CardDraft).invoke(prompt)
    >>> card.title, lint_card(card)
    ('Steady Presence', [])
    >>> from pydantic import BaseModel, Field
    >>> class Title(BaseModel):
    ...     title: str = Field(max_length=8)
    >>> DemoChatModel().with_structured_output(Title).invoke("Name it")
    Title(title='Demo tit')
    """

    model_name: str = "scripted-demo"
    questions: tuple[str, ...] = DEMO_QUESTIONS

    @property
    def _llm_type(self) -> str:
        return "demo"

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any) -> AIMessage:
        asked = sum(isinstance(m, AIMessage) for m in messages)
        name = _chosen_tool(tools, tool_choice)
        if name is not None and tool_choice in (None, "auto") and asked < len(self.questions):
            name = None  # the model may choose: the demo asks all its questions first
        if name is not None:
            tool = next(t for t in tools if t["function"]["name"] == name)
            parameters = tool["function"].get("parameters", {})
            prompts = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
            args = demo_answers.answer(name, parameters, prompts)
            if args is None:  # a schema the studio does not use: any well-formed instance
                args = fill_schema(parameters, name=name)
            return AIMessage(
                content="", tool_calls=[{"name": name, "args": args, "id": "call_demo", "type": "tool_call"}]
            )
        question = self.questions[min(asked, len(self.questions) - 1)]
        said = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        words = said.split()
        if asked and words:
            quote = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
            question = f'You said: "{quote}". {question}'
        return AIMessage(content=question)


def cut_short(text: str, finish_reason: str | None = None) -> AIMessage:
    """A scripted turn whose stream ends without the model's own end: ``text`` streams, then the stream
    stops with no finish reason (a connection closed early), or with ``finish_reason`` (``"length"``,
    ``"content_filter"``).

    >>> chunks = list(ScriptedChatModel([cut_short("Half a sen")]).stream("hi"))
    >>> "".join(c.content for c in chunks), [c.response_metadata.get("finish_reason") for c in chunks][-2:]
    ('Half a sen', [None, None])
    """
    return AIMessage(content=text, response_metadata={"finish_reason": finish_reason})


def _chosen_tool(tools: list[dict[str, Any]], tool_choice: Any) -> str | None:
    """The tool a reply should call: the forced one, else the only/first bound tool; ``None`` if none."""
    names = [t["function"]["name"] for t in tools if "function" in t]
    if not names or tool_choice in ("none", False):
        return None
    if isinstance(tool_choice, dict):
        return str(tool_choice.get("function", {}).get("name") or tool_choice.get("name") or names[0])
    if isinstance(tool_choice, str) and tool_choice in names:
        return tool_choice
    return names[0]


def _split(text: str, size: int) -> list[str]:
    """``text`` in pieces of at least ``size`` characters, each ending after whitespace when it can.

    >>> _split("one two three four", 4)
    ['one ', 'two ', 'three ', 'four']
    """
    pieces, start = [], 0
    while start < len(text):
        end = start + size
        while end < len(text) and not text[end - 1].isspace():
            end += 1
        pieces.append(text[start:end])
        start = end
    return pieces or [""]


Turn = str | AIMessage | dict | BaseException | Callable[[list[BaseMessage]], Any]
