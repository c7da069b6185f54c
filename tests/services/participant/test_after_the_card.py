"""After the card (issue 11 item 6): go back to the conversation, talk more, get a card written from the
longer conversation; or ask for changes. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from providers.accounting import LLMCallRecord
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from services.participant import cards, interviewing
from services.runtime.accounting import llm_call_sink
from services.runtime.retrying import RetryPolicy
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import InterviewPublic, ParticipantCreate
from tests.worlds import GOOD_CARD, HONEST_CARD

NO_WAIT = RetryPolicy(attempts=3, sleep=lambda s: None)
BUDGET = 1_000_000


def _interview(engine: Engine, *, turn_limit: int = 12) -> tuple[str, int]:
    d = deliberations.create_deliberation(
        engine, title="T", questions=["Should I tell my friend?"], config={"interview_turn_limit": turn_limit}
    )
    with session_scope(engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id)).token
    return token, interviewing.start_interview(engine, token=token, question_id=d.questions[0].id).id


def _say(engine: Engine, model: Any, token: str, interview_id: int, text: str) -> str:
    interviewing.post_message(engine, token=token, interview_id=interview_id, text=text)
    return "".join(
        interviewing.reply(
            engine, model, token=token, interview_id=interview_id, token_budget=BUDGET, retry=NO_WAIT
        )
    )


def _view(engine: Engine, token: str, interview_id: int) -> InterviewPublic:
    return interviewing.get_interview(engine, token=token, interview_id=interview_id)


def test_back_to_the_conversation_then_a_card_from_the_longer_conversation(engine: Engine) -> None:
    token, interview = _interview(engine)
    model = ScriptedChatModel(["Tell me about a time.", HONEST_CARD, "What did you notice?", GOOD_CARD])
    _say(engine, model, token, interview, "Honesty matters.")
    first = cards.request_card(engine, model, token=token, interview_id=interview, retry=NO_WAIT)
    assert _view(engine, token, interview).state == "show_card"

    view = cards.back_to_conversation(engine, token=token, interview_id=interview, token_budget=BUDGET)
    assert view.state == "story"  # the conversation stage of one participant turn
    assert view.messages[-1].role == "assistant" and view.messages[-1].content == cards.BACK_MESSAGE
    assert view.messages[-1].content.count("?") >= 1  # the interviewer asks: the chat box continues
    again = cards.back_to_conversation(engine, token=token, interview_id=interview, token_budget=BUDGET)
    assert len(again.messages) == len(view.messages)  # a double click or a second tab: one message

    # The chat box now continues the interview: the interviewer answers, the card stays as it was.
    assert (
        _say(engine, model, token, interview, "When my friend was ill I told her.") == "What did you notice?"
    )
    view = _view(engine, token, interview)
    assert view.state == "zoom_in" and view.card is not None and view.card.id == first.id
    assert view.card_behind  # the participant said more since the card

    # "Show me my card now": a new card, written from the whole conversation.
    second = cards.request_card(engine, model, token=token, interview_id=interview, retry=NO_WAIT)
    assert second.id != first.id and second.title == GOOD_CARD["title"]
    sent = "\n".join(str(m.content) for m in model.calls[-1])
    assert "When my friend was ill I told her." in sent and "Honesty matters." in sent
    view = _view(engine, token, interview)
    assert view.state == "show_card" and not view.card_behind
    assert view.messages[-1].content == interviewing.READY_MESSAGE
    assert (
        cards.submit_card(engine, token=token, card_id=second.id, digest=second.digest).status == "submitted"
    )


def test_back_from_a_change_request_and_ask_for_changes_again(engine: Engine) -> None:
    token, interview = _interview(engine)
    model = ScriptedChatModel(["Tell me more.", HONEST_CARD])
    _say(engine, model, token, interview, "Honesty matters.")
    cards.request_card(engine, model, token=token, interview_id=interview, retry=NO_WAIT)
    assert cards.ask_for_changes(engine, token=token, interview_id=interview).state == "revise"
    assert cards.back_to_conversation(engine, token=token, interview_id=interview).state == "story"
    with pytest.raises(InvalidInput, match="nothing to change"):  # no card on screen in the conversation
        cards.ask_for_changes(engine, token=token, interview_id=interview)
    same = cards.request_card(engine, ScriptedChatModel([]), token=token, interview_id=interview)
    assert same.title == HONEST_CARD["title"]  # nothing said since: the same card, no model call
    assert cards.ask_for_changes(engine, token=token, interview_id=interview).state == "revise"


def test_no_way_back_at_the_turn_limit_or_over_the_budget(sqlite_engine: Engine) -> None:
    token, interview = _interview(sqlite_engine, turn_limit=3)
    model = ScriptedChatModel(["Q2?", "Q3?", HONEST_CARD])
    for text in ("a", "b", "c"):
        _say(sqlite_engine, model, token, interview, text)
    cards.request_card(sqlite_engine, model, token=token, interview_id=interview, retry=NO_WAIT)
    with pytest.raises(InvalidInput, match="length limit"):
        cards.back_to_conversation(sqlite_engine, token=token, interview_id=interview)
    assert _view(sqlite_engine, token, interview).state == "show_card"  # nothing changed

    token, interview = _interview(sqlite_engine)
    _say(sqlite_engine, ScriptedChatModel(["Q2?"]), token, interview, "a")
    cards.request_card(sqlite_engine, ScriptedChatModel([HONEST_CARD]), token=token, interview_id=interview)
    view = _view(sqlite_engine, token, interview)
    record = LLMCallRecord(
        purpose="interview", model="m", tokens_in=900, tokens_out=0, latency_ms=1, interview_id=interview
    )
    llm_call_sink(sqlite_engine)(record)
    with pytest.raises(InvalidInput, match="length limit"):
        cards.back_to_conversation(sqlite_engine, token=token, interview_id=view.id, token_budget=500)
    assert (
        cards.back_to_conversation(
            sqlite_engine, token=token, interview_id=view.id, token_budget=BUDGET
        ).state
        == "story"
    )


def test_no_way_back_after_submitting_or_for_someone_else(sqlite_engine: Engine) -> None:
    token, interview = _interview(sqlite_engine)
    _say(sqlite_engine, ScriptedChatModel(["Q2?"]), token, interview, "a")
    card = cards.request_card(
        sqlite_engine, ScriptedChatModel([HONEST_CARD]), token=token, interview_id=interview
    )
    other, _ = _interview(sqlite_engine)
    with pytest.raises(InvalidInput, match="someone else"):
        cards.back_to_conversation(sqlite_engine, token=other, interview_id=interview)
    cards.submit_card(sqlite_engine, token=token, card_id=card.id, digest=card.digest)
    with pytest.raises(InvalidInput, match="already submitted"):
        cards.back_to_conversation(sqlite_engine, token=token, interview_id=interview)
