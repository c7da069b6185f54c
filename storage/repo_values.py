"""Repository functions for canonical values: dedup bookkeeping, review and split, the moderation log.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``). Merging values (applying the pure plan of
:mod:`interviews.value_merge`) lives in :mod:`storage.repo_merge`.

A card belongs to a deliberation through its question or its author (imported cards whose source lost both
links belong to no deliberation and are never picked up for dedup).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from interviews.vocabulary import CardStatus
from storage.errors import NotFound
from storage.schemas import CanonicalValueCreate, ModerationEventCreate
from storage.tables import (
    CanonicalValue,
    Context,
    ModerationEvent,
    Participant,
    Question,
    QuestionContext,
    ValuesCard,
    Vote,
)


def _in_deliberation(deliberation_id: int) -> ColumnElement[bool]:
    questions = select(Question.id).where(Question.deliberation_id == deliberation_id)
    people = select(Participant.id).where(Participant.deliberation_id == deliberation_id)
    return or_(col(ValuesCard.question_id).in_(questions), col(ValuesCard.participant_id).in_(people))


def pending_cards(
    session: Session,
    *,
    deliberation_id: int,
    question_id: int | None = None,
    card_ids: Iterable[int] | None = None,
    lock: bool = False,
) -> Sequence[ValuesCard]:
    """Submitted cards of the deliberation not yet linked to a canonical value, oldest first.

    ``question_id`` and ``card_ids`` narrow the set; ``lock=True`` takes row locks on PostgreSQL (SQLite
    serialises writers with ``BEGIN IMMEDIATE`` anyway).
    """
    statement = select(ValuesCard).where(
        ValuesCard.status == CardStatus.SUBMITTED,
        col(ValuesCard.canonical_value_id).is_(None),
        _in_deliberation(deliberation_id),
    )
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    if card_ids is not None:
        statement = statement.where(col(ValuesCard.id).in_(list(card_ids)))
    if lock:
        statement = statement.with_for_update()
    return session.exec(statement.order_by(col(ValuesCard.id))).all()


def count_pending_cards(session: Session, *, deliberation_id: int, question_id: int | None = None) -> int:
    statement = (
        select(func.count())
        .select_from(ValuesCard)
        .where(
            ValuesCard.status == CardStatus.SUBMITTED,
            col(ValuesCard.canonical_value_id).is_(None),
            _in_deliberation(deliberation_id),
        )
    )
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    return int(session.exec(statement).one())


def unflagged_cards(session: Session, *, deliberation_id: int, flag: str) -> list[ValuesCard]:
    """Submitted cards on the deliberation's questions whose ``quality_flags`` lack ``flag``, oldest first
    (e.g. cards whose contexts were never mined; the flag is checked in Python, JSON lists differ by backend).
    """
    questions = select(Question.id).where(Question.deliberation_id == deliberation_id)
    statement = select(ValuesCard).where(
        ValuesCard.status == CardStatus.SUBMITTED, col(ValuesCard.question_id).in_(questions)
    )
    return [
        c for c in session.exec(statement.order_by(col(ValuesCard.id))).all() if flag not in c.quality_flags
    ]


def get_canonical_value(
    session: Session, *, canonical_id: int, deliberation_id: int | None = None, lock: bool = False
) -> CanonicalValue:
    """The value (of ``deliberation_id`` when given); :class:`NotFound` otherwise."""
    statement = select(CanonicalValue).where(CanonicalValue.id == canonical_id)
    if lock:
        statement = statement.with_for_update()
    value = session.exec(statement).first()
    if value is None or (deliberation_id is not None and value.deliberation_id != deliberation_id):
        where = f" in deliberation {deliberation_id}" if deliberation_id is not None else ""
        raise NotFound(f"There is no value {canonical_id}{where}.")
    return value


def add_canonical_value(session: Session, *, data: CanonicalValueCreate) -> CanonicalValue:
    return add_canonical_values(session, data=[data])[0]


def add_canonical_values(session: Session, *, data: Sequence[CanonicalValueCreate]) -> list[CanonicalValue]:
    """Insert many values in one flush (an import), in the given order."""
    values = [CanonicalValue.model_validate(d) for d in data]
    session.add_all(values)
    session.flush()
    return values


def member_cards(session: Session, *, canonical_ids: Iterable[int]) -> dict[int, list[ValuesCard]]:
    """Cards linked to each of ``canonical_ids`` (every status), oldest first; ids without cards map to []."""
    ids = list(canonical_ids)
    members: dict[int, list[ValuesCard]] = {i: [] for i in ids}
    statement = (
        select(ValuesCard).where(col(ValuesCard.canonical_value_id).in_(ids)).order_by(col(ValuesCard.id))
    )
    for card in session.exec(statement).all():
        assert card.canonical_value_id is not None  # the query selects cards by it
        members[card.canonical_value_id].append(card)
    return members


def cards_by_id(session: Session, *, card_ids: Iterable[int], lock: bool = False) -> dict[int, ValuesCard]:
    statement = select(ValuesCard).where(col(ValuesCard.id).in_(list(card_ids)))
    if lock:
        statement = statement.with_for_update()
    return {c.id: c for c in session.exec(statement).all() if c.id is not None}


def link_cards(session: Session, *, cards: Iterable[ValuesCard], canonical_id: int) -> int:
    """Point ``cards`` at ``canonical_id``; returns how many."""
    n = 0
    for card in cards:
        card.canonical_value_id = canonical_id
        session.add(card)
        n += 1
    session.flush()
    return n


def vote_counts(session: Session, *, canonical_ids: Iterable[int]) -> dict[int, int]:
    ids = list(canonical_ids)
    statement = (
        select(Vote.canonical_value_id, func.count())
        .where(col(Vote.canonical_value_id).in_(ids))
        .group_by(col(Vote.canonical_value_id))
    )
    counts = dict.fromkeys(ids, 0)
    counts.update({int(k): int(n) for k, n in session.exec(statement).all()})
    return counts


def add_moderation_event(session: Session, *, data: ModerationEventCreate) -> ModerationEvent:
    event = ModerationEvent.model_validate(data)
    session.add(event)
    session.flush()
    return event


def list_moderation_events(
    session: Session,
    *,
    deliberation_id: int | None,
    action: str | None = None,
    target_id: int | None = None,
    target_type: str | None = None,
    limit: int | None = None,
) -> Sequence[ModerationEvent]:
    """The deliberation's moderation log (None: the console's own events, of no deliberation), newest
    first."""
    statement = select(ModerationEvent).where(_of_deliberation(deliberation_id))
    if action is not None:
        statement = statement.where(ModerationEvent.action == action)
    if target_id is not None:
        statement = statement.where(ModerationEvent.target_id == target_id)
    if target_type is not None:
        statement = statement.where(ModerationEvent.target_type == target_type)
    statement = statement.order_by(col(ModerationEvent.created_at).desc(), col(ModerationEvent.id).desc())
    if limit is not None:
        statement = statement.limit(limit)
    return session.exec(statement).all()


def moderation_actions(session: Session, *, deliberation_id: int | None) -> list[str]:
    """The actions the deliberation's moderation log (None: the console's own) holds, sorted (a filter)."""
    statement = select(ModerationEvent.action).where(_of_deliberation(deliberation_id)).distinct()
    return sorted(session.exec(statement).all())


def _of_deliberation(deliberation_id: int | None) -> ColumnElement[bool]:
    """The events of the deliberation, or (None) those of none: the console's own."""
    column = col(ModerationEvent.deliberation_id)
    return column.is_(None) if deliberation_id is None else column == deliberation_id


