"""The participant's interview: start, chat, see the card, revise or edit it, submit it.

Every participant message is stored before the model is called; every reply is stored when it is
complete (a reply cut off by an error is stored with status ``cut_off``). No session is held open while a
model runs, so the accounting of that call (a separate write) never waits on us. The interview resumes
from the database alone: a reload or a server restart loses nothing.

A card reaches ``submitted`` only through :func:`submit_card` with the digest of the card the participant
was shown, and only when it passes the card rules: whatever a participant (or an injected instruction)
makes the model write, nothing is submitted that the participant did not see and confirm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from interviews import articulate as articulation
from interviews.cards import CardDraft, lint_card
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
from providers.errors import ModelOutputError
from services import contexts
from services.errors import USER_ERRORS, InvalidInput, one_line
from services.joining import participant_for_token
from services.retrying import DEFAULT_RETRY, RETRYABLE, RetryPolicy
from services.version import APP_VERSION
from storage import repo_interviews
from storage.db import session_scope
from storage.schemas import CardPublic, DeliberationConfig, InterviewPublic, MessagePublic
from storage.tables import Deliberation, Interview, Participant, Question, ValuesCard, utcnow

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
INTERVIEW_PROMPTS = ("interviewer", *articulation.PROMPTS)
REVISED_MESSAGE = "Here is the card again, rewritten with your changes."
CHANGES_MESSAGE = "What would you like to change about the card, and why?"


# --- reading ---------------------------------------------------------------------------------------


Context = tuple[Interview, Question, Deliberation, Participant]


def _own_context(session: Session, token: str, interview_id: int, *, lock: bool = False) -> Context:
    """The participant's interview with its question and deliberation (one query on the happy path)."""
    context = repo_interviews.interview_context(session, interview_id=interview_id, token=token, lock=lock)
    if context is None:  # find out why, to say so plainly
        participant_for_token(session, token)
        repo_interviews.get_interview(session, interview_id=interview_id)
        raise InvalidInput("This interview belongs to someone else.")
    return context


def _own_interview(session: Session, token: str, interview_id: int, *, lock: bool = False) -> Interview:
    return _own_context(session, token, interview_id, lock=lock)[0]


def _context(session: Session, interview_id: int) -> Context:
    context = repo_interviews.interview_context(session, interview_id=interview_id)
    assert context is not None
    return context


def card_public(card: ValuesCard) -> CardPublic:
    draft = CardDraft(title=card.title, description=card.description, policies=list(card.policies))
    return CardPublic.model_validate(
        card, update={"digest": draft.digest(), "problems": [str(p) for p in lint_card(draft)]}
    )


def _view(session: Session, context: Context, *, with_card: bool = True) -> InterviewPublic:
    interview, question, deliberation, _ = context
    assert interview.id is not None
    messages = repo_interviews.list_messages(session, interview_id=interview.id)
    complete = [m for m in messages if m.status == "complete"]
    card = repo_interviews.latest_card(session, interview_id=interview.id) if with_card else None
    return InterviewPublic(
        id=interview.id,
        participant_id=interview.participant_id,
        question_id=interview.question_id,
        deliberation_id=question.deliberation_id,
        question=question.text,
        state=interview.state,
        messages=[MessagePublic.model_validate(m) for m in messages],
        card=card_public(card) if card else None,
        awaiting_reply=bool(complete) and complete[-1].role == "user",
        user_turns=sum(m.role == "user" for m in messages),
        turn_limit=DeliberationConfig.model_validate(deliberation.config).interview_turn_limit,
    )


def get_interview(engine: Engine, *, token: str, interview_id: int) -> InterviewPublic:
    with session_scope(engine) as session:
        return _view(session, _own_context(session, token, interview_id))


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
        return _view(session, _context(session, interview.id))


