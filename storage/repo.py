"""Repository functions: keyword-only, each takes an open session and returns table objects.

Only services call these; they turn results into ``XPublic`` schemas before a page sees them.
Functions flush (so ids exist) but never commit: the caller's ``session_scope`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import NotFound
from storage.schemas import DeliberationCreate, LLMCallCreate, UsageSummary
from storage.tables import (
    CanonicalValue,
    Cohort,
    Context,
    Deliberation,
    GraphSnapshot,
    Invite,
    Judgement,
    LLMCall,
    Participant,
    Question,
    new_token,
    utcnow,
)

# --- deliberations ---------------------------------------------------------------------------------


def create_deliberation(session: Session, *, data: DeliberationCreate) -> Deliberation:
    """Insert a deliberation and its questions (in the given order)."""
    deliberation = Deliberation.model_validate(data.model_dump(exclude={"questions"}))
    session.add(deliberation)
    session.flush()
    assert deliberation.id is not None
    for position, text in enumerate(data.questions):
        session.add(Question(deliberation_id=deliberation.id, position=position, text=text))
    session.flush()
    return deliberation


def get_deliberation(session: Session, *, deliberation_id: int) -> Deliberation:
    deliberation = session.get(Deliberation, deliberation_id)
    if deliberation is None:
        raise NotFound(f"There is no deliberation with id {deliberation_id}.")
    return deliberation


def list_deliberations(session: Session) -> Sequence[Deliberation]:
    return session.exec(select(Deliberation).order_by(col(Deliberation.id).desc())).all()


def list_questions(session: Session, *, deliberation_id: int) -> Sequence[Question]:
    statement = (
        select(Question).where(Question.deliberation_id == deliberation_id).order_by(col(Question.position))
    )
    return session.exec(statement).all()


def count_deliberations(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Deliberation)).one())


def count_participants(session: Session, *, deliberation_id: int) -> int:
    statement = (
        select(func.count()).select_from(Participant).where(Participant.deliberation_id == deliberation_id)
    )
    return int(session.exec(statement).one())


# --- cohorts, invites, participants ----------------------------------------------------------------


def get_or_create_cohort(session: Session, *, deliberation_id: int, name: str) -> Cohort:
    statement = select(Cohort).where(Cohort.deliberation_id == deliberation_id, Cohort.name == name)
    cohort = session.exec(statement).first()
    if cohort is None:
        cohort = Cohort(deliberation_id=deliberation_id, name=name)
        session.add(cohort)
        session.flush()
    return cohort


def create_invites(
    session: Session, *, deliberation_id: int, count: int, cohort_id: int | None = None
) -> list[Invite]:
    """Create ``count`` single-use invites, each with its own random code."""
    get_deliberation(session, deliberation_id=deliberation_id)
    invites = [Invite(deliberation_id=deliberation_id, cohort_id=cohort_id) for _ in range(count)]
    session.add_all(invites)
    session.flush()
    return invites


def get_invite(session: Session, *, code: str, lock: bool = False) -> Invite | None:
    """The invite with this code; ``lock`` serialises two first uses of it (two tabs, a double click)."""
    statement = select(Invite).where(Invite.code == code)
    return session.exec(statement.with_for_update() if lock else statement).first()


def get_deliberation_by_join_code(session: Session, *, code: str) -> Deliberation | None:
    return session.exec(select(Deliberation).where(Deliberation.open_join_code == code)).first()


def set_open_join_code(session: Session, *, deliberation: Deliberation) -> str:
    """The deliberation's open join code, created on first use."""
    if deliberation.open_join_code is None:
        deliberation.open_join_code = new_token()
        deliberation.updated_at = utcnow()
        session.add(deliberation)
        session.flush()
    return deliberation.open_join_code


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


def create_participant(
    session: Session,
    *,
    deliberation_id: int,
    external_id: str | None = None,
    cohort_id: int | None = None,
) -> Participant:
    participant = Participant(deliberation_id=deliberation_id, external_id=external_id, cohort_id=cohort_id)
    session.add(participant)
    session.flush()
    return participant


