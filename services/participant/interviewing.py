"""The participant's interview: start or resume it, chat with the interviewer, read it back (DOMAIN.md §3
step 3). The values card it leads to is written, revised, edited and submitted in
:mod:`services.participant.cards`.

Every participant message is stored before the model is called; every reply is stored when it is
complete (a reply cut off by an error is stored with status ``cut_off``). No session is held open while a
model runs, so the accounting of that call (a separate write) never waits on us. The interview resumes
from the database alone: a reload or a server restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import articulate as articulation
from interviews.flow import (
    BUDGET_MESSAGE,
    CONVERSATION,
    READY_MESSAGE,
    Event,
    InvalidTransition,
    Stage,
    Turn,
    advance,
    interviewer_messages,
    opening_message,
    stream_interviewer,
)
from interviews.prompting import load_prompt
from interviews.vocabulary import MessageRole, MessageStatus, ParticipantStage
from providers.errors import ModelOutputError
from services.participant.joining import participant_for_token
from services.runtime.retrying import DEFAULT_RETRY, RETRYABLE, RetryPolicy
from services.runtime.version import APP_VERSION
from storage import repo_deliberations, repo_interviews
from storage.db import Session, session_scope
from storage.repo_interviews import InterviewRows
from storage.schemas import (
    CardPublic,
    DeliberationConfig,
    InterviewCreate,
    InterviewPublic,
    MessageCreate,
    MessagePublic,
)

MAX_MESSAGE_CHARS = 4000
INTERVIEW_PROMPTS = ("interviewer", *articulation.PROMPTS)


# --- reading ---------------------------------------------------------------------------------------


def own_rows(session: Session, token: str, interview_id: int, *, lock: bool = False) -> InterviewRows:
    """The participant's interview with its question and deliberation (one query on the happy path)."""
    rows = repo_interviews.interview_rows(session, interview_id=interview_id, token=token, lock=lock)
    if rows is None:  # find out why, to say so plainly
        participant_for_token(session, token)
        repo_interviews.get_interview(session, interview_id=interview_id)
        raise InvalidInput("This interview belongs to someone else.")
    return rows


def rows_of(session: Session, interview_id: int) -> InterviewRows:
    """The interview with its question and deliberation, for an id already checked to be the caller's."""
    rows = repo_interviews.interview_rows(session, interview_id=interview_id)
    assert rows is not None
    return rows


def interview_view(session: Session, rows: InterviewRows, *, with_card: bool = True) -> InterviewPublic:
    """The interview as the page shows it: messages, the latest card (unless ``with_card=False``), turns."""
    interview, question, deliberation, _ = rows
    assert interview.id is not None
    messages = repo_interviews.list_messages(session, interview_id=interview.id)
    complete = [m for m in messages if m.status == MessageStatus.COMPLETE]
    card = repo_interviews.latest_card(session, interview_id=interview.id) if with_card else None
    return InterviewPublic(
        id=interview.id,
        participant_id=interview.participant_id,
        question_id=interview.question_id,
        deliberation_id=question.deliberation_id,
        question=question.text,
        state=interview.state,
        messages=messages,
        card=CardPublic.of(card) if card else None,
        awaiting_reply=bool(complete) and complete[-1].role == MessageRole.USER,
        user_turns=sum(m.role == MessageRole.USER for m in messages),
        turn_limit=DeliberationConfig.model_validate(deliberation.config).interview_turn_limit,
        tokens_used=interview.tokens_in + interview.tokens_out,
    )


def get_interview(engine: Engine, *, token: str, interview_id: int) -> InterviewPublic:
    with session_scope(engine) as session:
        return interview_view(session, own_rows(session, token, interview_id))


def find_interview(engine: Engine, *, token: str, question_id: int) -> InterviewPublic | None:
    """The participant's interview on this question, if they started one."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        interview = repo_interviews.find_interview(
            session, participant_id=participant.id, question_id=question_id
        )
        if interview is None:
            return None
        assert interview.id is not None
        return interview_view(session, rows_of(session, interview.id))


def current_interview(engine: Engine, *, token: str) -> InterviewPublic | None:
    """The participant's most recent interview that was not abandoned (``None`` before the first)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        interviews = repo_interviews.list_participant_interviews(session, participant_id=participant.id)
        live = [i for i in interviews if i.state != Stage.ABANDONED]
        if not live:
            return None
        assert live[-1].id is not None
        return interview_view(session, rows_of(session, live[-1].id))


def transcript(view: InterviewPublic) -> list[Turn]:
    """The complete messages of an interview as the core's turns (cut-off replies left out)."""
    return [
        Turn("user" if m.role == MessageRole.USER else "assistant", m.content)
        for m in view.messages
        if m.status == MessageStatus.COMPLETE and m.role in (MessageRole.USER, MessageRole.ASSISTANT)
    ]


# --- the conversation ------------------------------------------------------------------------------


