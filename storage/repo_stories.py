"""Repository functions for contexts, upgrade stories (edge hypotheses) and what they are built from.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does).
Inserts that may race with another process (a context text, a hypothesis of a run) run in a savepoint
and return the row that won, so a concurrent or repeated job never fails on a unique key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import NotFound
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Judgement,
    QuestionContext,
    ValuesCard,
)

# --- cards -----------------------------------------------------------------------------------------


def lock_card(session: Session, *, card_id: int) -> ValuesCard:
    """The card with a row lock on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway)."""
    card = session.exec(select(ValuesCard).where(ValuesCard.id == card_id).with_for_update()).first()
    if card is None:
        raise NotFound(f"There is no values card {card_id}.")
    return card


def add_card_flag(session: Session, *, card: ValuesCard, flag: str) -> None:
    """Add ``flag`` to the card's ``quality_flags`` once (a new list, so the JSON change is seen)."""
    if flag not in card.quality_flags:
        card.quality_flags = [*card.quality_flags, flag]
        session.add(card)
        session.flush()


# --- contexts --------------------------------------------------------------------------------------


def question_context_ids(session: Session, *, question_id: int) -> set[int]:
    statement = select(QuestionContext.context_id).where(QuestionContext.question_id == question_id)
    return set(session.exec(statement).all())


def add_context(
    session: Session, *, deliberation_id: int, text: str, source: str, external_ref: str | None = None
) -> tuple[Context, bool]:
    """Insert a context, or return the one with exactly this text; ``(context, created)``."""
    found = _context_by_text(session, deliberation_id=deliberation_id, text=text)
    if found is not None:
        return found, False
    context = Context(deliberation_id=deliberation_id, text=text, source=source, external_ref=external_ref)
    try:
        with session.begin_nested():
            session.add(context)
            session.flush()
    except IntegrityError:  # another writer added the same text meanwhile
        found = _context_by_text(session, deliberation_id=deliberation_id, text=text)
        if found is None:
            raise
        return found, False
    return context, True


def _context_by_text(session: Session, *, deliberation_id: int, text: str) -> Context | None:
    statement = select(Context).where(Context.deliberation_id == deliberation_id, Context.text == text)
    return session.exec(statement).first()


