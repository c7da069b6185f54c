"""Repository functions: keyword-only, each takes an open session and returns table objects.

Only services call these; they turn results into ``XPublic`` schemas before a page sees them.
Functions flush (so ids exist) but never commit: the caller's ``session_scope`` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
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


def get_invite(session: Session, *, code: str) -> Invite | None:
    return session.exec(select(Invite).where(Invite.code == code)).first()


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


def get_participant_by_token(session: Session, *, token: str) -> Participant | None:
    return session.exec(select(Participant).where(Participant.token == token)).first()


def touch_participant(session: Session, *, participant: Participant) -> None:
    participant.last_seen_at = utcnow()
    session.add(participant)


# --- model calls -----------------------------------------------------------------------------------


def add_llm_call(session: Session, *, data: LLMCallCreate) -> LLMCall:
    call = LLMCall.model_validate(data)
    session.add(call)
    session.flush()
    return call


def usage_summary(session: Session, *, deliberation_id: int | None = None) -> UsageSummary:
    """Calls, errors, tokens and mean latency, for one deliberation or for everything."""
    statement = select(
        func.count(),
        func.count(LLMCall.error),
        func.coalesce(func.sum(LLMCall.tokens_in), 0),
        func.coalesce(func.sum(LLMCall.tokens_out), 0),
        func.coalesce(func.avg(LLMCall.latency_ms), 0.0),
    )
    if deliberation_id is not None:
        statement = statement.where(LLMCall.deliberation_id == deliberation_id)
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
    rows = session.connection().execute(statement).fetchall()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=5 * len(rows))
    return flat.reshape(len(rows), 5)


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
