"""Repository functions for job runs (``jobrun``): a facilitator's long work, persisted as it goes.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A run is
created from its :class:`~storage.schemas_console.JobRunCreate` (``data=``); the runner
(:mod:`services.jobs.runs`) updates the rows these functions return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from interviews.vocabulary import JobStatus, Stage
from storage.errors import NotFound
from storage.schemas_console import JobRunCreate
from storage.tables import Interview, JobRun, LLMCall, Question

#: Starting a run takes this transaction-scoped advisory lock on PostgreSQL, so two starts of the same job
#: (a double click, two processes) see each other; SQLite's ``BEGIN IMMEDIATE`` serialises them already.
START_LOCK = 0x4A4F4253  # "JOBS"
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def lock_starts(session: Session) -> None:
    """Serialise run starts until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(START_LOCK)))


def add_run(session: Session, *, data: JobRunCreate) -> JobRun:
    run = JobRun.model_validate(data)
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, *, run_id: int, lock: bool = False) -> JobRun:
    statement = select(JobRun).where(JobRun.id == run_id)
    run = session.exec(statement.with_for_update() if lock else statement).first()
    if run is None:
        raise NotFound(f"Job run {run_id} does not exist.")
    return run


def active_runs(session: Session, *, kind: str, deliberation_id: int | None) -> Sequence[JobRun]:
    """The queued and running runs of ``kind`` on the deliberation (None: those of no deliberation),
    oldest first (the caller compares their arguments: a JSON column has no portable equality)."""
    statement = select(JobRun).where(JobRun.kind == kind, col(JobRun.status).in_(ACTIVE))
    if deliberation_id is None:
        statement = statement.where(col(JobRun.deliberation_id).is_(None))
    else:
        statement = statement.where(JobRun.deliberation_id == deliberation_id)
    return session.exec(statement.order_by(col(JobRun.id))).all()


def list_runs(
    session: Session,
    *,
    deliberation_id: int | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    limit: int = 50,
) -> Sequence[JobRun]:
    """The latest runs (of one deliberation when given; of some kinds or statuses), newest first."""
    statement = select(JobRun)
    if deliberation_id is not None:
        statement = statement.where(JobRun.deliberation_id == deliberation_id)
    if kinds is not None:
        statement = statement.where(col(JobRun.kind).in_(list(kinds)))
    if statuses is not None:
        statement = statement.where(col(JobRun.status).in_(list(statuses)))
    return session.exec(statement.order_by(col(JobRun.id).desc()).limit(limit)).all()


def beat(session: Session, *, run_ids: Iterable[int], at: datetime) -> set[int]:
    """Write ``at`` as the heartbeat of those of ``run_ids`` still queued or running; their ids."""
    ids = list(run_ids)
    if not ids:
        return set()
    runs = session.exec(select(JobRun).where(col(JobRun.id).in_(ids), col(JobRun.status).in_(ACTIVE))).all()
    for run in runs:
        run.heartbeat_at = at
        session.add(run)
    session.flush()
    return {run.id for run in runs if run.id is not None}


def ungraded_interviews(session: Session, *, deliberation_id: int, purpose: str) -> list[int]:
    """The submitted interviews of the deliberation's questions without a successful model call of
    ``purpose`` (the grader's) recorded for them, oldest first."""
    graded = (
        select(LLMCall.interview_id)
        .where(
            LLMCall.purpose == purpose, col(LLMCall.error).is_(None), col(LLMCall.interview_id).is_not(None)
        )
        .distinct()
    )
    statement = (
        select(Interview.id)
        .join(Question, col(Question.id) == col(Interview.question_id))
        .where(
            Question.deliberation_id == deliberation_id,
            Interview.state == Stage.SUBMITTED.value,
            col(Interview.id).not_in(graded),
        )
        .order_by(col(Interview.id))
    )
    return [i for i in session.exec(statement).all() if i is not None]
