"""Repository functions for interviews, their messages and the cards they produce.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.errors import NotFound
from storage.tables import (
    Deliberation,
    Interview,
    LLMCall,
    Message,
    Participant,
    Question,
    ValuesCard,
    utcnow,
)


def get_question(session: Session, *, question_id: int) -> Question:
    question = session.get(Question, question_id)
    if question is None:
        raise NotFound(f"There is no question {question_id}.")
    return question


def get_interview(session: Session, *, interview_id: int, lock: bool = False) -> Interview:
    """The interview; ``lock=True`` takes a row lock on PostgreSQL (SQLite serialises writers anyway)."""
    statement = select(Interview).where(Interview.id == interview_id)
    if lock:
        statement = statement.with_for_update()
    interview = session.exec(statement).first()
    if interview is None:
        raise NotFound(f"There is no interview {interview_id}.")
    return interview


def interview_context(
    session: Session, *, interview_id: int, token: str | None = None, lock: bool = False
) -> tuple[Interview, Question, Deliberation, Participant] | None:
    """The interview with its question, deliberation and participant, in one query; ``None`` when there is
    no such interview (or, with ``token``, when it is not that participant's). ``lock``: see
    :func:`get_interview`.
    """
    statement = (
        select(Interview, Question, Deliberation, Participant)
        .join(Question, col(Question.id) == Interview.question_id)
        .join(Deliberation, col(Deliberation.id) == Question.deliberation_id)
        .join(Participant, col(Participant.id) == Interview.participant_id)
        .where(Interview.id == interview_id)
    )
    if token is not None:
        statement = statement.where(Participant.token == token)
    if lock:
        statement = statement.with_for_update(of=Interview)  # type: ignore[arg-type]
    return session.exec(statement).first()


def find_interview(session: Session, *, participant_id: int, question_id: int) -> Interview | None:
    """The participant's latest interview on this question that was not abandoned."""
    statement = (
        select(Interview)
        .where(
            Interview.participant_id == participant_id,
            Interview.question_id == question_id,
            Interview.state != "abandoned",
        )
        .order_by(col(Interview.id).desc())
    )
    return session.exec(statement).first()


def list_participant_interviews(session: Session, *, participant_id: int) -> Sequence[Interview]:
    statement = (
        select(Interview).where(Interview.participant_id == participant_id).order_by(col(Interview.id))
    )
    return session.exec(statement).all()


def create_interview(
    session: Session,
    *,
    participant_id: int,
    question_id: int,
    prompt_versions: dict[str, str],
    model_id: str,
    app_version: str,
) -> Interview:
    interview = Interview(
        participant_id=participant_id,
        question_id=question_id,
        prompt_versions=prompt_versions,
        model_id=model_id[:200],
        app_version=app_version,
    )
    session.add(interview)
    session.flush()
    return interview


def set_interview_state(session: Session, *, interview: Interview, state: str) -> None:
    interview.state = state
    interview.updated_at = utcnow()
    if state == "submitted":
        interview.finished_at = interview.updated_at
    session.add(interview)


def list_messages(session: Session, *, interview_id: int) -> Sequence[Message]:
    statement = select(Message).where(Message.interview_id == interview_id).order_by(col(Message.seq))
    return session.exec(statement).all()


def message_tail(session: Session, *, interview_id: int) -> tuple[Message | None, int]:
    """The interview's last message and how many messages the participant wrote (one query)."""
    users = (
        select(func.count())
        .where(Message.interview_id == interview_id, Message.role == "user")
        .scalar_subquery()
    )
    row = session.exec(
        select(Message, users).where(Message.interview_id == interview_id).order_by(col(Message.seq).desc())
    ).first()
    return (row[0], int(row[1])) if row else (None, 0)


def add_message(
    session: Session,
    *,
    interview_id: int,
    role: str,
    content: str,
    status: str = "complete",
    after: int | None = None,
) -> Message:
    """Append a message after ``seq`` ``after`` (looked up when not given; ``-1``: the first message).

    Two concurrent appends collide on the (interview, seq) key instead of interleaving silently.
    """
    if after is None:
        last = session.exec(select(func.max(Message.seq)).where(Message.interview_id == interview_id)).one()
        after = -1 if last is None else last
    message = Message(interview_id=interview_id, seq=after + 1, role=role, content=content, status=status)
    session.add(message)
    session.flush()
    return message


def latest_card(session: Session, *, interview_id: int) -> ValuesCard | None:
    statement = (
        select(ValuesCard).where(ValuesCard.interview_id == interview_id).order_by(col(ValuesCard.id).desc())
    )
    return session.exec(statement).first()


def get_card(session: Session, *, card_id: int) -> ValuesCard:
    card = session.get(ValuesCard, card_id)
    if card is None:
        raise NotFound(f"There is no values card {card_id}.")
    return card


#: The model calls a participant's token budget counts: their own conversation and card writing (not
#: the facilitator's jobs that mention them, such as grading or context mining).
BUDGET_PURPOSES = ("interview", "articulate")


def tokens_used(session: Session, *, participant_id: int) -> int:
    """Tokens (in + out) of the participant's interview calls (:data:`BUDGET_PURPOSES`)."""
    total = session.exec(
        select(func.coalesce(func.sum(LLMCall.tokens_in + LLMCall.tokens_out), 0)).where(
            LLMCall.participant_id == participant_id, col(LLMCall.purpose).in_(BUDGET_PURPOSES)
        )
    ).one()
    return int(total)
