"""The interview page's send queue (AppTest): each send is queued with its own key by the chat box and stored
first thing in the next run; a send handled twice is stored once, one the database could not take stays
queued, one the service refuses leaves the queue and stays on screen, with its text, until dismissed or
another send (issue 10 item 1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from errors import InvalidInput
from services.facilitator import deliberations, system
from services.participant import interviewing, joining
from settings import load_settings
from storage.errors import DatabaseUnavailable
from tests.app.conftest import shown
from ui import state


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _start(engine) -> tuple[str, int]:
    d = deliberations.create_deliberation(engine, title="Queue", questions=["What should I do?"])
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    link = deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[0]
    token = joining.join(engine, invite=link.invite.code).token
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    return token, interviewing.start_interview(engine, token=token, question_id=question).id


def _open(make_app: Callable[[], AppTest], token: str) -> AppTest:
    at = make_app()
    at.query_params["token"] = token
    at.run()
    at.switch_page("pages/interview.py").run()
    assert not at.exception
    return at


def _users(engine, token: str, interview: int) -> list[str]:
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    return [m.content for m in view.messages if m.role == "user"]


def test_a_send_is_queued_with_a_key_and_stored(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)
    at.chat_input[0].set_value("Honesty first.").run()
    assert not at.exception and at.session_state[state.OUTBOX] == []
    assert _users(engine, token, interview) == ["Honesty first."]
    assert not interviewing.get_interview(engine, token=token, interview_id=interview).awaiting_reply


def test_a_send_handled_twice_is_stored_once(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)
    replayed = state.Send(interview, "0123abcd", "Only once.")
    at.session_state[state.OUTBOX] = [replayed, replayed]  # a rerun that saw the same send again
    at.run()
    assert not at.exception and at.session_state[state.OUTBOX] == []
    assert _users(engine, token, interview) == ["Only once."]


def test_a_send_the_database_could_not_take_stays_queued(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch
) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)

    def down(*args: object, **kwargs: object) -> None:
        raise DatabaseUnavailable("The database cannot be reached.")

    post_message = interviewing.post_message
    app_env.setattr(interviewing, "post_message", down)
    at.chat_input[0].set_value("Keep me.").run()
    assert not at.exception and "cannot be reached" in shown(at.error[0].value)
    assert [s.text for s in at.session_state[state.OUTBOX]] == ["Keep me."]
    app_env.setattr(interviewing, "post_message", post_message)  # the database is back
    at.run()  # the next run (any click) stores it
    assert not at.exception and at.session_state[state.OUTBOX] == []
    assert _users(engine, token, interview) == ["Keep me."]


def test_a_refused_send_stays_shown_until_dismissed(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch
) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)

    def refuse(*args: object, **kwargs: object) -> None:
        raise InvalidInput("You cannot send messages any more: this card is already submitted.")

    app_env.setattr(interviewing, "post_message", refuse)
    at.chat_input[0].set_value("Too late.").run()
    assert not at.exception and "already submitted" in shown(at.error[0].value)
    assert at.session_state[state.OUTBOX] == []
    at.run()  # a rerun (a reply streamed, another tab's reply polled): still there, the text with it
    assert "already submitted" in shown(at.error[0].value)
    assert [a.value for a in at.text_area] == ["Too late."]
    at.button(key=f"dismiss-{at.session_state[state.REFUSED][0].send.key}").click().run()
    assert not at.exception and not at.error and not at.text_area


def test_a_new_send_replaces_what_was_refused(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch
) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)
    at.chat_input[0].set_value("x" * (interviewing.MAX_MESSAGE_CHARS + 1)).run()
    assert at.error and at.session_state[state.REFUSED]
    at.chat_input[0].set_value("Shorter now.").run()
    assert not at.exception and not at.session_state[state.REFUSED]
    assert _users(engine, token, interview) == ["Shorter now."]


def test_an_over_long_message_is_refused_with_its_length_and_shown_back(
    make_app: Callable[[], AppTest], engine
) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)
    text = "word " * 1200  # 6,000 characters: over the service's limit, under the box's
    at.chat_input[0].set_value(text).run()
    assert not at.exception
    limit = interviewing.MAX_MESSAGE_CHARS
    assert any(f"at most {limit} characters (this one has {len(text.strip())})" in e.value for e in at.error)
    assert [a.value for a in at.text_area] == [text]  # nothing typed is lost
    assert _users(engine, token, interview) == []


def test_a_message_of_exactly_the_limit_is_taken(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = _open(make_app, token)
    at.chat_input[0].set_value("y" * interviewing.MAX_MESSAGE_CHARS).run()
    assert not at.exception and not at.session_state[state.REFUSED]
    assert _users(engine, token, interview) == ["y" * interviewing.MAX_MESSAGE_CHARS]
