"""The console's Settings page (AppTest): every setting of the chosen deliberation is edited through its
form, a failed save keeps what was typed and shows the error, questions are added, edited and removed
(only while unanswered), and contexts are typed or proposed by the model, edited, then saved."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, question_contexts, system
from settings import load_settings
from storage import repo_values
from storage.db import session_scope
from storage.tables import Context, Interview, Participant
from tests.app.conftest import CONSOLE_ACCOUNT, by_label, shown, texts

PAGE = "pages/deliberation_settings.py"


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _deliberation(engine, questions=("Q one?",)) -> int:
    return deliberations.create_deliberation(engine, title="Care", questions=list(questions)).id


def _events(engine, d: int) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return [(e.action, e.actor) for e in repo_values.list_moderation_events(s, deliberation_id=d)]


def test_no_deliberation_yet(console_app: Callable[[str], AppTest]) -> None:
    at = console_app(PAGE)
    assert not at.exception and "No deliberations yet" in texts(at)


def test_texts_are_saved_and_logged(console_app: Callable[[str], AppTest], engine) -> None:
    d = _deliberation(engine)
    at = console_app(PAGE)
    assert not at.exception
    by_label(at.text_input, "Title").input("Care at home")
    by_label(at.text_area, "Welcome text").input("Welcome, friend.")
    by_label(at.button, "Save texts").click().run()
    assert not at.exception and "Saved the texts." in texts(at)
    stored = deliberations.get_deliberation(engine, deliberation_id=d)
    assert (stored.title, stored.welcome_text) == ("Care at home", "Welcome, friend.")
    assert ("deliberation_edit", CONSOLE_ACCOUNT) in _events(engine, d)


def test_numbers_are_saved_and_out_of_range_keeps_the_typing(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = _deliberation(engine)
    at = console_app(PAGE)
    by_label(at.number_input, "Stories to judge").set_value(42)
    by_label(at.number_input, "Wiser judgements at least").set_value(5)
    by_label(at.button, "Save numbers").click().run()
    assert not at.exception and "stories_to_judge" in shown(at.error[0].value)
    assert by_label(at.number_input, "Stories to judge").value == 42  # what was typed stays
    assert deliberations.get_deliberation(engine, deliberation_id=d).settings.stories_to_judge == 3
    by_label(at.number_input, "Stories to judge").set_value(5)
    by_label(at.number_input, "Pipeline: model calls at most").set_value(77)
    by_label(at.button, "Save numbers").click().run()
    assert not at.exception and "Saved the numbers." in texts(at)
    settings = deliberations.get_deliberation(engine, deliberation_id=d).settings
    assert (settings.stories_to_judge, settings.pipeline_max_calls) == (5, 77)
    assert settings.graph_thresholds.min_wiser == 5


def test_a_required_choice_without_options_is_refused(console_app: Callable[[str], AppTest], engine) -> None:
    d = _deliberation(engine)
    at = console_app(PAGE)
    bad = json.dumps([{"key": "party", "label": "Party", "required": True}])
    by_label(at.text_area, "Demographics questions (JSON list)").input(bad)
    by_label(at.button, "Save demographics and survey").click().run()
    assert not at.exception and "a choice question needs options" in shown(at.error[0].value)
    assert by_label(at.text_area, "Demographics questions (JSON list)").value == bad
    good = json.dumps([{"key": "party", "label": "Party", "options": ["A", "B"], "required": True}])
    by_label(at.text_area, "Demographics questions (JSON list)").input(good)
    by_label(at.button, "Save demographics and survey").click().run()
    assert not at.exception and "Saved the demographics and the survey." in texts(at)
    (question,) = deliberations.get_deliberation(engine, deliberation_id=d).settings.demographics
    assert (question.key, question.options, question.required) == ("party", ["A", "B"], True)


def test_all_settings_as_json(console_app: Callable[[str], AppTest], engine) -> None:
    d = _deliberation(engine)
    at = console_app(PAGE)
    field = by_label(at.text_area, "All settings as JSON")
    stored = json.loads(field.value)
    field.input(json.dumps({**stored, "values_to_vote": 8}))
    by_label(at.button, "Save all settings").click().run()
    assert not at.exception and "Saved the settings." in texts(at)
    assert deliberations.get_deliberation(engine, deliberation_id=d).settings.values_to_vote == 8
    by_label(at.text_area, "All settings as JSON").input('{"values_to_vote": "8"}')
    by_label(at.button, "Save all settings").click().run()
    assert not at.exception and "values_to_vote" in shown(at.error[0].value)


def test_questions_are_added_edited_and_removed_while_unanswered(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = _deliberation(engine, questions=("Q one?", "Q two?"))
    at = console_app(PAGE)
    by_label(at.text_area, "New question").input("Q three?")
    by_label(at.button, "Add the question").click().run()
    assert not at.exception and "Added the question." in texts(at)
    at.run()
    by_label(at.text_area, "Text of question 3").input("Q three, better?")
    saves = [b for b in at.button if b.label == "Save the question"]
    saves[2].click().run()
    assert not at.exception and "Saved the question." in texts(at)
    got = deliberations.get_deliberation(engine, deliberation_id=d)
    assert [q.text for q in got.questions] == ["Q one?", "Q two?", "Q three, better?"]

    with session_scope(engine) as s:  # someone answers question 1
        person = Participant(deliberation_id=d)
        s.add(person)
        s.flush()
        s.add(Interview(participant_id=person.id, question_id=got.questions[0].id))
    at.run()
    [b for b in at.button if b.label == "Remove the question"][0].click().run()
    assert not at.exception and "has been answered (1 interviews)" in shown(at.error[0].value)
    at.run()
    [b for b in at.button if b.label == "Remove the question"][1].click().run()
    assert not at.exception and "Removed the question." in texts(at)
    after = deliberations.get_deliberation(engine, deliberation_id=d)
    assert [q.text for q in after.questions] == ["Q one?", "Q three, better?"]
    actions = [a for a, _ in _events(engine, d)]
    assert {"question_add", "question_edit", "question_remove"} <= set(actions)


def test_contexts_typed_then_proposed_by_the_model_and_saved(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = _deliberation(engine)
    question = deliberations.get_deliberation(engine, deliberation_id=d).questions[0].id
    at = console_app(PAGE)
    label = 'Contexts of question 1, one per line ("When ...", 4-9 words)'
    by_label(at.text_area, label).input("When the user feels alone at night\nnot a context")
    by_label(at.button, "Save the contexts").click().run()
    assert not at.exception and "starts with" in shown(at.error[0].value)
    assert question_contexts.question_contexts(engine, question_id=question) == []
    assert "not a context" in by_label(at.text_area, label).value  # kept to fix

    by_label(at.text_area, label).input("When the user feels alone at night")
    by_label(at.button, "Propose contexts with the model").click().run()
    assert not at.exception and "proposals are added below" in texts(at)
    proposed = by_label(at.text_area, label).value.splitlines()
    assert proposed[0] == "When the user feels alone at night" and len(proposed) > 1
    with session_scope(engine) as s:
        assert s.exec(select(Context)).all() == []  # proposing stores nothing
    by_label(at.button, "Save the contexts").click().run()
    assert not at.exception and f"Saved the contexts of question 1: {len(proposed)} added" in texts(at)
    assert question_contexts.question_contexts(engine, question_id=question) == proposed
    with session_scope(engine) as s:
        sources = {c.text: c.source for c in s.exec(select(Context)).all()}
    assert sources[proposed[0]] == "facilitator" and {sources[t] for t in proposed[1:]} == {"generated"}
    assert ("question_contexts", CONSOLE_ACCOUNT) in _events(engine, d)


def test_the_token_budget_is_a_setting(console_app: Callable[[str], AppTest], engine) -> None:
    d = _deliberation(engine)
    at = console_app(PAGE)
    label = "Tokens a participant's interview may use (0: the app's PARTICIPANT_TOKEN_BUDGET)"
    assert by_label(at.number_input, label).value == 0
    by_label(at.number_input, label).set_value(20_000_000)
    by_label(at.button, "Save numbers").click().run()
    assert not at.exception and "token_budget" in shown(at.error[0].value)
    by_label(at.number_input, label).set_value(4000)
    by_label(at.button, "Save numbers").click().run()
    assert not at.exception and "Saved the numbers." in texts(at)
    assert deliberations.get_deliberation(engine, deliberation_id=d).settings.token_budget == 4000
