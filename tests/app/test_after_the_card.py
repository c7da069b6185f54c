"""The interview page after the card (AppTest): two clear actions, and the chat usable in every state."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from interviews.vocabulary import CONVERSATION
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations, system
from services.participant import cards, interviewing, joining
from settings import load_settings
from tests.app.conftest import open_page, shown, texts
from tests.worlds import GOOD_CARD, HONEST_CARD
from ui import resources


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _start(engine, *, turn_limit: int = 12) -> tuple[str, int]:
    d = deliberations.create_deliberation(
        engine,
        title="Parenting",
        questions=["What should I do?"],
        config={"interview_turn_limit": turn_limit},
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    link = deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[0]
    token = joining.join(engine, invite=link.invite.code).token
    joining.consent(engine, token=token, demographics={})
    q = joining.home(engine, token=token).questions[0].id
    return token, interviewing.start_interview(engine, token=token, question_id=q).id


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_go_back_to_the_conversation_and_get_a_new_card(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch
) -> None:
    token, interview = _start(engine)
    model = ScriptedChatModel(
        ["Tell me about a time.", GOOD_CARD, "What did you notice then?", {"reason": "enough"}, HONEST_CARD]
    )
    app_env.setattr(resources, "chat_model", lambda: model)
    at = open_page(make_app, "pages/interview.py", token=token)
    assert at.chat_input[0].placeholder == "Write your answer..."
    at.chat_input[0].set_value("Honesty with kindness.").run()
    _button(at, "Show me my card now").click().run()
    assert not at.exception
    first = interviewing.get_interview(engine, token=token, interview_id=interview).card
    assert first is not None and first.title == GOOD_CARD["title"]
    # On the card a message asks for changes, and the box says so; both ways on are on the page.
    assert at.chat_input[0].placeholder == "Write what should change about the card..."
    assert not _button(at, "Ask for changes").disabled
    back = _button(at, "Go back to the conversation")
    assert not back.disabled

    back.click().run()
    assert not at.exception
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert view.state == "story" and view.messages[-1].content == cards.BACK_MESSAGE
    assert cards.BACK_MESSAGE in texts(at)
    assert at.chat_input[0].placeholder == "Write your answer..."  # the chat continues the interview
    assert not any(b.label == "Go back to the conversation" for b in at.button)  # the card is put away
    assert not at.text_input  # and its edit form with it

    at.chat_input[0].set_value("When my son lied, I listened first.").run()
    assert not at.exception
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert view.state == "zoom_in" and view.messages[-1].content == "What did you notice then?"
    assert any(b.label == "Show me my card now" for b in at.button)

    # The interviewer has enough: the new card is written from the whole conversation, without a click.
    at.chat_input[0].set_value("Whether he felt safe to tell me.").run()
    assert not at.exception
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert view.state == "show_card" and view.card is not None and view.card.id != first.id
    assert view.card.title == HONEST_CARD["title"] and not view.card_behind
    assert "When my son lied, I listened first." in "\n".join(str(m.content) for m in model.calls[-1])
    assert any(b.label == "This is my value: submit" for b in at.button) and model.remaining == 0


def test_show_me_my_card_now_after_going_back(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = open_page(make_app, "pages/interview.py", token=token)
    at.chat_input[0].set_value("Honesty with kindness.").run()
    _button(at, "Show me my card now").click().run()
    first = interviewing.get_interview(engine, token=token, interview_id=interview).card
    _button(at, "Go back to the conversation").click().run()
    at.chat_input[0].set_value("And patience.").run()
    assert not at.exception
    assert interviewing.get_interview(engine, token=token, interview_id=interview).state in CONVERSATION
    _button(at, "Show me my card now").click().run()
    assert not at.exception
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert view.state == "show_card" and view.card is not None and first is not None
    assert view.card.id != first.id and not view.card_behind


def test_ask_for_changes_then_go_back_instead(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = open_page(make_app, "pages/interview.py", token=token)
    at.chat_input[0].set_value("Honesty with kindness.").run()
    _button(at, "Show me my card now").click().run()
    _button(at, "Ask for changes").click().run()
    assert not at.exception and _button(at, "Ask for changes").disabled
    assert cards.CHANGES_MESSAGE in texts(at)
    assert at.chat_input[0].placeholder == "Write what should change about the card..."
    _button(at, "Go back to the conversation").click().run()
    assert not at.exception
    assert interviewing.get_interview(engine, token=token, interview_id=interview).state == "story"
    assert at.chat_input[0].placeholder == "Write your answer..."


def test_at_the_turn_limit_the_way_back_is_closed_and_says_why(
    make_app: Callable[[], AppTest], engine
) -> None:
    token, interview = _start(engine, turn_limit=3)
    at = open_page(make_app, "pages/interview.py", token=token)
    for text in ("One.", "Two.", "Three."):
        at.chat_input[0].set_value(text).run()
    assert not at.exception
    assert interviewing.get_interview(engine, token=token, interview_id=interview).state == "show_card"
    assert _button(at, "Go back to the conversation").disabled
    assert "reached its length limit" in texts(at)
    assert at.chat_input  # the chat is still there: a message asks for changes
    assert shown(at.chat_input[0].placeholder) == "Write what should change about the card..."
