"""Repository functions for participants and what each one does outside the interview: the vote step's
impressions and votes, survey answers, activity and contribution counts.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from interviews.vocabulary import MessageRole
from storage.errors import NotFound
from storage.schemas import ImpressionCreate, ParticipantCreate, SurveyResponseCreate, VoteCreate
from storage.tables import (
    Impression,
    Interview,
    Judgement,
    Message,
    Participant,
    SurveyResponse,
    Vote,
    utcnow,
)


def count_participants(session: Session, *, deliberation_id: int) -> int:
    statement = (
        select(func.count()).select_from(Participant).where(Participant.deliberation_id == deliberation_id)
    )
    return int(session.exec(statement).one())


def get_participant(session: Session, *, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"There is no participant {participant_id}.")
    return participant


def get_participant_by_external_id(
    session: Session, *, deliberation_id: int, external_id: str
) -> Participant | None:
    statement = select(Participant).where(
        Participant.deliberation_id == deliberation_id, Participant.external_id == external_id
    )
    return session.exec(statement).first()


def create_participant(session: Session, *, data: ParticipantCreate) -> Participant:
    """Insert a participant (with a new random token)."""
    return create_participants(session, data=[data])[0]


def create_participants(session: Session, *, data: Sequence[ParticipantCreate]) -> list[Participant]:
    """Insert many participants in one flush (an import), in the given order."""
    participants = [Participant.model_validate(d) for d in data]
    session.add_all(participants)
    session.flush()
    return participants


def get_or_create_participant(session: Session, *, data: ParticipantCreate) -> Participant:
    """The participant with ``data``'s panel id, created when there is none (always created when it has
    no panel id). Two first visits at once (a double click, a browser's prefetch) meet on the unique key:
    the loser's insert is undone in a savepoint and it reads the winner's row, instead of failing the whole
    transaction (as PostgreSQL would).
    """
    if data.external_id is None:
        return create_participant(session, data=data)
    existing = get_participant_by_external_id(
        session, deliberation_id=data.deliberation_id, external_id=data.external_id
    )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return create_participant(session, data=data)
    except IntegrityError:
        winner = get_participant_by_external_id(
            session, deliberation_id=data.deliberation_id, external_id=data.external_id
        )
        if winner is None:
            raise
        return winner


def get_participant_by_token(session: Session, *, token: str, lock: bool = False) -> Participant | None:
    """The participant with this token; ``lock=True`` takes a row lock on PostgreSQL (which serialises one
    person's concurrent actions: two tabs, a double click). SQLite's ``BEGIN IMMEDIATE`` does so anyway.
    """
    statement = select(Participant).where(Participant.token == token)
    return session.exec(statement.with_for_update() if lock else statement).first()


def touch_participant(session: Session, *, participant: Participant) -> None:
    participant.last_seen_at = utcnow()
    session.add(participant)


def impression_counts(session: Session, *, question_id: int, value_ids: Iterable[int]) -> dict[int, int]:
    """How often each value was shown on this question (to anyone); 0 for values never shown."""
    ids = sorted(set(value_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        statement = (
            select(Impression.canonical_value_id, func.count())
            .where(Impression.question_id == question_id, col(Impression.canonical_value_id).in_(ids))
            .group_by(col(Impression.canonical_value_id))
        )
        counts.update({int(v): int(n) for v, n in session.exec(statement).all()})
    return counts


def seen_value_ids(session: Session, *, participant_id: int, question_id: int) -> set[int]:
    """Values already shown to the participant on this question (in any draw)."""
    statement = select(Impression.canonical_value_id).where(
        Impression.participant_id == participant_id, Impression.question_id == question_id
    )
    return set(session.exec(statement).all())


def latest_draw_id(session: Session, *, participant_id: int, question_id: int) -> str | None:
    """The participant's most recent draw on this question."""
    statement = (
        select(Impression.draw_id)
        .where(Impression.participant_id == participant_id, Impression.question_id == question_id)
        .order_by(col(Impression.id).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def draw_impressions(session: Session, *, participant_id: int, draw_id: str) -> Sequence[Impression]:
    """The impressions of one of the participant's draws, in the order they were shown."""
    statement = (
        select(Impression)
        .where(Impression.participant_id == participant_id, Impression.draw_id == draw_id)
        .order_by(col(Impression.id))
    )
    return session.exec(statement).all()


def add_impressions(session: Session, *, data: Sequence[ImpressionCreate], ordered: bool = True) -> None:
    """Record that values were shown (a draw's, in the order shown).

    ``ordered``: one insert at a time, so ids follow the given order on every backend (a draw is read back
    in id order); an import whose order does not matter passes ``False`` for one batched flush.
    """
    for row in data:
        session.add(Impression.model_validate(row))
        if ordered:
            session.flush()
    session.flush()


def add_votes(session: Session, *, data: Sequence[VoteCreate]) -> None:
    """Insert votes in one flush (an import; a participant's vote goes through :func:`set_draw_votes`)."""
    session.add_all(Vote.model_validate(row) for row in data)
    session.flush()


def question_votes(session: Session, *, participant_id: int, question_id: int) -> Sequence[Vote]:
    statement = select(Vote).where(Vote.participant_id == participant_id, Vote.question_id == question_id)
    return session.exec(statement.order_by(col(Vote.id))).all()


def set_draw_votes(
    session: Session,
    *,
    participant_id: int,
    question_id: int,
    draw_id: str,
    shown_ids: Iterable[int],
    chosen_ids: Iterable[int],
) -> None:
    """Make the participant's votes on the values of one draw match their selection: a shown value that is
    chosen has a vote (its existing one, from whichever draw, or a new one with this ``draw_id``); a shown
    value that is not chosen has none. Values outside the draw are left alone.
    """
    shown, chosen = set(shown_ids), list(dict.fromkeys(chosen_ids))
    existing = {
        v.canonical_value_id: v
        for v in question_votes(session, participant_id=participant_id, question_id=question_id)
    }
    for value_id, vote in existing.items():
        if value_id in shown and value_id not in chosen:
            session.delete(vote)
    session.flush()
    for value_id in chosen:
        if value_id in existing:
            continue
        try:
            with session.begin_nested():
                session.add(
                    Vote(
                        participant_id=participant_id,
                        canonical_value_id=value_id,
                        question_id=question_id,
                        draw_id=draw_id,
                    )
                )
                session.flush()
        except IntegrityError:  # the same vote arrived through another request meanwhile
            continue


def latest_activity(session: Session, *, participant_id: int) -> datetime | None:
    """When the participant last drew or cast a vote (``None`` if they never did)."""
    impressions = session.exec(
        select(func.max(Impression.created_at)).where(Impression.participant_id == participant_id)
    ).one()
    votes = session.exec(select(func.max(Vote.created_at)).where(Vote.participant_id == participant_id)).one()
    found = [t for t in (impressions, votes) if t is not None]
    return max(found) if found else None


def survey_answers(session: Session, *, participant_id: int) -> dict[str, Any]:
    statement = select(SurveyResponse).where(SurveyResponse.participant_id == participant_id)
    return {r.question_key: r.answer for r in session.exec(statement).all()}


def set_survey_answer(session: Session, *, data: SurveyResponseCreate) -> None:
    """Insert or update the participant's answer to ``data.question_key``; ``data.answer=None`` deletes it."""

    def find() -> SurveyResponse | None:
        statement = select(SurveyResponse).where(
            SurveyResponse.participant_id == data.participant_id,
            SurveyResponse.question_key == data.question_key,
        )
        return session.exec(statement).first()

    found = find()
    if data.answer is None:
        if found is not None:
            session.delete(found)
            session.flush()
        return
    if found is None:
        try:
            with session.begin_nested():
                session.add(SurveyResponse.model_validate(data))
                session.flush()
            return
        except IntegrityError:
            found = find()
            if found is None:
                raise
    found.answer = data.answer
    session.add(found)
    session.flush()


def contribution_counts(session: Session, *, participant_id: int) -> tuple[int, int, int]:
    """Messages the participant wrote in interviews, votes they cast, stories they judged."""
    messages = session.exec(
        select(func.count())
        .select_from(Message)
        .join(Interview, col(Interview.id) == col(Message.interview_id))
        .where(Interview.participant_id == participant_id, Message.role == MessageRole.USER)
    ).one()
    votes = session.exec(
        select(func.count()).select_from(Vote).where(Vote.participant_id == participant_id)
    ).one()
    judgements = session.exec(
        select(func.count()).select_from(Judgement).where(Judgement.participant_id == participant_id)
    ).one()
    return int(messages), int(votes), int(judgements)
