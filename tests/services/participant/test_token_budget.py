"""A deliberation's own token budget (its ``token_budget`` setting, through the database on SQLite and
PostgreSQL): when set it wraps the interview up before the app's PARTICIPANT_TOKEN_BUDGET would, it stops
going back to the conversation, 0 leaves the app's budget in force, and it is bounded and editable."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from providers.accounting import LLMCallRecord
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberation_edits, deliberations
from services.participant import cards, interviewing
from services.runtime.accounting import llm_call_sink
from services.runtime.retrying import RetryPolicy
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import InterviewPublic, ParticipantCreate
from tests.worlds import HONEST_CARD

NO_WAIT = RetryPolicy(attempts=3, sleep=lambda s: None)
APP_BUDGET = 1_000_000  # the app's PARTICIPANT_TOKEN_BUDGET in these tests: far away


def _interview(engine: Engine, token_budget: int | None) -> tuple[str, InterviewPublic, int]:
    config = {} if token_budget is None else {"token_budget": token_budget}
    d = deliberations.create_deliberation(engine, title="T", questions=["What should I do?"], config=config)
    with session_scope(engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id)).token
    view = interviewing.start_interview(engine, token=token, question_id=d.questions[0].id)
    return token, view, d.id


def _spend(engine: Engine, view: InterviewPublic, tokens: int) -> None:
    record = LLMCallRecord(
        purpose="interview",
        model="m",
        tokens_in=tokens,
        tokens_out=0,
        latency_ms=1,
        interview_id=view.id,
        participant_id=view.participant_id,
    )
    llm_call_sink(engine)(record)


def _reply(engine: Engine, model: ScriptedChatModel, token: str, interview_id: int) -> str:
    interviewing.post_message(engine, token=token, interview_id=interview_id, text="more")
    return "".join(
        interviewing.reply(
            engine, model, token=token, interview_id=interview_id, token_budget=APP_BUDGET, retry=NO_WAIT
        )
    )


def test_a_deliberations_budget_wraps_the_interview_up_earlier(engine: Engine) -> None:
    token, view, _ = _interview(engine, token_budget=500)
    assert view.token_budget == 500
    _spend(engine, view, 600)
    assert _reply(engine, ScriptedChatModel([]), token, view.id) == interviewing.BUDGET_MESSAGE
    after = interviewing.get_interview(engine, token=token, interview_id=view.id)
    assert after.state == "show_card" and interviewing.over_budget(after, APP_BUDGET)
    cards.request_card(engine, ScriptedChatModel([HONEST_CARD]), token=token, interview_id=view.id)
    with pytest.raises(InvalidInput, match="length limit"):  # no more conversation either
        cards.back_to_conversation(engine, token=token, interview_id=view.id, token_budget=APP_BUDGET)

    # The same spend under the app's budget alone (0, the default): the interviewer goes on.
    token, view, d = _interview(engine, token_budget=None)
    assert view.token_budget == 0
    _spend(engine, view, 600)
    model = ScriptedChatModel(["What happened next?"])
    assert _reply(engine, model, token, view.id) == "What happened next?"
    assert not interviewing.over_budget(
        interviewing.get_interview(engine, token=token, interview_id=view.id), APP_BUDGET
    )

    # Edited later, it counts from the next turn on.
    deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="ana", config={"token_budget": 100})
    assert _reply(engine, ScriptedChatModel([]), token, view.id) == interviewing.BUDGET_MESSAGE


def test_the_token_budget_setting_is_bounded(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="token_budget"):
        deliberations.create_deliberation(engine, title="T", questions=["Q?"], config={"token_budget": -1})
    with pytest.raises(InvalidInput, match="token_budget"):
        deliberations.create_deliberation(
            engine, title="T", questions=["Q?"], config={"token_budget": 10_000_001}
        )
