"""The participant's interview: start or resume it, chat with the interviewer, read it back (DOMAIN.md §3
step 3). The values card it leads to is written, revised, edited and submitted in
:mod:`services.participant.cards`.

Every participant message is stored before the model is called, once (each send carries an idempotency
key) and in the order it arrives, also while a reply streams. One reply is written at a time per
interview, for the newest message still waiting, by the call that claims it
(:mod:`services.participant.reply_claims`: the claim, its heartbeat, and the takeover of a claim whose
writer died). A reply is complete only when the model ended it (a finish reason,
:func:`interviews.flow.is_finished`); one cut off by an error, a dropped connection or a reload is kept
with status ``cut_off`` and the participant can retry. What the model wrote is stored with NUL and lone
surrogates replaced (:func:`interviews.text_rules.clean_model_text`). No session is held open while a
model runs, so the accounting of that call (a separate write) never waits on us. The interview resumes
from the database alone: a reload or a server restart loses nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import articulate as articulation
from interviews.flow import (
    BRIEF_WORDS,
    BUDGET_MESSAGE,
    CONVERSATION,
    READY_MESSAGE,
    Event,
    InvalidTransition,
    Stage,
    Turn,
    advance,
    fallback_question,
    interviewer_messages,
    opening_message,
    stream_interviewer,
)
from interviews.prompting import PromptStyle, load_prompt, style_of
from interviews.reply_shaping import Shaping
from interviews.text_rules import check_text, clean_model_text
from interviews.vocabulary import MessageRole, MessageStatus, ParticipantStage
from providers.errors import ModelError, ModelOutputError, ModelServerError
from services.participant import reply_claims
from services.participant.joining import participant_for_token
from services.participant.reply_claims import Claim
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

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
INTERVIEW_PROMPTS = ("interviewer", *articulation.PROMPTS)
#: What a send's idempotency key looks like (the page gives each send a fresh ``uuid4().hex``); no ``:``,
#: so it never equals a reply claim's key (:data:`services.participant.reply_claims.KEY_PREFIX`).
SEND_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
CUT_SHORT = (
    "The model's reply stopped before it was finished (the stream ended without a finish reason); "
    "what came is kept, marked as cut off."
)


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
    last_user = max((m.created_at for m in messages if m.role == MessageRole.USER), default=None)
    config = DeliberationConfig.stored(deliberation.config)
    return InterviewPublic(
        id=interview.id,
        participant_id=interview.participant_id,
        question_id=interview.question_id,
        deliberation_id=question.deliberation_id,
        question=question.text,
        state=interview.state,
        messages=messages,
        card=CardPublic.of(card) if card else None,
        card_behind=card is not None and last_user is not None and card.created_at < last_user,
        prompt_style=style_of(interview.prompt_versions or {}),
        awaiting_reply=bool(complete) and complete[-1].role == MessageRole.USER,
        replying=any(m.status == MessageStatus.STREAMING for m in messages),
        user_turns=sum(m.role == MessageRole.USER for m in messages),
        turn_limit=config.interview_turn_limit,
        tokens_used=interview.tokens_in + interview.tokens_out,
        token_budget=config.token_budget,
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


def start_interview(
    engine: Engine, *, token: str, question_id: int, model_id: str = "", prompt_style: PromptStyle = "full"
) -> InterviewPublic:
    """Start (or resume: the call is idempotent) the participant's interview on ``question_id``.

    The participant's row is locked, so two tabs starting at once get one interview. ``prompt_style``
    (``Settings.prompt_style``: compact prompts for a small model) is recorded with the prompts' refs and
    kept for the whole interview (its replies and its card).
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
                prompt_versions={name: load_prompt(name, prompt_style).ref for name in INTERVIEW_PROMPTS},
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