def latest_events(
    session: Session, *, deliberation_id: int, action: str, target_ids: Iterable[int]
) -> dict[int, ModerationEvent]:
    """The newest ``action`` event of each of ``target_ids`` that has one (an interview's last grades)."""
    wanted = sorted(set(target_ids))
    found: dict[int, ModerationEvent] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        statement = (
            select(ModerationEvent)
            .where(
                ModerationEvent.deliberation_id == deliberation_id,
                ModerationEvent.action == action,
                col(ModerationEvent.target_id).in_(wanted[start : start + ID_CHUNK]),
            )
            .order_by(col(ModerationEvent.created_at), col(ModerationEvent.id))
        )
        for event in session.exec(statement).all():
            if event.target_id is not None:
                found[event.target_id] = event  # a later one replaces an earlier one
    return found


def hidden_value_ids(session: Session, *, deliberation_id: int) -> list[int]:
    """The ids of the values a facilitator hid in the deliberation (id order; usually none or a few)."""
    statement = select(CanonicalValue.id).where(
        CanonicalValue.deliberation_id == deliberation_id, col(CanonicalValue.hidden).is_(True)
    )
    return sorted(int(i) for i in session.exec(statement).all() if i is not None)


def canonical_value_ids(session: Session, *, deliberation_id: int, include_hidden: bool = True) -> list[int]:
    """The ids of a deliberation's canonical values, in id order (cheap: no rows loaded); without the
    values a facilitator hid when ``include_hidden`` is False (the graph build)."""
    statement = (
        select(CanonicalValue.id)
        .where(CanonicalValue.deliberation_id == deliberation_id)
        .order_by(col(CanonicalValue.id))
    )
    if not include_hidden:
        statement = statement.where(col(CanonicalValue.hidden).is_(False))
    return [int(i) for i in session.exec(statement).all() if i is not None]


