"""Repository functions for what a participant does after the interview: vote, judge, survey, receipt.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does).
Inserts that a double click or a second tab may repeat run in a savepoint and fall back to the row that
won, so a repeated action never fails on a unique key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.tables import (
    CanonicalValue,
    Impression,
    Interview,
    Judgement,
    Message,
    QuestionContext,
    SurveyResponse,
    ValuesCard,
    Vote,
)

# --- the participant ---------------------------------------------------------------------------------


def participant_cards(
    session: Session, *, participant_id: int, question_id: int | None = None, submitted_only: bool = True
) -> Sequence[ValuesCard]:
    """The participant's cards (submitted ones only by default), oldest first."""
    statement = select(ValuesCard).where(ValuesCard.participant_id == participant_id)
    if submitted_only:
        statement = statement.where(ValuesCard.status == "submitted")
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    return session.exec(statement.order_by(col(ValuesCard.id))).all()


def own_value_ids(session: Session, *, participant_id: int, question_id: int | None = None) -> set[int]:
    """Canonical values the participant's cards (any status) joined, on one question or any."""
    statement = select(ValuesCard.canonical_value_id).where(
        ValuesCard.participant_id == participant_id, col(ValuesCard.canonical_value_id).is_not(None)
    )
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    return {int(v) for v in session.exec(statement).all() if v is not None}


def participant_question_ids(session: Session, *, participant_id: int) -> set[int]:
    """Questions the participant was interviewed on or wrote a card for."""
    interviews = select(Interview.question_id).where(Interview.participant_id == participant_id)
    cards = select(ValuesCard.question_id).where(
        ValuesCard.participant_id == participant_id, col(ValuesCard.question_id).is_not(None)
    )
    found = set(session.exec(interviews).all()) | set(session.exec(cards).all())
    return {int(q) for q in found if q is not None}


def context_ids_of_questions(session: Session, *, question_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(question_ids))
    if not wanted:
        return set()
    statement = select(QuestionContext.context_id).where(col(QuestionContext.question_id).in_(wanted))
    return set(session.exec(statement).all())


# --- vote draws --------------------------------------------------------------------------------------


def question_value_ids(session: Session, *, deliberation_id: int, question_id: int) -> list[int]:
    """Canonical values of the deliberation with a submitted member card on ``question_id`` (id order)."""
    statement = (
        select(CanonicalValue.id)
        .join(ValuesCard, col(ValuesCard.canonical_value_id) == col(CanonicalValue.id))
        .where(
            CanonicalValue.deliberation_id == deliberation_id,
            ValuesCard.question_id == question_id,
            ValuesCard.status == "submitted",
        )
        .distinct()
    )
    return sorted(int(i) for i in session.exec(statement).all() if i is not None)


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


