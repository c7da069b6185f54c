"""Form widgets are keyed by their question's key (issue 10): two demographics may share a label, and a
survey question's key never meets one of the session's own keys (``ui/state.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, system
from services.participant import joining
from settings import load_settings
from storage.db import session_scope
from storage.tables import Participant, SurveyResponse
from ui import state


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _token(engine, config: dict) -> str:
    d = deliberations.create_deliberation(engine, title="Keys", questions=["Q?"], config=config)
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    link = deliberations.open_link(engine, deliberation_id=d.id, base_url="https://studio.example.org")
    return joining.join(engine, code=link.split("code=")[1]).token


def _open(make_app: Callable[[], AppTest], page: str, token: str) -> AppTest:
    at = make_app()
    at.query_params["token"] = token
    at.run()
    return at.switch_page(page).run()


def test_two_demographics_with_the_same_label(make_app: Callable[[], AppTest], engine) -> None:
    same = [{"key": k, "label": "Where do you live?", "kind": "text"} for k in ("town", "country")]
    token = _token(engine, {"demographics": same})
    at = _open(make_app, "pages/join.py", token)
    assert not at.exception and [t.key for t in at.text_input] == ["demographic-town", "demographic-country"]
    at.text_input(key="demographic-town").input("Lyon")
    at.text_input(key="demographic-country").input("France")
    at.checkbox[0].check()
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception
    assert joining.home(engine, token=token).participant.demographics == {"town": "Lyon", "country": "France"}


def test_a_survey_key_named_like_a_session_key(make_app: Callable[[], AppTest], engine) -> None:
    survey = [
        {"key": state.EDITING_CARD, "label": "Did you edit your card?", "kind": "yes_no", "required": True}
    ]
    token = _token(engine, {"survey": survey})
    with session_scope(engine) as s:
        s.exec(select(Participant).where(Participant.token == token)).one().stage = "survey"
    at = _open(make_app, "pages/finish.py", token)
    assert not at.exception and at.session_state[state.EDITING_CARD] is False  # the session's own key
    (radio,) = at.radio
    assert radio.value is None  # not preset from the session's own key of that name
    radio.set_value(True)
    next(b for b in at.button if b.label == "Finish").click().run()
    assert not at.exception and "Thank you!" in [t.value for t in at.title]
    with session_scope(engine) as s:
        assert [(r.question_key, r.answer) for r in s.exec(select(SurveyResponse)).all()] == [
            (state.EDITING_CARD, True)
        ]
    assert at.session_state[state.EDITING_CARD] is False