def link_context(session: Session, *, question_id: int, context_id: int) -> bool:
    """Link a context to a question; False when the link already existed."""
    if session.get(QuestionContext, (question_id, context_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(QuestionContext(question_id=question_id, context_id=context_id))
            session.flush()
    except IntegrityError:
        return False
    return True


def get_context(session: Session, *, context_id: int) -> Context:
    context = session.get(Context, context_id)
    if context is None:
        raise NotFound(f"There is no context {context_id}.")
    return context


# --- pairs for stories -----------------------------------------------------------------------------


def values_by_context(session: Session, *, deliberation_id: int) -> dict[int, list[int]]:
    """For each context of the deliberation, the canonical values of submitted cards that answered a
    question linked to it (sorted ids; contexts without such values are left out).
    """
    statement = (
        select(QuestionContext.context_id, ValuesCard.canonical_value_id)
        .join(ValuesCard, col(ValuesCard.question_id) == col(QuestionContext.question_id))
        .join(Context, col(Context.id) == col(QuestionContext.context_id))
        .join(CanonicalValue, col(CanonicalValue.id) == col(ValuesCard.canonical_value_id))
        .where(
            Context.deliberation_id == deliberation_id,
            CanonicalValue.deliberation_id == deliberation_id,
            ValuesCard.status == "submitted",
        )
        .distinct()
    )
    found: dict[int, set[int]] = defaultdict(set)
    for context_id, value_id in session.exec(statement).all():
        if value_id is not None:
            found[context_id].add(value_id)
    return {c: sorted(v) for c, v in sorted(found.items())}


def canonical_values_by_id(
    session: Session, *, deliberation_id: int, ids: Iterable[int]
) -> dict[int, CanonicalValue]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(CanonicalValue).where(
        CanonicalValue.deliberation_id == deliberation_id, col(CanonicalValue.id).in_(wanted)
    )
    return {v.id: v for v in session.exec(statement).all() if v.id is not None}


def contexts_by_id(session: Session, *, deliberation_id: int, ids: Iterable[int]) -> dict[int, Context]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(Context).where(Context.deliberation_id == deliberation_id, col(Context.id).in_(wanted))
    return {c.id: c for c in session.exec(statement).all() if c.id is not None}


# --- hypotheses ------------------------------------------------------------------------------------


def list_hypotheses(
    session: Session,
    *,
    deliberation_id: int,
    run_id: str | None = None,
    shown: bool | None = None,
    context_ids: Iterable[int] | None = None,
) -> Sequence[EdgeHypothesis]:
    """Hypotheses of the deliberation (optionally of one run, shown or not, in some contexts), by id."""
    statement = select(EdgeHypothesis).where(EdgeHypothesis.deliberation_id == deliberation_id)
    if run_id is not None:
        statement = statement.where(EdgeHypothesis.run_id == run_id)
    if shown is not None:
        statement = statement.where(EdgeHypothesis.shown == shown)
    if context_ids is not None:
        statement = statement.where(col(EdgeHypothesis.context_id).in_(sorted(set(context_ids))))
    return session.exec(statement.order_by(col(EdgeHypothesis.id))).all()


class StoryKey(NamedTuple):
    """A story without its text: what choosing among thousands of them needs."""

    id: int
    from_value_id: int
    to_value_id: int
    context_id: int


def shown_story_keys(session: Session, *, deliberation_id: int) -> list[StoryKey]:
    """Id and (from, to, context) of every shown hypothesis of the deliberation, by id (no story text,
    no values: a participant's judging set ranks these, then loads the few it keeps).
    """
    statement = (
        select(
            EdgeHypothesis.id,
            EdgeHypothesis.from_value_id,
            EdgeHypothesis.to_value_id,
            EdgeHypothesis.context_id,
        )
        .where(EdgeHypothesis.deliberation_id == deliberation_id, col(EdgeHypothesis.shown).is_(True))
        .order_by(col(EdgeHypothesis.id))
    )
    return [StoryKey(int(i), f, t, c) for i, f, t, c in session.exec(statement).all() if i is not None]


def hypotheses_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, EdgeHypothesis]:
    """The hypotheses with these ids (missing ones left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(EdgeHypothesis).where(col(EdgeHypothesis.id).in_(wanted))
    return {h.id: h for h in session.exec(statement).all() if h.id is not None}


def get_hypothesis(session: Session, *, hypothesis_id: int) -> EdgeHypothesis:
    hypothesis = session.get(EdgeHypothesis, hypothesis_id)
    if hypothesis is None:
        raise NotFound(f"There is no upgrade story {hypothesis_id}.")
    return hypothesis


def add_hypothesis(session: Session, *, hypothesis: EdgeHypothesis) -> tuple[EdgeHypothesis, bool]:
    """Insert a hypothesis, or return the one this run already has for its (from, to, context);
    ``(hypothesis, created)``.
    """
    try:
        with session.begin_nested():
            session.add(hypothesis)
            session.flush()
    except IntegrityError:
        statement = select(EdgeHypothesis).where(
            EdgeHypothesis.from_value_id == hypothesis.from_value_id,
            EdgeHypothesis.to_value_id == hypothesis.to_value_id,
            EdgeHypothesis.context_id == hypothesis.context_id,
            EdgeHypothesis.run_id == hypothesis.run_id,
        )
        found = session.exec(statement).first()
        if found is None:
            raise
        return found, False
    return hypothesis, True


def set_judge_scores(session: Session, *, hypothesis_id: int, scores: dict[str, Any], shown: bool) -> None:
    hypothesis = get_hypothesis(session, hypothesis_id=hypothesis_id)
    hypothesis.judge_scores = scores
    hypothesis.shown = shown
    session.add(hypothesis)
    session.flush()


def judged_triples(session: Session, *, participant_id: int) -> set[tuple[int, int, int]]:
    """``(from, to, context)`` of every judgement the participant made (in any run)."""
    statement = select(Judgement.from_value_id, Judgement.to_value_id, Judgement.context_id).where(
        Judgement.participant_id == participant_id
    )
    return {(f, t, c) for f, t, c in session.exec(statement).all()}
