"""Grading a stored interview: the conversation as the participant saw it, the card, the accounting."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from interviews.grading import CRITERIA
from providers.accounting import RecordingCallback
from providers.fakes import ScriptedChatModel
from services.facilitator import grading
from services.runtime.accounting import llm_call_sink
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import Interview, LLMCall, Message
from tests.services.story_world import seed


def _reply() -> dict:
    return {name: {"grade": "A", "reason": "fine"} for name, _ in CRITERIA} | {
        "overall": {"grade": "B", "reason": "Short but sound."}
    }


def test_grade_a_stored_interview(sqlite_engine: Engine) -> None:
    w = seed(sqlite_engine)
    model = ScriptedChatModel([_reply()], callbacks=[RecordingCallback(llm_call_sink(sqlite_engine))])
    result = grading.grade_interview(sqlite_engine, model, interview_id=w.interview_id)
    assert result.grades.overall.grade == "B" and result.messages == 2 and result.had_card
    assert result.prompt_ref.startswith("transcript_grader@") and result.model == "scripted"
    prompt = model.calls[0][0].content
    assert "Participant: My aunt told me the truth." in prompt
    assert "card shown" not in prompt and "Oops" not in prompt  # notes and failed replies left out
    assert "<values_card>\nTitle: Honest Presence" in prompt
    with session_scope(sqlite_engine) as s:
        call = s.exec(select(LLMCall)).one()
    assert (call.purpose, call.interview_id, call.deliberation_id) == (
        "grader",
        w.interview_id,
        w.deliberation_id,
    )
    assert call.participant_id == w.participant_id


def test_an_interview_without_answers_or_that_does_not_exist(sqlite_engine: Engine) -> None:
    w = seed(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        empty = Interview(participant_id=w.participant_id, question_id=w.q2)
        s.add(empty)
        s.flush()
        empty_id = empty.id
    model = ScriptedChatModel([])
    with pytest.raises(InvalidInput, match="no answer"):
        grading.grade_interview(sqlite_engine, model, interview_id=empty_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no interview 404"):
        grading.grade_interview(sqlite_engine, model, interview_id=404)
    assert model.calls == []


def test_only_complete_messages_are_graded(sqlite_engine: Engine) -> None:
    """A reply still being written, or one cut off, is no turn of the conversation (as ``transcript``)."""
    w = seed(sqlite_engine)
    iid = w.interview_id
    with session_scope(sqlite_engine) as s:
        for seq, status, said in [(4, "cut_off", "Half a thou"), (5, "streaming", "Still wri")]:
            s.add(Message(interview_id=iid, seq=seq, role="assistant", content=said, status=status))
    model = ScriptedChatModel([_reply()])
    result = grading.grade_interview(sqlite_engine, model, interview_id=w.interview_id)
    prompt = model.calls[0][0].content
    assert result.messages == 2
    assert "Half a thou" not in prompt and "Still wri" not in prompt