def current_interview(engine: Engine, *, token: str) -> InterviewPublic | None:
    """The participant's most recent interview that was not abandoned (``None`` before the first)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        interviews = repo_interviews.list_participant_interviews(session, participant_id=participant.id)
        live = [i for i in interviews if i.state != "abandoned"]
        if not live:
            return None
        assert live[-1].id is not None
        return _view(session, _context(session, live[-1].id))


def transcript(view: InterviewPublic) -> list[Turn]:
    """The complete messages of an interview as the core's turns (cut-off replies left out)."""
    return [
        Turn("user" if m.role == "user" else "assistant", m.content)
        for m in view.messages
        if m.status == "complete" and m.role in ("user", "assistant")
    ]


# --- the conversation ------------------------------------------------------------------------------


def start_interview(engine: Engine, *, token: str, question_id: int, model_id: str = "") -> InterviewPublic:
    """Start (or resume: the call is idempotent) the participant's interview on ``question_id``.

    The participant's row is locked, so two tabs starting at once get one interview.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        question = repo_interviews.get_question(session, question_id=question_id)
        if question.deliberation_id != participant.deliberation_id:
            raise InvalidInput("This question is not part of your deliberation.")
        existing = repo_interviews.find_interview(
            session, participant_id=participant.id, question_id=question_id
        )
        if existing is not None:
            assert existing.id is not None
            return _view(session, _context(session, existing.id))
        interview = repo_interviews.create_interview(
            session,
            participant_id=participant.id,
            question_id=question_id,
            prompt_versions={name: load_prompt(name).ref for name in INTERVIEW_PROMPTS},
            model_id=model_id,
            app_version=APP_VERSION,
        )
        assert interview.id is not None
        repo_interviews.add_message(
            session, interview_id=interview.id, role="assistant", content=opening_message(question.text)
        )
        if participant.stage in ("joined", "consented"):
            participant.stage = "interview"
            session.add(participant)
        return _view(session, _context(session, interview.id))


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
        interview, _, deliberation, _ = _own_context(session, token, interview_id, lock=True)
        assert interview.id is not None
        last, user_turns = repo_interviews.message_tail(session, interview_id=interview.id)
        if last is not None and last.role == "user" and last.content == text:
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
            session, interview_id=interview.id, role="user", content=text, after=last.seq if last else None
        )
        repo_interviews.set_interview_state(session, interview=interview, state=stage.value)
        return MessagePublic.model_validate(message)


def _metadata(view: InterviewPublic, purpose: str) -> RunnableConfig:
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
    status: str = "complete",
    state: Stage | None = None,
) -> None:
    """Store an interviewer message. The interview row is locked first, as :func:`post_message` does, so a
    participant message arriving meanwhile (another tab) is ordered before it instead of colliding.
    """
    with session_scope(engine) as session:
        interview = repo_interviews.get_interview(session, interview_id=view.id, lock=True)
        repo_interviews.add_message(
            session, interview_id=view.id, role="assistant", content=content, status=status
        )
        if state is not None:
            repo_interviews.set_interview_state(session, interview=interview, state=state.value)


def budget_spent(engine: Engine, *, participant_id: int, budget: int | None) -> bool:
    """Whether the participant's interview calls (chat and card writing) used up ``budget`` tokens."""
    if budget is None:
        return False
    with session_scope(engine) as session:
        return repo_interviews.tokens_used(session, participant_id=participant_id) >= budget


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
    ``show_card`` and the caller asks for the card (:func:`request_card`).
    """
    with session_scope(engine) as session:
        view = _view(session, _own_context(session, token, interview_id), with_card=False)
        if not view.awaiting_reply or Stage(view.state) not in (*CONVERSATION, Stage.SHOW_CARD):
            return
        spent = repo_interviews.tokens_used(session, participant_id=view.participant_id) >= token_budget
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
    config = _metadata(view, "interview")
    for attempt in range(retry.attempts):
        stream = stream_interviewer(model, messages, config=config)
        try:
            yield from stream
        except RETRYABLE:
            if stream.text:
                _append(engine, view, stream.text, status="cut_off")
                raise
            if attempt + 1 >= retry.attempts:
                raise
            retry.wait(attempt)
            continue
        except Exception:
            if stream.text:
                _append(engine, view, stream.text, status="cut_off")
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


# --- the card --------------------------------------------------------------------------------------


def request_card(
    engine: Engine,
    model: BaseChatModel,
    *,
    token: str,
    interview_id: int,
    token_budget: int | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> CardPublic:
    """Write (or rewrite, after the participant asked for changes) the card from the conversation.

    A rewrite sees the current draft, the participant's own edits included. Idempotent: when the latest
    draft is newer than the participant's last message it is returned as is. Rewrites stop once the
    participant's ``token_budget`` is spent (the edit form still works).
    """
    view = get_interview(engine, token=token, interview_id=interview_id)
    if Stage(view.state) == Stage.SUBMITTED:
        raise InvalidInput("This card is already submitted.")
    last_user = max((m.created_at for m in view.messages if m.role == "user"), default=None)
    if view.card is not None and view.card.status == "draft" and not view.awaiting_reply:
        with session_scope(engine) as session:
            card = repo_interviews.get_card(session, card_id=view.card.id)
            if last_user is None or card.created_at >= last_user:
                _set_state(session, view.id, Stage.SHOW_CARD)
                return view.card
    revising = Stage(view.state) == Stage.REVISE
    if revising and budget_spent(engine, participant_id=view.participant_id, budget=token_budget):
        raise InvalidInput(
            "We have reached the length limit for this conversation: please edit the card yourself."
        )
    current = None
    if revising and view.card is not None:  # the draft being revised, with the participant's own edits
        current = CardDraft(
            title=view.card.title, description=view.card.description, policies=view.card.policies
        )
    config = _metadata(view, "articulate")
    result = retry.call(
        lambda: articulation.articulate(
            model, question=view.question, transcript=transcript(view), current=current, config=config
        )
    )
    with session_scope(engine) as session:
        interview = repo_interviews.get_interview(session, interview_id=view.id, lock=True)
        if interview.state == Stage.SUBMITTED.value:  # another tab submitted while the model wrote
            raise InvalidInput("This card is already submitted.")
        latest = repo_interviews.latest_card(session, interview_id=view.id)
        if latest is not None and (view.card is None or latest.id != view.card.id):
            return card_public(latest)  # another tab wrote a card meanwhile: show that one, not a second
        card = ValuesCard(
            participant_id=view.participant_id,
            question_id=view.question_id,
            interview_id=view.id,
            title=result.card.title.strip(),
            description=result.card.description.strip(),
            policies=[p.strip() for p in result.card.policies],
            quality_flags=sorted(
                {p.code for p in result.problems} | ({"repaired"} if result.repaired else set())
            ),
        )
        session.add(card)
        if revising or Stage(view.state) in CONVERSATION:
            note = REVISED_MESSAGE if revising else READY_MESSAGE
            repo_interviews.add_message(session, interview_id=view.id, role="assistant", content=note)
        repo_interviews.set_interview_state(session, interview=interview, state=Stage.SHOW_CARD.value)
        session.flush()
        return card_public(card)


def _set_state(session: Session, interview_id: int, stage: Stage) -> None:
    interview = repo_interviews.get_interview(session, interview_id=interview_id)
    if interview.state != stage.value:
        repo_interviews.set_interview_state(session, interview=interview, state=stage.value)


def ask_for_changes(engine: Engine, *, token: str, interview_id: int) -> InterviewPublic:
    """The participant wants to change the card by chatting: stage ``revise`` and a prompt to say what."""
    with session_scope(engine) as session:
        interview = _own_interview(session, token, interview_id, lock=True)
        try:
            stage = advance(Stage(interview.state), Event.REVISE, user_turns=0, turn_limit=1)
        except InvalidTransition as exc:
            raise InvalidInput(f"There is nothing to change: {exc}.") from exc
        assert interview.id is not None
        if interview.state != stage.value:
            repo_interviews.add_message(
                session, interview_id=interview.id, role="assistant", content=CHANGES_MESSAGE
            )
            repo_interviews.set_interview_state(session, interview=interview, state=stage.value)
        return _view(session, _context(session, interview.id))


def edit_card(
    engine: Engine, *, token: str, card_id: int, title: str, description: str, policies: list[str]
) -> CardPublic:
    """Save the participant's own edit of their draft; the result lists any card rule it still breaks."""
    try:
        draft = CardDraft(
            title=title.strip(),
            description=description.strip(),
            policies=[p.strip() for p in policies if p.strip()],
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        card = _own_card(session, token, card_id, lock=True)
        if card.status != "draft":
            raise InvalidInput("This card is already submitted and can no longer be edited.")
        card.title, card.description, card.policies = draft.title, draft.description, list(draft.policies)
        card.edited_by_participant = True
        card.quality_flags = sorted({p.code for p in lint_card(draft)})
        session.add(card)
        session.flush()
        return card_public(card)


def _own_card(session: Session, token: str, card_id: int, *, lock: bool = False) -> ValuesCard:
    """The participant's card; ``lock`` first locks its interview (as every writer of the interview does),
    then reads the card fresh, so an edit in another tab cannot land between a check and a write.
    """
    participant = participant_for_token(session, token)
    card = repo_interviews.get_card(session, card_id=card_id)
    if card.participant_id != participant.id:
        raise InvalidInput("This card belongs to someone else.")
    if lock and card.interview_id is not None:
        repo_interviews.get_interview(session, interview_id=card.interview_id, lock=True)
        session.refresh(card)
    return card


def submit_card(engine: Engine, *, token: str, card_id: int, digest: str) -> CardPublic:
    """Submit the card the participant confirmed; ``digest`` is :attr:`CardPublic.digest` of what they saw.

    Idempotent for the same card and digest. Refuses a card that changed since it was shown, or that still
    breaks a card rule.
    """
    with session_scope(engine) as session:
        card = _own_card(session, token, card_id, lock=True)
        current = card_public(card)
        if current.digest != digest:
            raise InvalidInput("The card changed since you saw it. Please read it again before confirming.")
        if card.status == "submitted":
            return current
        if card.status != "draft":
            raise InvalidInput("This card can no longer be submitted.")
        if current.problems:
            raise InvalidInput("Please fix the card first: " + "; ".join(current.problems))
        assert card.interview_id is not None
        interview = repo_interviews.get_interview(session, interview_id=card.interview_id, lock=True)
        latest = repo_interviews.latest_card(session, interview_id=card.interview_id)
        if latest is not None and latest.id != card.id:
            raise InvalidInput("There is a newer version of this card. Please confirm that one.")
        try:
            advance(Stage(interview.state), Event.CONFIRMED, user_turns=0, turn_limit=1)
        except InvalidTransition as exc:
            raise InvalidInput(f"This card cannot be submitted: {exc}.") from exc
        card.status, card.submitted_at = "submitted", utcnow()
        session.add(card)
        repo_interviews.set_interview_state(session, interview=interview, state=Stage.SUBMITTED.value)
        participant = participant_for_token(session, token)
        if participant.stage in ("joined", "consented", "interview"):
            participant.stage = "vote"
            session.add(participant)
        session.flush()
        return card_public(card)


def mine_contexts(engine: Engine, model: BaseChatModel, *, token: str, card_id: int) -> list[str]:
    """After a submit: propose the contexts in which the card's value is wise (DOMAIN.md §6).

    Best effort: the card is already safe, so a model failure is logged instead of reaching the
    participant; the card stays unmarked, so calling this again retries it. Returns the contexts added.
    """
    with session_scope(engine) as session:
        card = _own_card(session, token, card_id)
        if card.status != "submitted":
            raise InvalidInput("Contexts are proposed for submitted cards only.")
    try:
        return contexts.mine_for_card(engine, model, card_id=card_id)
    except USER_ERRORS as exc:
        log.warning("mining contexts for card %s failed: %s", card_id, one_line(exc))
        return []
