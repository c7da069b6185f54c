"""AppTest (issue 11 item 7): a stale second tab's answer to a story is reported, never dropped without a
word; the participant's forms mark each question required or optional."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations, system
from services.participant import cards, interviewing, joining, judging, receipts, voting
from settings import load_settings
from storage.db import session_scope
from storage.tables import Participant
from tests import worlds
from tests.app.conftest import open_page, shown, texts

DEMOGRAPHICS = [
    {"key": "party", "label": "Party", "options": ["Democrat", "Republican", "Other"], "required": True},
    {"key": "age", "label": "Age", "kind": "number", "max": 120},
    {"key": "town", "label": "Town", "kind": "text", "required": True},
]


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _invite(engine, *, config: dict | None = None) -> str:
    d = deliberations.create_deliberation(
        engine, title="Tabs", questions=["What should I do?"], config=config or {}
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    return deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[
        0
    ].invite.code


def _judging(engine) -> str:
    """A participant at the judging step, with three peers' stories to judge."""
    token = joining.join(engine, invite=_invite(engine)).token
    joining.consent(engine, token=token, demographics={})
    home = joining.home(engine, token=token)
    question = home.questions[0].id
    worlds.peers(engine, deliberation_id=home.deliberation_id, question_id=question)
    view = interviewing.start_interview(engine, token=token, question_id=question)
    card = cards.request_card(
        engine, ScriptedChatModel([worlds.GOOD_CARD]), token=token, interview_id=view.id
    )
    cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
    draw = voting.draw_values(engine, token=token, question_id=question)
    voting.submit_votes(engine, token=token, draw_id=draw.draw_id, value_ids=[v.id for v in draw.values[:2]])
    assert joining.home(engine, token=token).participant.stage == "judge"
    return token


def _save(at: AppTest, answer: str) -> None:
    at.radio[0].set_value(answer)
    next(b for b in at.button if b.label == "Save my answer").click().run()


def test_a_stale_tab_is_told_its_answer_was_not_saved(make_app: Callable[[], AppTest], engine) -> None:
    token = _judging(engine)
    tab_a = open_page(make_app, "pages/judge.py", token=token)
    tab_b = open_page(make_app, "pages/judge.py", token=token)  # the same story, unanswered, in both tabs
    first = judging.stories_to_judge(engine, token=token)[0]

    _save(tab_a, "upgrade")
    assert not tab_a.exception and not tab_a.error
    _save(tab_b, "no_upgrade")  # sent from the stale form
    assert not tab_b.exception
    assert [shown(e.value) for e in tab_b.error] == [
        "You already answered this story in another tab: Yes. Your answer here was not saved."
    ]
    stories = judging.stories_to_judge(engine, token=token)
    assert [s.answer for s in stories if s.hypothesis_id == first.hypothesis_id] == ["upgrade"]
    assert "Story 2 of 3." in texts(tab_b)  # and tab B goes on with the next story
    tab_b.run()
    assert not tab_b.error  # said once

    _save(tab_b, "not_sure")  # a fresh form: saved as usual
    assert not tab_b.exception and not tab_b.error
    assert sorted(str(s.answer) for s in judging.stories_to_judge(engine, token=token)) == [
        "None",
        "not_sure",
        "upgrade",
    ]


def test_saving_without_an_answer_still_says_so_in_the_form(make_app: Callable[[], AppTest], engine) -> None:
    token = _judging(engine)
    at = open_page(make_app, "pages/judge.py", token=token)
    next(b for b in at.button if b.label == "Save my answer").click().run()
    assert not at.exception and [e.value for e in at.error] == ["Please choose Yes, No or Not sure."]
    assert all(s.answer is None for s in judging.stories_to_judge(engine, token=token))


def test_join_marks_required_and_optional_questions(make_app: Callable[[], AppTest], engine) -> None:
    at = open_page(make_app, "pages/join.py", invite=_invite(engine, config={"demographics": DEMOGRAPHICS}))
    assert not at.exception
    labels = [shown(w.label) for w in (*at.selectbox, *at.text_input)]
    assert labels == ["Party (required)", "Age (optional)", "Town (required)"]
    assert [h.value for h in at.header] == ["Before we start"] and not at.subheader  # an h2 under the h1


def test_the_survey_marks_required_and_optional_questions(make_app: Callable[[], AppTest], engine) -> None:
    survey = [
        {"key": "clear", "label": "It helped me think", "required": True},
        {"key": "comment", "label": "Anything else?", "kind": "text"},
    ]
    token = joining.join(engine, invite=_invite(engine, config={"survey": survey})).token
    with session_scope(engine) as s:
        s.get(Participant, joining.home(engine, token=token).participant.id).stage = "survey"
    at = open_page(make_app, "pages/finish.py", token=token)
    assert not at.exception
    assert [shown(r.label) for r in at.radio] == ["It helped me think (required)"]
    assert [shown(t.label) for t in at.text_area] == ["Anything else? (optional)"]
    assert [i.label for i in receipts.survey(engine, token=token)] == ["It helped me think", "Anything else?"]