def post_message(
    engine: Engine, *, token: str, interview_id: int, text: str, key: str | None = None
) -> MessagePublic:
    """Store the participant's message (before any model runs) and advance the stage.

    Every message is stored, once, in the order it arrives, also while a reply is being written (it goes
    after that reply, and the next reply answers it). A send repeated with its idempotency ``key`` (the
    page gives each send one; a rerun or a retried request repeats it) returns the message it stored; so
    does an identical message still waiting for its reply (a double click, the same text sent from a
    second tab), whatever its key.
    """
    text = check_text(text, what="Your message").strip()  # no NUL or lone surrogate (interviews.text_rules)
    if not text:
        raise InvalidInput("Please write a message first.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"Please keep a message to at most {MAX_MESSAGE_CHARS} characters (this one has {len(text)})."
        )
    if key is not None and not SEND_KEY.fullmatch(key):
        raise InvalidInput("A message key is 1 to 64 letters, digits, '-' or '_'.")
    with session_scope(engine) as session:
        interview, _, deliberation, _ = own_rows(session, token, interview_id, lock=True)
        assert interview.id is not None
        if key is not None:
            known = repo_interviews.message_by_key(session, interview_id=interview.id, key=key)
            if known is not None:
                return MessagePublic.model_validate(known)
        waiting, user_turns = repo_interviews.message_tail(session, interview_id=interview.id)
        unanswered = [m for m in waiting if m.role == MessageRole.USER]
        if unanswered and unanswered[-1].content == text:
            return MessagePublic.model_validate(unanswered[-1])
        try:
            stage = advance(
                Stage(interview.state),
                Event.USER_MESSAGE,
                user_turns=user_turns + 1,
                turn_limit=DeliberationConfig.stored(deliberation.config).interview_turn_limit,
            )
        except InvalidTransition as exc:
            raise InvalidInput(f"You cannot send messages any more: {exc}.") from exc
        message = repo_interviews.add_message(
            session,
            data=MessageCreate(
                interview_id=interview.id, role=MessageRole.USER, content=text, client_key=key
            ),
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


def over_budget(view: InterviewPublic, budget: int | None) -> bool:
    """Whether the interview's own model calls (chat and card writing) used up their budget: the
    deliberation's ``token_budget`` setting, or (when that is 0) ``budget``, the app's
    ``PARTICIPANT_TOKEN_BUDGET`` (None: no budget)."""
    limit = view.token_budget or budget
    return limit is not None and view.tokens_used >= limit


def is_model_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the model endpoint's failure (participants read plain words for it; its detail
    goes to the log, and the model call's ``llmcall`` row records it)."""
    return isinstance(exc, ModelError)


def _take_turn(
    engine: Engine, *, token: str, interview_id: int, token_budget: int, stale_after_s: float
) -> tuple[InterviewPublic, Claim] | str | None:
    """Whether a reply is due and nobody writes it, and then either the reply that needs no model (stored
    here; returned as text) or the claim to write one (:mod:`services.participant.reply_claims`).

    ``None`` when no reply is due (the newest message is not a participant's waiting one, or the stage has
    no chat reply) or another call is writing it. A live claim is seen without the row lock (a waiting
    tab polls every second); the lock is taken only to end a stale claim or make a new one.
    """
    with session_scope(engine) as session:
        own_rows(session, token, interview_id)
        if reply_claims.claimed_elsewhere(session, interview_id=interview_id, stale_after_s=stale_after_s):
            return None  # another tab (or request) is writing the reply: it answers, not us
    with session_scope(engine) as session:
        rows = own_rows(session, token, interview_id, lock=True)
        interview = rows[0]
        assert interview.id is not None
        if reply_claims.claimed_elsewhere(session, interview_id=interview.id, stale_after_s=stale_after_s):
            return None  # claimed between the two looks
        reply_claims.end_stale_claims(session, interview_id=interview.id)
        view = interview_view(session, rows, with_card=False)
        stage = Stage(view.state)
        if not view.awaiting_reply or stage not in (*CONVERSATION, Stage.SHOW_CARD):
            return None
        if stage == Stage.SHOW_CARD or over_budget(view, token_budget):
            text = READY_MESSAGE if stage == Stage.SHOW_CARD else BUDGET_MESSAGE
            data = MessageCreate(interview_id=view.id, role=MessageRole.ASSISTANT, content=text)
            repo_interviews.add_message(session, data=data)
            repo_interviews.set_interview_state(session, interview=interview, state=Stage.SHOW_CARD.value)
            return text
        return view, reply_claims.claim_reply(session, engine, interview_id=view.id)


def reply(
    engine: Engine,
    model: BaseChatModel,
    *,
    token: str,
    interview_id: int,
    token_budget: int,
    retry: RetryPolicy = DEFAULT_RETRY,
    stale_after_s: float = reply_claims.DEFAULT_STALE_AFTER_S,
    reply_max_tokens: int | None = None,
) -> Generator[str]:
    """Stream the interviewer's reply to the participant's newest waiting message(s), and store it.

    Yields nothing when no reply is due or another call is writing it (see :func:`_take_turn`: one reply
    at a time, claimed under the row lock). Errors are retried with backoff before anything was shown; a
    reply cut off midway (an error, the page stopped reading, or a stream that ended without a finish
    reason) is stored as ``cut_off`` and an error propagates (a :class:`~providers.errors.ModelError`:
    one line, with a retry button beside it). When the model has enough, or the participant's token
    budget is spent, the stage becomes ``show_card`` and the caller asks for the card
    (:func:`services.participant.cards.request_card`).

    ``reply_max_tokens`` caps each reply (``LLM_REPLY_MAX_TOKENS``). The reply is shaped as it streams
    (:class:`interviews.flow.ReplyStream`: cut before another speaker's turn; with the compact prompts, a
    small model's, also after its first question, brief, and ending with its stage's question when it asks
    none, as does a reply the token cap cut). The message stores what the participant read; the model's
    own text (when it differs) and what shaping did are stored with it (``model_text``, ``shaping``).
    """
    turn = _take_turn(
        engine, token=token, interview_id=interview_id, token_budget=token_budget, stale_after_s=stale_after_s
    )
    if turn is None:
        return
    if isinstance(turn, str):
        yield turn
        return
    view, claim = turn
    claim.start_heartbeat()
    try:
        style: PromptStyle = "compact" if view.prompt_style == "compact" else "full"
        messages = interviewer_messages(
            question=view.question,
            history=transcript(view),
            stage=Stage(view.state),
            turns_left=view.turn_limit - view.user_turns,
            style=style,
        )
        config = run_metadata(view, "interview")
        fallback = fallback_question(Stage(view.state), view.user_turns)
        words = BRIEF_WORDS if style == "compact" else None  # a small model: a brief reply
        for attempt in range(retry.attempts):
            last = attempt + 1 >= retry.attempts
            stream = stream_interviewer(
                model,
                messages,
                config=config,
                max_tokens=reply_max_tokens,
                fallback=fallback,
                max_words=words,
                style=style,
            )
            try:
                for piece in stream:
                    claim.note_shaping(stream.model_text, stream.shaping)
                    if not claim.renew(stream.text):  # taken for dead by another call, which answers now
                        return
                    yield clean_model_text(piece)
            except RETRYABLE:
                if stream.text or last:
                    raise
                retry.wait(attempt)
                continue
            finally:
                stream.close()
                claim.note_shaping(stream.model_text, stream.shaping)  # all the model wrote, to its end
            text = clean_model_text(stream.text).strip()
            if not stream.finished:  # the stream ended without the model's own end: cut off
                if text or last:
                    raise ModelServerError(CUT_SHORT)
                retry.wait(attempt)
                continue
            if stream.finish_reason == "length":
                done = ", ".join(stream.shaping) or "none"
                log.warning("interview %s: the reply reached its token cap (shaping: %s)", view.id, done)
            if stream.ready:
                if not text:  # the app's words, not the model's: it only signalled
                    claim.note_shaping(stream.raw, [*stream.shaping, Shaping.READY_MESSAGE])
                claim.finish(text or READY_MESSAGE, MessageStatus.COMPLETE, state=Stage.SHOW_CARD)
                if not text:
                    yield READY_MESSAGE
                return
            if text:
                claim.finish(text, MessageStatus.COMPLETE)
                return
            if last:
                raise ModelOutputError("The model sent an empty reply.")
            retry.wait(attempt)
    except BaseException as exc:  # an error, or the page stopped reading (GeneratorExit): what was shown
        claim.close(after=exc)  # is kept as cut off; a failure of that write is logged, not raised over exc
        raise
    finally:
        claim.close()