def get_or_create_participant(
    session: Session, *, deliberation_id: int, external_id: str | None, cohort_id: int | None = None
) -> Participant:
    """The participant with this panel id, created when there is none. Two first visits at once (a double
    click, a browser's prefetch) meet on the unique key: the loser's insert is undone in a savepoint and it
    reads the winner's row, instead of failing the whole transaction (as PostgreSQL would).
    """
    if external_id is None:
        return create_participant(session, deliberation_id=deliberation_id, cohort_id=cohort_id)
    existing = get_participant_by_external_id(
        session, deliberation_id=deliberation_id, external_id=external_id
    )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return create_participant(
                session, deliberation_id=deliberation_id, external_id=external_id, cohort_id=cohort_id
            )
    except IntegrityError:
        winner = get_participant_by_external_id(
            session, deliberation_id=deliberation_id, external_id=external_id
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


# --- model calls -----------------------------------------------------------------------------------


def add_llm_call(session: Session, *, data: LLMCallCreate) -> LLMCall:
    call = LLMCall.model_validate(data)
    session.add(call)
    session.flush()
    return call


def usage_summary(
    session: Session, *, deliberation_id: int | None = None, interview_id: int | None = None
) -> UsageSummary:
    """Calls, errors, tokens and mean latency, for one deliberation, one interview, or everything."""
    statement = select(
        func.count(),
        func.count(LLMCall.error),
        func.coalesce(func.sum(LLMCall.tokens_in), 0),
        func.coalesce(func.sum(LLMCall.tokens_out), 0),
        func.coalesce(func.avg(LLMCall.latency_ms), 0.0),
    )
    if deliberation_id is not None:
        statement = statement.where(LLMCall.deliberation_id == deliberation_id)
    if interview_id is not None:
        statement = statement.where(LLMCall.interview_id == interview_id)
    calls, errors, tokens_in, tokens_out, latency = session.exec(statement).one()
    return UsageSummary(
        calls=calls,
        errors=errors,
        tokens_in=int(tokens_in),
        tokens_out=int(tokens_out),
        mean_latency_ms=float(latency),
    )


# --- graph builds ----------------------------------------------------------------------------------

ANSWER_CODES = {"upgrade": 0, "no_upgrade": 1, "not_sure": 2}  # graph.Answer's codes


def judgement_matrix(session: Session, *, deliberation_id: int) -> np.ndarray:
    """Every judgement of a deliberation as an ``(n, 5)`` int64 array: participant, from value, to value,
    context, answer code (0 upgrade, 1 no_upgrade, 2 not_sure, -1 anything else). Ordered by id.
    """
    answer = case(*((Judgement.answer == name, code) for name, code in ANSWER_CODES.items()), else_=-1)
    statement = (
        sa_select(
            Judgement.participant_id,
            Judgement.from_value_id,
            Judgement.to_value_id,
            Judgement.context_id,
            answer,
        )
        .where(Judgement.deliberation_id == deliberation_id)
        .order_by(col(Judgement.id))
    )
    # Straight from the driver's cursor into numpy: no SQLAlchemy Row per judgement (a million rows
    # read in ~0.8 s instead of ~2 s here).
    connection = session.connection()
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(sql))
        rows = np.fromiter(cursor, dtype=np.dtype([(f"f{i}", np.int64) for i in range(5)]))
    finally:
        cursor.close()
    return rows.view(np.int64).reshape(len(rows), 5)


def canonical_value_ids(session: Session, *, deliberation_id: int) -> list[int]:
    """The ids of a deliberation's canonical values, in id order (cheap: no rows loaded)."""
    statement = (
        select(CanonicalValue.id)
        .where(CanonicalValue.deliberation_id == deliberation_id)
        .order_by(col(CanonicalValue.id))
    )
    return [int(i) for i in session.exec(statement).all() if i is not None]


def get_canonical_values(session: Session, *, ids: Sequence[int]) -> list[CanonicalValue]:
    """The canonical values with these ids, in id order (asked in chunks: SQLite caps bound parameters)."""
    wanted = sorted(set(ids))
    found: list[CanonicalValue] = []
    for start in range(0, len(wanted), 10_000):
        chunk = wanted[start : start + 10_000]
        statement = (
            select(CanonicalValue).where(col(CanonicalValue.id).in_(chunk)).order_by(col(CanonicalValue.id))
        )
        found.extend(session.exec(statement).all())
    return found


def list_canonical_values(session: Session, *, deliberation_id: int) -> Sequence[CanonicalValue]:
    statement = (
        select(CanonicalValue)
        .where(CanonicalValue.deliberation_id == deliberation_id)
        .order_by(col(CanonicalValue.id))
    )
    return session.exec(statement).all()


def list_contexts(session: Session, *, deliberation_id: int) -> Sequence[Context]:
    statement = select(Context).where(Context.deliberation_id == deliberation_id).order_by(col(Context.id))
    return session.exec(statement).all()


def add_graph_snapshot(session: Session, *, snapshot: GraphSnapshot) -> GraphSnapshot:
    session.add(snapshot)
    session.flush()
    return snapshot


def latest_graph_snapshot(session: Session, *, deliberation_id: int) -> GraphSnapshot | None:
    statement = (
        select(GraphSnapshot)
        .where(GraphSnapshot.deliberation_id == deliberation_id)
        .order_by(col(GraphSnapshot.created_at).desc(), col(GraphSnapshot.id).desc())
    )
    return session.exec(statement).first()
