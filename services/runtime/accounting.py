"""Model-call accounting: every LLM call becomes an LLMCall row; an interview's own calls also add to its
token totals (what the participant's budget is checked against, without a query per turn)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine

from providers.accounting import LLMCallRecord
from storage import repo_interviews, repo_llm_calls
from storage.db import session_scope
from storage.schemas import LLMCallCreate

log = logging.getLogger(__name__)


def llm_call_sink(engine: Engine) -> Callable[[LLMCallRecord], None]:
    """A sink for :class:`providers.accounting.RecordingCallback` that stores each call."""

    def record(call: LLMCallRecord) -> None:
        data = LLMCallCreate(
            purpose=call.purpose[:50],
            model=call.model[:200],
            tokens_in=call.tokens_in,
            tokens_out=call.tokens_out,
            estimated=call.estimated,
            latency_ms=call.latency_ms,
            streamed=call.streamed,
            error=call.error[:500] if call.error else None,
            deliberation_id=call.deliberation_id,
            interview_id=call.interview_id,
            participant_id=call.participant_id,
            job_run=call.job_run,
        )
        with session_scope(engine) as session:
            repo_llm_calls.add_llm_call(session, data=data)
            if data.interview_id is not None and data.purpose in repo_interviews.BUDGET_PURPOSES:
                repo_interviews.add_interview_tokens(
                    session,
                    interview_id=data.interview_id,
                    tokens_in=data.tokens_in,
                    tokens_out=data.tokens_out,
                )

    return record