def vote_counts(session: Session, *, question_id: int, value_ids: Iterable[int]) -> dict[int, int]:
    """How often each value was chosen on this question; 0 for values never chosen."""
    ids = sorted(set(value_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        statement = (
            select(Vote.canonical_value_id, func.count())
            .where(Vote.question_id == question_id, col(Vote.canonical_value_id).in_(ids))
            .group_by(col(Vote.canonical_value_id))
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


def add_impressions(
    session: Session, *, participant_id: int, question_id: int, draw_id: str, value_ids: Sequence[int]
) -> None:
    """Record that ``value_ids`` were shown in this draw (in this order)."""
    for value_id in value_ids:  # one at a time: ids follow the display order on every backend
        session.add(
            Impression(
                participant_id=participant_id,
                canonical_value_id=value_id,
                question_id=question_id,
                draw_id=draw_id,
            )
        )
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


# --- judgements --------------------------------------------------------------------------------------


def participant_judgements(session: Session, *, participant_id: int) -> Sequence[Judgement]:
    """Every judgement of the participant, oldest first."""
    statement = select(Judgement).where(Judgement.participant_id == participant_id)
    return session.exec(statement.order_by(col(Judgement.id))).all()


def get_judgement(session: Session, *, participant_id: int, hypothesis_id: int) -> Judgement | None:
    statement = select(Judgement).where(
        Judgement.participant_id == participant_id, Judgement.hypothesis_id == hypothesis_id
    )
    return session.exec(statement).first()


def upsert_judgement(session: Session, *, judgement: Judgement) -> Judgement:
    """Insert the judgement, or update the answer and reason of the participant's one on that story."""
    found = get_judgement(
        session, participant_id=judgement.participant_id, hypothesis_id=judgement.hypothesis_id or 0
    )
    if found is None:
        try:
            with session.begin_nested():
                session.add(judgement)
                session.flush()
            return judgement
        except IntegrityError:  # a concurrent answer to the same story won: update that one
            found = get_judgement(
                session, participant_id=judgement.participant_id, hypothesis_id=judgement.hypothesis_id or 0
            )
            if found is None:
                raise
    found.answer, found.reason = judgement.answer, judgement.reason
    session.add(found)
    session.flush()
    return found


def judgement_counts(
    session: Session, *, deliberation_id: int, before: datetime | None = None
) -> dict[tuple[int, int, int], int]:
    """How many judgements each (from, to, context) of the deliberation has (made before ``before``)."""
    statement = select(
        Judgement.from_value_id, Judgement.to_value_id, Judgement.context_id, func.count()
    ).where(Judgement.deliberation_id == deliberation_id)
    if before is not None:
        statement = statement.where(Judgement.created_at < before)
    statement = statement.group_by(
        col(Judgement.from_value_id), col(Judgement.to_value_id), col(Judgement.context_id)
    )
    return {(int(f), int(t), int(c)): int(n) for f, t, c, n in session.exec(statement).all()}


def judges_of_values(session: Session, *, deliberation_id: int, value_ids: Iterable[int]) -> dict[int, int]:
    """For each value, how many participants judged a story from or to it (one query for all of them)."""
    ids = sorted(set(value_ids))
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    in_deliberation = Judgement.deliberation_id == deliberation_id
    pairs = union_all(  # (participant, value) for both ends of every judgement that touches a value
        select(
            col(Judgement.participant_id).label("participant_id"),
            col(Judgement.from_value_id).label("value_id"),
        ).where(in_deliberation, col(Judgement.from_value_id).in_(ids)),
        select(Judgement.participant_id, Judgement.to_value_id).where(
            in_deliberation, col(Judgement.to_value_id).in_(ids)
        ),
    ).subquery()
    statement = select(pairs.c.value_id, func.count(func.distinct(pairs.c.participant_id))).group_by(
        pairs.c.value_id
    )
    counts.update({int(v): int(n) for v, n in session.exec(statement).all()})
    return counts


def latest_activity(session: Session, *, participant_id: int) -> datetime | None:
    """When the participant last drew or cast a vote (``None`` if they never did)."""
    impressions = session.exec(
        select(func.max(Impression.created_at)).where(Impression.participant_id == participant_id)
    ).one()
    votes = session.exec(select(func.max(Vote.created_at)).where(Vote.participant_id == participant_id)).one()
    found = [t for t in (impressions, votes) if t is not None]
    return max(found) if found else None


# --- survey and counts -------------------------------------------------------------------------------


def survey_answers(session: Session, *, participant_id: int) -> dict[str, Any]:
    statement = select(SurveyResponse).where(SurveyResponse.participant_id == participant_id)
    return {r.question_key: r.answer for r in session.exec(statement).all()}


def set_survey_answer(session: Session, *, participant_id: int, key: str, answer: Any) -> None:
    """Insert or update the participant's answer to ``key``; ``answer=None`` deletes it."""

    def find() -> SurveyResponse | None:
        statement = select(SurveyResponse).where(
            SurveyResponse.participant_id == participant_id, SurveyResponse.question_key == key
        )
        return session.exec(statement).first()

    found = find()
    if answer is None:
        if found is not None:
            session.delete(found)
            session.flush()
        return
    if found is None:
        try:
            with session.begin_nested():
                session.add(SurveyResponse(participant_id=participant_id, question_key=key, answer=answer))
                session.flush()
            return
        except IntegrityError:
            found = find()
            if found is None:
                raise
    found.answer = answer
    session.add(found)
    session.flush()


def contribution_counts(session: Session, *, participant_id: int) -> tuple[int, int, int]:
    """Messages the participant wrote in interviews, votes they cast, stories they judged."""
    messages = session.exec(
        select(func.count())
        .select_from(Message)
        .join(Interview, col(Interview.id) == col(Message.interview_id))
        .where(Interview.participant_id == participant_id, Message.role == "user")
    ).one()
    votes = session.exec(
        select(func.count()).select_from(Vote).where(Vote.participant_id == participant_id)
    ).one()
    judgements = session.exec(
        select(func.count()).select_from(Judgement).where(Judgement.participant_id == participant_id)
    ).one()
    return int(messages), int(votes), int(judgements)
