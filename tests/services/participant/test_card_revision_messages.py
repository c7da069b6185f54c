""" "Ask for changes" says what happened: a rewritten card, or honestly the same one (with the demo model)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from providers.fakes import DemoChatModel, ScriptedChatModel
from services.facilitator import deliberations
from services.participant import cards, interviewing
from services.runtime.retrying import RetryPolicy
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import CardPublic, ParticipantCreate
from tests.worlds import HONEST_CARD

NO_WAIT = RetryPolicy(attempts=1, sleep=lambda s: None)


def _interview(engine: Engine) -> tuple[str, int]:
    d = deliberations.create_deliberation(engine, title="T", questions=["Should I tell her the truth?"])
    with session_scope(engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id)).token
    view = interviewing.start_interview(engine, token=token, question_id=d.questions[0].id)
    interviewing.post_message(engine, token=token, interview_id=view.id, text="Tell the truth, gently.")
    return token, view.id


def _change(
    engine: Engine, model: BaseChatModel, token: str, interview_id: int, text: str
) -> tuple[CardPublic, str]:
    cards.ask_for_changes(engine, token=token, interview_id=interview_id)
    interviewing.post_message(engine, token=token, interview_id=interview_id, text=text)
    card = cards.request_card(engine, model, token=token, interview_id=interview_id, retry=NO_WAIT)
    said = interviewing.get_interview(engine, token=token, interview_id=interview_id).messages[-1].content
    return card, said


def test_the_demo_card_keeps_the_rules_and_a_change_request_changes_it(engine: Engine) -> None:
    token, interview_id = _interview(engine)
    demo = DemoChatModel()
    first = cards.request_card(engine, demo, token=token, interview_id=interview_id, retry=NO_WAIT)
    assert first.problems == [] and first.title == "Honest Gentleness"
    second, said = _change(engine, demo, token, interview_id, "Say more about the pace, please.")
    assert said == cards.REVISED_MESSAGE
    assert second.problems == [] and second.digest != first.digest  # it really changed
    submitted = cards.submit_card(engine, token=token, card_id=second.id, digest=second.digest)
    assert submitted.status == "submitted"


def test_a_rewrite_that_changed_nothing_says_so(engine: Engine) -> None:
    token, interview_id = _interview(engine)
    first = cards.request_card(
        engine, ScriptedChatModel([HONEST_CARD]), token=token, interview_id=interview_id, retry=NO_WAIT
    )
    same, said = _change(engine, ScriptedChatModel([HONEST_CARD]), token, interview_id, "Hmm, not sure.")
    assert said == cards.UNCHANGED_MESSAGE and same.digest == first.digest  # nothing to claim
    other = {**HONEST_CARD, "title": "Honest Calm Presence"}
    changed, said = _change(engine, ScriptedChatModel([other]), token, interview_id, "Mention calm.")
    assert said == cards.REVISED_MESSAGE and changed.title == "Honest Calm Presence"
