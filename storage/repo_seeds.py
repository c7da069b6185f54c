"""Repository functions for seed values: a canonical value (``seed=True``) and its own member card.

A seed's card is what makes the seed a value *of its question*: it is submitted, on the question, linked to
the value, and has no author (no participant, no interview), so the vote draw, the story pairs and the
judging set pick the seed up exactly as they pick up a participant's value. Keyword-only, session first;
they flush but never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_
from sqlmodel import Session, col, select

from interviews.vocabulary import CardStatus
from storage.repo_values import vote_counts
from storage.schemas import SeedCreate
from storage.tables import (
    CanonicalValue,
    EdgeHypothesis,
    Impression,
    Judgement,
    ValuesCard,
    utcnow,
)


def add_seed(session: Session, *, data: SeedCreate) -> tuple[CanonicalValue, ValuesCard]:
    """Insert the seed's value and its own submitted card on the question; returns both."""
    value = CanonicalValue(
        deliberation_id=data.deliberation_id,
        title=data.title,
        description=data.description,
        policies=list(data.policies),
        seed=True,
    )
    session.add(value)
    session.flush()
    card = ValuesCard(
        question_id=data.question_id,
        title=data.title,
        description=data.description,
        policies=list(data.policies),
        status=CardStatus.SUBMITTED.value,
        canonical_value_id=value.id,
        submitted_at=utcnow(),
    )
    session.add(card)
    session.flush()
    return value, card


def _own_card_filter() -> list[ColumnElement[bool]]:
    """A seed's own card: no participant wrote it, in no interview."""
    return [col(ValuesCard.participant_id).is_(None), col(ValuesCard.interview_id).is_(None)]


def list_seeds(
    session: Session, *, deliberation_id: int, question_id: int | None = None
) -> list[tuple[CanonicalValue, ValuesCard]]:
    """The deliberation's seeds with their own cards (on ``question_id`` when given), oldest first."""
    statement = (
        select(CanonicalValue, ValuesCard)
        .join(ValuesCard, col(ValuesCard.canonical_value_id) == col(CanonicalValue.id))
        .where(CanonicalValue.deliberation_id == deliberation_id, col(CanonicalValue.seed).is_(True))
        .where(*_own_card_filter())
        .order_by(col(CanonicalValue.id), col(ValuesCard.id))
    )
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    seen: set[int] = set()
    found = []
    for value, card in session.exec(statement).all():
        if value.id not in seen:  # one own card per seed (the first, should a split have made more)
            seen.add(value.id or 0)
            found.append((value, card))
    return found


def seed_counts(session: Session, *, deliberation_id: int) -> dict[int, int]:
    """How many seeds each question of the deliberation has (questions without seeds are left out)."""
    statement = (
        select(ValuesCard.question_id, func.count(func.distinct(CanonicalValue.id)))
        .join(CanonicalValue, col(ValuesCard.canonical_value_id) == col(CanonicalValue.id))
        .where(CanonicalValue.deliberation_id == deliberation_id, col(CanonicalValue.seed).is_(True))
        .where(*_own_card_filter(), ValuesCard.status == CardStatus.SUBMITTED)
        .group_by(col(ValuesCard.question_id))
    )
    return {int(q): int(n) for q, n in session.exec(statement).all() if q is not None}


@dataclass(frozen=True)
class Attached:
    """What people did with a value: their cards that joined it, votes, impressions and judgements."""

    cards: int
    votes: int
    impressions: int
    judgements: int

    @property
    def anything(self) -> bool:
        return bool(self.cards or self.votes or self.impressions or self.judgements)


def attached(session: Session, *, value_id: int, own_card_id: int) -> Attached:
    """What is attached to the value besides its own card and its stories."""

    def count(statement: object) -> int:
        return int(session.exec(statement).one())  # type: ignore[call-overload]  # a count query

    cards = count(
        select(func.count())
        .select_from(ValuesCard)
        .where(ValuesCard.canonical_value_id == value_id, ValuesCard.id != own_card_id)
    )
    votes = vote_counts(session, canonical_ids=[value_id])[value_id]
    impressions = count(
        select(func.count()).select_from(Impression).where(Impression.canonical_value_id == value_id)
    )
    judgements = count(
        select(func.count())
        .select_from(Judgement)
        .where(or_(col(Judgement.from_value_id) == value_id, col(Judgement.to_value_id) == value_id))
    )
    return Attached(cards, votes, impressions, judgements)


def delete_seed(session: Session, *, value: CanonicalValue, card: ValuesCard) -> int:
    """Delete a seed nobody used (the caller checks :func:`attached`): its stories, its card and the value.
    Returns how many stories were deleted. Contexts it added stay (they belong to the question)."""
    stories = (
        delete(EdgeHypothesis)
        .where(
            or_(col(EdgeHypothesis.from_value_id) == value.id, col(EdgeHypothesis.to_value_id) == value.id)
        )
        .execution_options(synchronize_session=False)
    )
    removed = session.exec(stories).rowcount
    session.delete(card)
    session.flush()
    session.delete(value)
    session.flush()
    return int(removed or 0)


def seed_ids(session: Session, *, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are seed values."""
    if not ids:
        return set()
    statement = select(CanonicalValue.id).where(
        col(CanonicalValue.id).in_(list(ids)), col(CanonicalValue.seed).is_(True)
    )
    return {int(i) for i in session.exec(statement).all() if i is not None}