def start_interview(engine: Engine, *, token: str, question_id: int, model_id: str = "") -> InterviewPublic:
    """Start (or resume: the call is idempotent) the participant's interview on ``question_id``.

    The participant's row is locked, so two tabs starting at once get one interview.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        question = repo_deliberations.get_question(session, question_id=question_id)
        if question.deliberation_id != participant.deliberation_id:
            raise InvalidInput("This question is not part of your deliberation.")
        existing = repo_interviews.find_interview(
            session, participant_id=participant.id, question_id=question_id
        )
        if existing is not None:
            assert existing.id is not None
            return interview_view(session, rows_of(session, existing.id))
        interview = repo_interviews.create_interview(
            session,
            data=InterviewCreate(
                participant_id=participant.id,
                question_id=question_id,
                prompt_versions={name: load_prompt(name).ref for name in INTERVIEW_PROMPTS},
                model_id=model_id,
                app_version=APP_VERSION,
            ),
        )
        assert interview.id is not None
        opening = MessageCreate(
            interview_id=interview.id, role=MessageRole.ASSISTANT, content=opening_message(question.text)
        )
        repo_interviews.add_message(session, data=opening)
        if participant.stage in (ParticipantStage.JOINED, ParticipantStage.CONSENTED):
            participant.stage = ParticipantStage.INTERVIEW.value
            session.add(participant)
        return interview_view(session, rows_of(session, interview.id))


def post_message(engine: Engine, *, token: str, interview_id: int, text: str) -> MessagePublic:
    """Store the participant's message (before any model runs) and advance the stage.

    A repeated identical message that is still waiting for its reply (a double click, a second tab) is
    stored once.
    """
    text = text.strip()
    if not text:
        raise InvalidInput("Please write a message first.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"Please keep a message under {MAX_MESSAGE_CHARS} characters.")
    with session_scope(engine) as session:
        interview, _, deliberation, _ = own_rows(session, token, interview_id, lock=True)
        assert interview.id is not None
        last, user_turns = repo_interviews.message_tail(session, interview_id=interview.id)
        if last is not None and last.role == MessageRole.USER and last.content == text:
            return MessagePublic.model_validate(last)
        try:
            stage = advance(
                Stage(interview.state),
                Event.USER_MESSAGE,
                user_turns=user_turns + 1,
                turn_limit=DeliberationConfig.model_validate(deliberation.config).interview_turn_limit,
            )
        except InvalidTransition as exc:
            raise InvalidInput(f"You cannot send messages any more: {exc}.") from exc
        message = repo_interviews.add_message(
            session,
            data=MessageCreate(interview_id=interview.id, role=MessageRole.USER, content=text),
            after=last.seq if last else None,
        )
        repo_interviews.set_interview_state(session, interview=interview, state=stage.value)
        return MessagePublic.model_validate(message)


def run_metadata(view: InterviewPublic, purpose: str) -> RunnableConfig:
    """The model call's metadata (what it was for, whose interview) that the accounting records."""
    return {
        "metadata": {
            "purpose": purpose,
            "interview_id": view.id,
            "participant_id": view.participant_id,
            "deliberation_id": view.deliberation_id,
        }
    }


def _append(
    engine: Engine,
    view: InterviewPublic,
    content: str,
    *,
    status: MessageStatus = MessageStatus.COMPLETE,
    state: Stage | None = None,
) -> None:
    """Store an interviewer message after the last one ``view`` saw; a participant message that arrived
    meanwhile (another tab) is kept and this one goes after it (see :func:`repo_interviews.add_message`).
    """
    with session_scope(engine) as session:
        after = view.messages[-1].seq if view.messages else -1
        repo_interviews.add_message(
            session,
            data=MessageCreate(
                interview_id=view.id, role=MessageRole.ASSISTANT, content=content, status=status
            ),
            after=after,
        )
        if state is not None:
            interview = repo_interviews.get_interview(session, interview_id=view.id, lock=True)
            repo_interviews.set_interview_state(session, interview=interview, state=state.value)


def over_budget(view: InterviewPublic, budget: int | None) -> bool:
    """Whether the interview's own model calls (chat and card writing) used up ``budget`` tokens."""
    return budget is not None and view.tokens_used >= budget


def reply(
    engine: Engine,
    model: BaseChatModel,
    *,
    token: str,
    interview_id: int,
    token_budget: int,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Iterator[str]:
    """Stream the interviewer's reply to the participant's last message, and store it.

    Yields nothing when no reply is due. Errors are retried with backoff before anything was shown;
    a reply cut off midway is stored as ``cut_off`` and the error propagates (a
    :class:`~providers.errors.ModelError`: one line for the screen, with a retry button beside it).
    When the model has enough, or the participant's token budget is spent, the stage becomes
    ``show_card`` and the caller asks for the card (:func:`services.participant.cards.request_card`).
    """
    with session_scope(engine) as session:
        view = interview_view(session, own_rows(session, token, interview_id), with_card=False)
        if not view.awaiting_reply or Stage(view.state) not in (*CONVERSATION, Stage.SHOW_CARD):
            return
        spent = over_budget(view, token_budget)
    if Stage(view.state) == Stage.SHOW_CARD or spent:
        message = READY_MESSAGE if Stage(view.state) == Stage.SHOW_CARD else BUDGET_MESSAGE
        _append(engine, view, message, state=Stage.SHOW_CARD)
        yield message
        return
    messages = interviewer_messages(
        question=view.question,
        history=transcript(view),
        stage=Stage(view.state),
        turns_left=view.turn_limit - view.user_turns,
    )
    config = run_metadata(view, "interview")
    for attempt in range(retry.attempts):
        stream = stream_interviewer(model, messages, config=config)
        try:
            yield from stream
        except RETRYABLE:
            if stream.text:
                _append(engine, view, stream.text, status=MessageStatus.CUT_OFF)
                raise
            if attempt + 1 >= retry.attempts:
                raise
            retry.wait(attempt)
            continue
        except (Exception, GeneratorExit):  # GeneratorExit: the page stopped reading (a reload, a new run)
            if stream.text:
                _append(engine, view, stream.text, status=MessageStatus.CUT_OFF)
            raise
        if stream.ready:
            text = stream.text.strip() or READY_MESSAGE
            _append(engine, view, text, state=Stage.SHOW_CARD)
            if not stream.text.strip():
                yield text
            return
        if stream.text.strip():
            _append(engine, view, stream.text.strip())
            return
        if attempt + 1 >= retry.attempts:
            raise ModelOutputError("The model sent an empty reply.")
        retry.wait(attempt)
