"""The interview as a small explicit state machine, and the interviewer's messages.

Stages (DOMAIN.md §3)::

    opening → story → zoom_in → attention ──(model ready | turn limit | participant asks)──→ show_card
                                                         show_card ⇄ revise ──(confirmed)──→ submitted
    show_card | revise ──(back to the conversation, turns left)──→ the conversation stage of its turns

The conversation stages only guide the interviewer (one question at a time, a different aim per stage);
they advance with the participant's turns. The model says it has enough by calling the
``values_card_ready`` tool; after ``turn_limit`` participant turns a card is proposed anyway; the
participant can ask for the card at any time. Once the card is shown, a message asks for changes to it
(``revise``) until the participant goes back to the conversation (:data:`Event.BACK`, while the turn limit
leaves room): the interview goes on and the next card is written from the longer conversation. The stages
themselves are :class:`interviews.vocabulary.Stage`
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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from errors import StudioError
from interviews.prompting import PromptStyle, as_data, load_prompt
from interviews.reply_shaping import (
    Shaping,
    brief_end,
    cue_free_end,
    ends_with_question,
    question_cut,
    settled_end,
    speaker_cut,
    trim_to_sentence,
)
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
    BACK = "back"  # the participant goes back from the card to the conversation


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
    if event == Event.BACK:
        return back_to_conversation(stage, user_turns=user_turns, turn_limit=turn_limit)
    if event == Event.USER_MESSAGE:
        if stage in (Stage.SHOW_CARD, Stage.REVISE):
            return Stage.REVISE
        return Stage.SHOW_CARD if user_turns >= turn_limit else conversation_stage(user_turns)
    raise InvalidTransition(f"unknown event {event!r}")  # pragma: no cover - exhaustive above


def back_to_conversation(stage: Stage, *, user_turns: int, turn_limit: int) -> Stage:
    """The stage after the participant leaves the card for the conversation: the conversation stage of
    their ``user_turns`` (:func:`conversation_stage`). Already in the conversation, it stays there; at the
    turn limit there is no room left (the next message would propose the card at once), so it is refused.

    >>> back_to_conversation(Stage.SHOW_CARD, user_turns=5, turn_limit=12)
    <Stage.ATTENTION: 'attention'>
    >>> back_to_conversation(Stage.REVISE, user_turns=1, turn_limit=12)
    <Stage.STORY: 'story'>
    >>> back_to_conversation(Stage.ZOOM_IN, user_turns=2, turn_limit=12)
    <Stage.ZOOM_IN: 'zoom_in'>
    >>> back_to_conversation(Stage.SHOW_CARD, user_turns=12, turn_limit=12)
    Traceback (most recent call last):
    ...
    interviews.flow.InvalidTransition: the conversation has reached its length limit
    """
    if stage in CONVERSATION:
        return stage
    if stage not in (Stage.SHOW_CARD, Stage.REVISE):
        raise InvalidTransition(f"there is no card to go back from in stage {stage.value}")
    if not can_go_back(user_turns=user_turns, turn_limit=turn_limit):
        raise InvalidTransition("the conversation has reached its length limit")
    return conversation_stage(user_turns)


def chat_placeholder(stage: Stage) -> str:
    """What the chat box says a message does in ``stage``: answer the interviewer, or change the card.

    >>> chat_placeholder(Stage.ZOOM_IN)
    'Write your answer...'
    >>> chat_placeholder(Stage.SHOW_CARD)
    'Write what should change about the card...'
    """
    if stage in (Stage.SHOW_CARD, Stage.REVISE):
        return "Write what should change about the card..."
    return "Write your answer..."


def can_go_back(*, user_turns: int, turn_limit: int) -> bool:
    """Whether the turn limit leaves room to go back from the card to the conversation.

    >>> can_go_back(user_turns=11, turn_limit=12), can_go_back(user_turns=12, turn_limit=12)
    (True, False)
    """
    return user_turns < turn_limit


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


#: The stage's aim in the compact prompt (small models): one plain instruction each.
COMPACT_GUIDANCE: dict[Stage, str] = {
    Stage.OPENING: "ask what the assistant should think about when it answers, and why.",
    Stage.STORY: "ask for one real moment in their life when they faced a choice like this.",
    Stage.ZOOM_IN: "ask what mattered most to them in that moment, and why.",
    Stage.ATTENTION: "ask what they notice or look for first in moments like that.",
    Stage.REVISE: "ask what should change in the card, and why.",
}
#: The questions a small model's reply gets when it asked none: its stage's aim as a question, a different
#: one at each turn of the stage (cycling), so a long attention stage does not repeat one line.
FALLBACK_QUESTIONS: dict[Stage, tuple[str, ...]] = {
    Stage.OPENING: ("What do you think the assistant should consider in its answer, and why?",),
    Stage.STORY: ("Could you tell me about one specific time you faced a choice like this?",),
    Stage.ZOOM_IN: (
        "In that moment, what mattered most to you, and why?",
        "What about that was worth caring about for its own sake, not only for what it led to?",
    ),
    Stage.ATTENTION: (
        "In moments like that, what do you notice or pay attention to first?",
        "What do you look for, to know that such a choice is going well?",
        "What would someone who handles this wisely notice that others might miss?",
    ),
    Stage.REVISE: ("What should change about the card, and why?",),
}
#: With the compact prompts a reply shows at most this many words before its question (a small model's
#: monologue goes no further).
BRIEF_WORDS = 30


def fallback_question(stage: Stage, user_turns: int = 0) -> str:
    """The question for a reply that asked none, in ``stage`` after ``user_turns`` participant messages
    (the later stages share attention's).

    >>> fallback_question(Stage.STORY)
    'Could you tell me about one specific time you faced a choice like this?'
    >>> fallback_question(Stage.ZOOM_IN, 2) != fallback_question(Stage.ZOOM_IN, 3)
    True
    """
    questions = FALLBACK_QUESTIONS.get(stage, FALLBACK_QUESTIONS[Stage.ATTENTION])
    return questions[user_turns % len(questions)]


def interviewer_messages(
    *, question: str, history: Sequence[Turn], stage: Stage, turns_left: int, style: PromptStyle = "full"
) -> list[BaseMessage]:
    """System prompt (with the question as data) plus the conversation, participant turns as user messages.

    ``style="compact"`` uses the compact prompt for small models (``interviewer.compact``), with its shorter
    stage aims (:data:`COMPACT_GUIDANCE`).
    """
    guidance = STAGE_GUIDANCE.get(stage, STAGE_GUIDANCE[Stage.ATTENTION])
    if style == "compact":
        guidance = COMPACT_GUIDANCE.get(stage, COMPACT_GUIDANCE[Stage.ATTENTION])
    system = load_prompt("interviewer", style).render(
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
    last one a chunk reported; ``None`` when none did). Only a ``finished`` stream is a whole reply.

    The reply is shaped as it streams (:mod:`interviews.reply_shaping`), and what streams is exactly
    ``text`` (nothing shown is taken back). With the ``full`` style it streams as it comes (only a short
    last line that may become another speaker's cue waits); with ``compact`` its unfinished last sentence
    is held back until the reply ends, and dropped when the token limit cut it there. Once the reply is
    cut, nothing more is shown
    (``trimmed``; the rest of the model's stream is read to its end, so its accounting and finish reason are
    whole; ``raw`` holds all the model wrote). With the ``full`` style (a capable model) it is cut only
    where the model starts another speaker's turn; with ``compact`` (a small model) also after its first
    question, and ``max_words`` keeps it brief (whole sentences up to that many words). ``fallback`` is
    the question a finished reply gets when it does not end with one: any compact reply, and a reply the
    token limit cut. ``shaping`` lists what was done (:class:`~interviews.reply_shaping.Shaping`);
    ``model_text`` is the model's own text when the participant reads something else.
    """

    chunks: Iterator[Any]
    text: str = ""
    ready: bool = False
    finish_reason: str | None = None
    fallback: str | None = None
    max_words: int | None = None
    style: PromptStyle = "full"
    raw: str = ""
    trimmed: bool = False
    shaping: list[Shaping] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Whether the model ended the reply itself (:func:`is_finished`)."""
        return is_finished(self.finish_reason)

    @property
    def model_text(self) -> str | None:
        """What the model wrote, when the participant reads something else (``None``: they read it all)."""
        return None if self.raw.strip() == self.text.strip() else self.raw

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks:
            if isinstance(chunk, AIMessageChunk) and (chunk.tool_call_chunks or chunk.tool_calls):
                self.ready = True
            reason = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason")
            if reason:
                self.finish_reason = str(reason)
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if not piece:
                continue
            self.raw += piece
            if not self.trimmed:
                yield from self._show(*self._showable(over=False))
        if not self.trimmed:
            yield from self._show(*self._showable(over=True))
        capped = self.finish_reason == "length"
        asks_for = self.style == "compact" or capped  # a capable model's whole reply is left as it is
        if self.fallback and asks_for and self.finished and not self.ready:
            if not ends_with_question(self.text):
                addition = ("\n\n" if self.text.strip() else "") + self.fallback
                self.text = self.text.rstrip() + addition
                self.shaping.append(Shaping.QUESTION_ADDED)
                yield addition

    def _showable(self, *, over: bool) -> tuple[int, list[Shaping]]:
        """How much of ``raw`` the reply shows and, when nothing more is to be shown after it, why (what
        shaping did; an empty list: more may come, or the reply ends there as the model wrote it)."""
        raw = self.raw
        cut = question_cut(raw) if self.style == "compact" else None
        why = [Shaping.CUT_AFTER_QUESTION] if cut is not None else []
        if cut is None and (cut := speaker_cut(raw)) is not None:
            why = [Shaping.CUT_AT_SPEAKER]
        if cut is not None:
            end = cut
        elif not over and self.style == "full":
            end = cue_free_end(raw)  # streams as it comes; only what may become a speaker's cue waits
        elif not over:
            end = settled_end(raw)  # its unfinished tail waits until the reply ends
        elif self.style == "full":
            end = len(
                raw
            )  # shown as it streamed, even when the token limit cut it (then a question is added)
        elif self.finish_reason == "length":
            end = len(trim_to_sentence(raw))
            if end < len(raw.rstrip()):
                why = [Shaping.UNFINISHED_DROPPED]
        else:
            end = len(raw)
        if self.max_words is not None:
            shown, exhausted = brief_end(raw[:end], self.max_words, final=True)
            if exhausted:  # it stops before any cut or unfinished tail
                return shown, [Shaping.KEPT_BRIEF]
            end = shown
        return end, why

    def _show(self, end: int, why: list[Shaping]) -> Iterator[str]:
        """Show ``raw`` up to ``end`` (nothing shown is taken back; a cut reply ends without the spaces
        before its cut), and note ``why`` nothing more is shown after it."""
        if why:
            end = len(self.raw[:end].rstrip())
            self.trimmed = True
            self.shaping += why
        end = max(end, len(self.text))
        piece = self.raw[len(self.text) : end]
        self.text = self.raw[:end]
        if piece:
            yield piece

    def close(self) -> None:
        """Stop reading the model's stream (its connection is released)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def stream_interviewer(
    model: BaseChatModel,
    messages: list[BaseMessage],
    *,
    config: RunnableConfig | None = None,
    max_tokens: int | None = None,
    fallback: str | None = None,
    max_words: int | None = None,
    style: PromptStyle = "full",
) -> ReplyStream:
    """Stream the interviewer's next message; the model may instead signal it has enough.

    ``max_tokens`` caps the reply (``LLM_REPLY_MAX_TOKENS``: a chat turn is short; structured calls keep
    ``LLM_MAX_TOKENS``); ``style`` says how the reply is shaped, ``max_words`` and ``fallback`` keep a small
    model's reply brief and ending with a question (see :class:`ReplyStream`).
    """
    limits: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
    try:
        runnable: Any = model.bind_tools([ValuesCardReady], tool_choice="auto", **limits)
    except NotImplementedError:  # a model without tools: the turn limit still ends the interview
        runnable = model.bind(**limits) if limits else model
    chunks = iter(runnable.stream(messages, config=config))
    return ReplyStream(chunks, fallback=fallback, max_words=max_words, style=style)