def list_canonical_values(session: Session, *, deliberation_id: int) -> Sequence[CanonicalValue]:
    statement = (
        select(CanonicalValue)
        .where(CanonicalValue.deliberation_id == deliberation_id)
        .order_by(col(CanonicalValue.id))
    )
    return session.exec(statement).all()


def question_value_ids(session: Session, *, deliberation_id: int, question_id: int) -> list[int]:
    """Canonical values of the deliberation with a submitted member card on ``question_id`` (id order),
    hidden values left out (what a vote draw may show)."""
    statement = (
        select(CanonicalValue.id)
        .join(ValuesCard, col(ValuesCard.canonical_value_id) == col(CanonicalValue.id))
        .where(
            CanonicalValue.deliberation_id == deliberation_id,
            col(CanonicalValue.hidden).is_(False),
            ValuesCard.question_id == question_id,
            ValuesCard.status == CardStatus.SUBMITTED,
        )
        .distinct()
    )
    return sorted(int(i) for i in session.exec(statement).all() if i is not None)


def values_by_context(session: Session, *, deliberation_id: int) -> dict[int, list[int]]:
    """For each context of the deliberation, the canonical values of submitted cards that answered a
    question linked to it (sorted ids; contexts without such values are left out). Hidden values are left
    out: no stories are paired, written or judged for them.
    """
    statement = (
        select(QuestionContext.context_id, ValuesCard.canonical_value_id)
        .join(ValuesCard, col(ValuesCard.question_id) == col(QuestionContext.question_id))
        .join(Context, col(Context.id) == col(QuestionContext.context_id))
        .join(CanonicalValue, col(CanonicalValue.id) == col(ValuesCard.canonical_value_id))
        .where(
            Context.deliberation_id == deliberation_id,
            CanonicalValue.deliberation_id == deliberation_id,
            col(CanonicalValue.hidden).is_(False),
            ValuesCard.status == CardStatus.SUBMITTED,
        )
        .distinct()
    )
    found: dict[int, set[int]] = defaultdict(set)
    for context_id, value_id in session.exec(statement).all():
        if value_id is not None:
            found[context_id].add(value_id)
    return {c: sorted(v) for c, v in sorted(found.items())}


#: SQLite caps the bound parameters of one statement: id lookups are asked in chunks of this many.
ID_CHUNK = 10_000


def canonical_values_by_id(
    session: Session, *, ids: Iterable[int], deliberation_id: int | None = None, lock: bool = False
) -> dict[int, CanonicalValue]:
    """The values among ``ids`` that exist (and belong to ``deliberation_id`` when given), by id in id order.

    The one lookup of values by ids; asked in chunks of :data:`ID_CHUNK` ids. ``lock`` takes row locks
    (``SELECT ... FOR UPDATE`` on PostgreSQL).
    """
    wanted = sorted(set(ids))
    found: dict[int, CanonicalValue] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        statement = select(CanonicalValue).where(col(CanonicalValue.id).in_(wanted[start : start + ID_CHUNK]))
        if deliberation_id is not None:
            statement = statement.where(CanonicalValue.deliberation_id == deliberation_id)
        if lock:
            statement = statement.with_for_update()
        found.update(
            (v.id, v)
            for v in session.exec(statement.order_by(col(CanonicalValue.id))).all()
            if v.id is not None
        )
    return found


def question_vote_counts(session: Session, *, question_id: int, value_ids: Iterable[int]) -> dict[int, int]:
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
