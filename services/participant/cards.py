"""The participant's values card: write it from the interview, revise it by chatting or edit it by hand,
submit it, then propose the contexts where its value is wise (DOMAIN.md §3 step 4, §6).

A card reaches ``submitted`` only through :func:`submit_card` with the digest of the card the participant
was shown, and only when it passes the card rules: whatever a participant (or an injected instruction)
makes the model write, nothing is submitted that the participant did not see and confirm. As in the
conversation (:mod:`services.participant.interviewing`), no session is held open while a model runs.
"""

from __future__ import annotations

import logging

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput, StudioError, one_line
from interviews import articulate as articulation
from interviews.cards import CardDraft, lint_card
from interviews.flow import CONVERSATION, READY_MESSAGE, Event, InvalidTransition, Stage, advance
from interviews.text_rules import check_text, clean_model_text
from interviews.vocabulary import CardStatus, MessageRole, ParticipantStage
from services.jobs import contexts, pipeline
from services.participant.interviewing import (
    get_interview,
    interview_view,
    over_budget,
    own_rows,
    rows_of,
    run_metadata,
    transcript,
)
from services.participant.joining import participant_for_token
from services.runtime.background import BackgroundJobs
from services.runtime.retrying import DEFAULT_RETRY, RetryPolicy
from storage import repo_interviews
from storage.db import Session, session_scope
from storage.schemas import CardPublic, InterviewPublic, MessageCreate, ValuesCardCreate
from storage.tables import ValuesCard, utcnow

log = logging.getLogger(__name__)

REVISED_MESSAGE = "Here is the card again, rewritten with your changes."
#: Said instead of :data:`REVISED_MESSAGE` when the rewrite came back the same as the draft it started from.
UNCHANGED_MESSAGE = (
    "I could not turn what you said into a change: the card is the same as before. You can edit it "
    "yourself, or tell me more exactly what to change."
)
CHANGES_MESSAGE = "What would you like to change about the card, and why?"
BACK_MESSAGE = (
    "Of course, let's keep talking. What else should I understand about what matters to you here? When "
    "you are ready, ask for your card again: I will write it from our whole conversation."
)
LENGTH_LIMIT = "We have reached the length limit for this conversation: please edit the card yourself."


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
    participant's budget is spent (the deliberation's ``token_budget`` setting, else ``token_budget``, the
    app's; the edit form still works).
    """
    view = get_interview(engine, token=token, interview_id=interview_id)
    if Stage(view.state) == Stage.SUBMITTED:
        raise InvalidInput("This card is already submitted.")
    last_user = max((m.created_at for m in view.messages if m.role == MessageRole.USER), default=None)
    if view.card is not None and view.card.status == CardStatus.DRAFT and not view.awaiting_reply:
        with session_scope(engine) as session:
            card = repo_interviews.get_card(session, card_id=view.card.id)
            if last_user is None or card.created_at >= last_user:
                _set_state(session, view.id, Stage.SHOW_CARD)
                return view.card
    revising = Stage(view.state) == Stage.REVISE
    if revising and over_budget(view, token_budget):
        raise InvalidInput(
            "We have reached the length limit for this conversation: please edit the card yourself."
        )
    current = None
    if revising and view.card is not None:  # the draft being revised, with the participant's own edits
        current = CardDraft(
            title=view.card.title, description=view.card.description, policies=view.card.policies
        )
    config = run_metadata(view, "articulate")
    result = retry.call(
        lambda: articulation.articulate(
            model,
            question=view.question,
            transcript=transcript(view),
            current=current,
            config=config,
            style="compact" if view.prompt_style == "compact" else "full",
        )
    )
    with session_scope(engine) as session:
        interview = repo_interviews.get_interview(session, interview_id=view.id, lock=True)
        if interview.state == Stage.SUBMITTED.value:  # another tab submitted while the model wrote
            raise InvalidInput("This card is already submitted.")
        latest = repo_interviews.latest_card(session, interview_id=view.id)
        if latest is not None and (view.card is None or latest.id != view.card.id):
            return CardPublic.of(latest)  # another tab wrote a card meanwhile: show that one, not a second
        draft = ValuesCardCreate(
            participant_id=view.participant_id,
            question_id=view.question_id,
            interview_id=view.id,
            title=clean_model_text(result.card.title).strip(),  # what the model wrote (interviews.text_rules)
            description=clean_model_text(result.card.description).strip(),
            policies=[clean_model_text(p).strip() for p in result.card.policies],
            quality_flags=sorted(
                {p.code for p in result.problems} | ({"repaired"} if result.repaired else set())
            ),
        )
        stored = repo_interviews.add_card(session, data=draft)
        if revising or Stage(view.state) in CONVERSATION:
            same = current is not None and (draft.title, draft.description, draft.policies) == (
                current.title,
                current.description,
                current.policies,
            )
            note = (UNCHANGED_MESSAGE if same else REVISED_MESSAGE) if revising else READY_MESSAGE
            repo_interviews.add_message(
                session, data=MessageCreate(interview_id=view.id, role=MessageRole.ASSISTANT, content=note)
            )
        repo_interviews.set_interview_state(session, interview=interview, state=Stage.SHOW_CARD.value)
        session.flush()
        return CardPublic.of(stored)


def _set_state(session: Session, interview_id: int, stage: Stage) -> None:
    interview = repo_interviews.get_interview(session, interview_id=interview_id)
    if interview.state != stage.value:
        repo_interviews.set_interview_state(session, interview=interview, state=stage.value)


def ask_for_changes(engine: Engine, *, token: str, interview_id: int) -> InterviewPublic:
    """The participant wants to change the card by chatting: stage ``revise`` and a prompt to say what."""
    with session_scope(engine) as session:
        interview = own_rows(session, token, interview_id, lock=True)[0]
        try:
            stage = advance(Stage(interview.state), Event.REVISE, user_turns=0, turn_limit=1)
        except InvalidTransition as exc:
            raise InvalidInput(f"There is nothing to change: {exc}.") from exc
        assert interview.id is not None
        if interview.state != stage.value:
            repo_interviews.add_message(
                session,
                data=MessageCreate(
                    interview_id=interview.id, role=MessageRole.ASSISTANT, content=CHANGES_MESSAGE
                ),
            )
            repo_interviews.set_interview_state(session, interview=interview, state=stage.value)
        return interview_view(session, rows_of(session, interview.id))


def back_to_conversation(
    engine: Engine, *, token: str, interview_id: int, token_budget: int | None = None
) -> InterviewPublic:
    """The participant leaves the card for the conversation (:data:`interviews.flow.Event.BACK`).

    The interviewer says so in a message that asks a question, so the chat box continues the interview;
    the next card ("Show me my card now", the model, or the turn limit) is written from the longer
    conversation. Idempotent (a double click or a second tab adds one message). Refused once the turn
    limit or the participant's token budget (the deliberation's, else ``token_budget``) leaves no room for
    more conversation.
    """
    with session_scope(engine) as session:
        rows = own_rows(session, token, interview_id, lock=True)
        interview = rows[0]
        assert interview.id is not None
        view = interview_view(session, rows, with_card=False)
        if interview.state not in CONVERSATION and over_budget(view, token_budget):
            raise InvalidInput(LENGTH_LIMIT)
        try:
            stage = advance(
                Stage(interview.state), Event.BACK, user_turns=view.user_turns, turn_limit=view.turn_limit
            )
        except InvalidTransition as exc:
            if Stage(interview.state) in (Stage.SHOW_CARD, Stage.REVISE):
                raise InvalidInput(LENGTH_LIMIT) from exc
            raise InvalidInput(f"You cannot go back to the conversation: {exc}.") from exc
        if interview.state != stage.value:
            back = MessageCreate(interview_id=interview.id, role=MessageRole.ASSISTANT, content=BACK_MESSAGE)
            repo_interviews.add_message(session, data=back)
            repo_interviews.set_interview_state(session, interview=interview, state=stage.value)
        return interview_view(session, rows_of(session, interview.id))


def edit_card(
    engine: Engine, *, token: str, card_id: int, title: str, description: str, policies: list[str]
) -> CardPublic:
    """Save the participant's own edit of their draft; the result lists any card rule it still breaks."""
    lines = [(p, f"Line {i} of what you pay attention to") for i, p in enumerate(policies, 1)]
    for text, what in [(title, "The title"), (description, "The sentence"), *lines]:
        check_text(text, what=what)  # no NUL or lone surrogate (interviews.text_rules)
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
        if card.status != CardStatus.DRAFT:
            raise InvalidInput("This card is already submitted and can no longer be edited.")
        card.title, card.description, card.policies = draft.title, draft.description, list(draft.policies)
        card.edited_by_participant = True
        card.quality_flags = sorted({p.code for p in lint_card(draft)})
        session.add(card)
        session.flush()
        return CardPublic.of(card)


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
        current = CardPublic.of(card)
        if current.digest != digest:
            raise InvalidInput("The card changed since you saw it. Please read it again before confirming.")
        if card.status == CardStatus.SUBMITTED:
            return current
        if card.status != CardStatus.DRAFT:
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
        card.status, card.submitted_at = CardStatus.SUBMITTED.value, utcnow()
        session.add(card)
        repo_interviews.set_interview_state(session, interview=interview, state=Stage.SUBMITTED.value)
        participant = participant_for_token(session, token)
        before_vote = (ParticipantStage.JOINED, ParticipantStage.CONSENTED, ParticipantStage.INTERVIEW)
        if participant.stage in before_vote:
            participant.stage = ParticipantStage.VOTE.value
            session.add(participant)
        session.flush()
        return CardPublic.of(card)


