"""Repository functions for model calls: one row per LLM call, and usage summed over them.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from storage.schemas import LLMCallCreate, UsageSummary
from storage.tables import (
    LLMCall,
)


def add_llm_call(session: Session, *, data: LLMCallCreate) -> LLMCall:
    call = LLMCall.model_validate(data)
    session.add(call)
    session.flush()
    return call


def usage_summary(
    session: Session, *, deliberation_id: int | None = None, interview_id: int | None = None
) -> UsageSummary:
    """Calls, errors, tokens and mean latency, for one deliberation, one interview, or everything."""
    # sqlmodel's select() is typed for up to four columns; the Select it builds for several takes any number.
    statement: Select[int, int, int, int, float] = Select(
        func.count(),
        func.count(col(LLMCall.error)),
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


def count_job_calls(session: Session, *, job_run: str) -> int:
    """How many model calls were recorded for the job run ``job_run`` (failed ones included)."""
    statement = select(func.count()).select_from(LLMCall).where(LLMCall.job_run == job_run)
    return int(session.exec(statement).one())
