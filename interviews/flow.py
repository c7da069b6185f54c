"""The interview as a small explicit state machine, and the interviewer's messages.

Stages (DOMAIN.md §3)::

    opening → story → zoom_in → attention ──(model ready | turn limit | participant asks)──→ show_card
                                                         show_card ⇄ revise ──(confirmed)──→ submitted

The conversation stages only guide the interviewer (one question at a time, a different aim per stage);
they advance with the participant's turns. The model says it has enough by calling the
``values_card_ready`` tool; after ``turn_limit`` participant turns a card is proposed anyway; the
participant can ask for the card at any time. The stages themselves are :class:`interviews.vocabulary.Stage`
(re-exported here), with ``abandoned``, which no event leaves.

>>> s = Stage.OPENING
>>> s = advance(s, Event.USER_MESSAGE, user_turns=1, turn_limit=12); s
<Stage.STORY: 'story'>
>>> advance(s, Event.MODEL_READY, user_turns=1, turn_limit=12)
<Stage.SHOW_CARD: 'show_card'>
>>> advance(Stage.ZOOM_IN, Event.USER_MESSAGE, user_turns=12, turn_limit=12)
<Stage.SHOW_CARD: 'show_card'>
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from errors import StudioError
from interviews.prompting import as_data, load_prompt
from interviews.vocabulary import CONVERSATION as CONVERSATION  # re-exported: the interview states
from interviews.vocabulary import Stage as Stage


class Event(StrEnum):
    USER_MESSAGE = "user_message"
    MODEL_READY = "model_ready"
    SHOW_CARD = "show_card"  # the participant asked to see (or edit) the card
    BUDGET_SPENT = "budget_spent"
    REVISE = "revise"  # the participant asked for changes in the chat
    CARD_SHOWN = "card_shown"  # a (re)written card is on screen
    CONFIRMED = "confirmed"


class InvalidTransition(StudioError, ValueError):
    """An event that cannot happen in the current stage (e.g. chatting after the card was submitted)."""


STAGE_GUIDANCE: dict[Stage, str] = {
    Stage.OPENING: "the start. Ask what they think the assistant should consider in answering the question.",
    Stage.STORY: "getting a story. Ask for one specific time they faced a choice like this, felt strongly "
    "about it, or saw someone they admire handle it well.",
    Stage.ZOOM_IN: "zooming in. Find the one thing in their story that mattered most to them for its own "
    "sake, and ask about how they want to act, not only the goal.",
    Stage.ATTENTION: "what they attend to. Ask what they notice, look for or pay attention to in such "
    "moments; check your guesses back with them in plain words, one at a time.",
    Stage.REVISE: "revising the card. Ask what should change about the draft and why, one question at a "
    "time.",
}


def conversation_stage(user_turns: int) -> Stage:
    """Where an unfinished conversation stands after ``user_turns`` participant messages.

    >>> [conversation_stage(n).value for n in range(6)]
    ['opening', 'story', 'zoom_in', 'zoom_in', 'attention', 'attention']
    """
    if user_turns <= 0:
        return Stage.OPENING
    if user_turns == 1:
        return Stage.STORY
    return Stage.ZOOM_IN if user_turns <= 3 else Stage.ATTENTION


def advance(stage: Stage, event: Event, *, user_turns: int, turn_limit: int) -> Stage:
    """The stage after ``event``; raises :class:`InvalidTransition` for an impossible one."""
    if stage == Stage.SUBMITTED:
        raise InvalidTransition("this card is already submitted")
    if stage == Stage.ABANDONED:
        raise InvalidTransition("this interview was abandoned")
    if event == Event.CONFIRMED:
        if stage not in (Stage.SHOW_CARD, Stage.REVISE):
            raise InvalidTransition("there is no card to confirm yet")
        return Stage.SUBMITTED
    if event in (Event.MODEL_READY, Event.SHOW_CARD, Event.BUDGET_SPENT, Event.CARD_SHOWN):
        return Stage.SHOW_CARD
    if event == Event.REVISE:
        if stage not in (Stage.SHOW_CARD, Stage.REVISE):
            raise InvalidTransition("there is no card to revise yet")
        return Stage.REVISE
    if event == Event.USER_MESSAGE:
        if stage in (Stage.SHOW_CARD, Stage.REVISE):
            return Stage.REVISE
        return Stage.SHOW_CARD if user_turns >= turn_limit else conversation_stage(user_turns)
    raise InvalidTransition(f"unknown event {event!r}")  # pragma: no cover - exhaustive above


@dataclass(frozen=True)
class Turn:
    """One message of the conversation as the core sees it."""

    role: Literal["user", "assistant"]
    content: str


def opening_message(question: str) -> str:
    """The interviewer's first message: deterministic, so the interview starts instantly.

    >>> opening_message("Should I lie to my friend?").splitlines()[0]
    'Hi! We will think together about how an AI assistant should answer this message from a user:'
    """
    return (
        "Hi! We will think together about how an AI assistant should answer this message from a user:\n\n"
        f"“{question}”\n\n"
        "What do you think the assistant should consider in its answer, and why?"
    )


READY_MESSAGE = (
    "Thank you, I think I understand what matters to you here. Here is a first draft of a card describing "
    "it: read it carefully, then confirm it, ask me for changes, or edit it yourself."
)
BUDGET_MESSAGE = (
    "Thank you for everything you have shared. We have reached the length limit for this conversation, so "
    "here is a draft card based on what you told me: you can confirm it, ask for changes, or edit it."
)


class ValuesCardReady(BaseModel):
    """Call this when you understand concretely what the participant attends to, instead of asking more."""

    reason: str = Field(default="", max_length=200, description="one line: what you understood")


def interviewer_messages(
    *, question: str, history: Sequence[Turn], stage: Stage, turns_left: int
) -> list[BaseMessage]:
    """System prompt (with the question as data) plus the conversation, participant turns as user messages."""
    guidance = STAGE_GUIDANCE.get(stage, STAGE_GUIDANCE[Stage.ATTENTION])
    system = load_prompt("interviewer").render(
        question=as_data("question", question), stage_guidance=guidance, turns_left=max(turns_left, 0)
    )
    messages: list[BaseMessage] = [SystemMessage(system)]
    for turn in history:
        messages.append(HumanMessage(turn.content) if turn.role == "user" else AIMessage(turn.content))
    return messages


#: Finish reasons of a reply the model ended itself (OpenAI's ``finish_reason``; ``length``: it reached the
#: ``max_tokens`` limit, and what it wrote up to there is kept as a whole reply, see :func:`is_finished`).
FINISHED = frozenset({"stop", "tool_calls", "function_call", "length"})


def is_finished(finish_reason: str | None) -> bool:
    """Whether a stream that ended with ``finish_reason`` is a whole reply.

    Only the model's own end is: ``stop``, a tool call, or ``length`` (cut by ``max_tokens``: kept as a
    reply, since the participant can answer it and a retry would end the same way). No finish reason (the
    connection closed early, no ``[DONE]``), ``content_filter`` or anything else is a reply cut off.

    >>> [is_finished(r) for r in ("stop", "tool_calls", "length", None, "content_filter", "")]
    [True, True, True, False, False, False]
    """
    return finish_reason in FINISHED


@dataclass
class ReplyStream:
    """Iterate for the reply's text as it streams; afterwards ``ready`` says whether the model called
    ``values_card_ready``, ``text`` holds the whole reply and ``finish_reason`` how the stream ended (the
    last one a chunk reported; ``None`` when none did). Only a ``finished`` stream is a whole reply."""

    chunks: Iterator[Any]
    text: str = ""
    ready: bool = False
    finish_reason: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the model ended the reply itself (:func:`is_finished`)."""
        return is_finished(self.finish_reason)

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks:
            if isinstance(chunk, AIMessageChunk) and (chunk.tool_call_chunks or chunk.tool_calls):
                self.ready = True
            reason = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason")
            if reason:
                self.finish_reason = str(reason)
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if piece:
                self.text += piece
                yield piece

    def close(self) -> None:
        """Stop reading the model's stream (its connection is released)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def stream_interviewer(
    model: BaseChatModel, messages: list[BaseMessage], *, config: RunnableConfig | None = None
) -> ReplyStream:
    """Stream the interviewer's next message; the model may instead signal it has enough."""
    try:
        runnable: Any = model.bind_tools([ValuesCardReady], tool_choice="auto")
    except NotImplementedError:  # a model without tools: the turn limit still ends the interview
        runnable = model
    return ReplyStream(iter(runnable.stream(messages, config=config)))