def start_pipeline(
    jobs: BackgroundJobs,
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    token: str,
    card_id: int,
    automatic: bool = True,
) -> None:
    """After a submit, on the side-job pool (nobody waits for it): the continuous pipeline for the card
    (:mod:`services.jobs.pipeline`: its contexts, dedup, the stories of its value's new pairs), or, when
    the automatic pipeline is off (``PIPELINE=off``), only its contexts (:func:`mine_contexts`)."""
    with session_scope(engine) as session:
        card = _own_card(session, token, card_id)
        if card.status != CardStatus.SUBMITTED:
            raise InvalidInput("The pipeline starts from submitted cards only.")
        deliberation_id = participant_for_token(session, token).deliberation_id
    if automatic:
        pipeline.submit(jobs, engine, model, embeddings, card_id=card_id, deliberation_id=deliberation_id)
    else:
        jobs.submit(
            f"mining contexts for card {card_id}", mine_contexts, engine, model, token=token, card_id=card_id
        )


def mine_contexts(engine: Engine, model: BaseChatModel, *, token: str, card_id: int) -> list[str]:
    """After a submit: propose the contexts in which the card's value is wise (DOMAIN.md §6).

    Best effort: the card is already safe, so a model failure is logged instead of reaching the
    participant; the card stays unmarked, so calling this again retries it. Returns the contexts added.
    """
    with session_scope(engine) as session:
        card = _own_card(session, token, card_id)
        if card.status != CardStatus.SUBMITTED:
            raise InvalidInput("Contexts are proposed for submitted cards only.")
    try:
        return contexts.mine_for_card(engine, model, card_id=card_id)
    except StudioError as exc:
        log.warning("mining contexts for card %s failed: %s", card_id, one_line(exc))
        return []
