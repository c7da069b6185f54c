"""Facilitator deliberations page (AppTest): create (a failed save keeps what was typed), change the status,
duplicate and delete with confirmation; signed out it shows nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, system
from settings import load_settings
from storage import repo_values
from storage.db import session_scope
from tests.app.conftest import CONSOLE_ACCOUNT, by_label, console_token, shown, texts
from ui import state

PAGE = "pages/deliberations.py"


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _create(at: AppTest, title: str, questions: str, settings: str = "") -> AppTest:
    by_label(at.text_input, "Title").input(title)
    by_label(at.text_area, "Questions, one per line").input(questions)
    by_label(at.text_area, "Settings as JSON (optional)").input(settings)
    by_label(at.button, "Create").click().run()
    assert not at.exception
    return at


def test_create_a_deliberation(console_app: Callable[[str], AppTest], engine) -> None:
    at = console_app(PAGE)
    assert not at.exception and "No deliberations yet" in texts(at)
    _create(at, "Parenting advice", "How strict should I be?\n\nMy teen lies to me.")
    assert "Created deliberation 1 as a draft" in texts(at)
    table = at.dataframe[0].value
    assert list(table["title"]) == ["Parenting advice"] and list(table["questions"]) == [2]
    assert list(table["status"]) == ["draft"] and list(table["visitors"]) == [0]
    (created,) = deliberations.list_deliberations(engine)
    with session_scope(engine) as s:
        (event,) = repo_values.list_moderation_events(s, deliberation_id=created.id)
        assert (event.action, event.actor) == ("deliberation_create", CONSOLE_ACCOUNT)


def test_a_failed_create_keeps_what_was_typed(console_app: Callable[[str], AppTest], engine) -> None:
    at = console_app(PAGE)
    no_options = '{"demographics": [{"key": "party", "label": "Party", "required": true}]}'
    _create(at, "Configured", "Q?", no_options)
    assert "a choice question needs options" in shown(at.error[0].value)
    assert deliberations.list_deliberations(engine) == []
    assert by_label(at.text_input, "Title").value == "Configured"  # nothing typed is lost
    assert by_label(at.text_area, "Settings as JSON (optional)").value == no_options
    by_label(at.text_area, "Settings as JSON (optional)").input('{"stories_to_judge": 4}')
    by_label(at.button, "Create").click().run()
    assert not at.exception and "Created deliberation 1 as a draft" in texts(at)
    assert deliberations.list_deliberations(engine)[0].settings.stories_to_judge == 4


def test_a_form_without_questions_says_what_to_fix(console_app: Callable[[str], AppTest]) -> None:
    at = console_app(PAGE)
    by_label(at.text_input, "Title").input("No questions")
    by_label(at.button, "Create").click().run()
    assert not at.exception and "needs at least one question" in at.error[0].value


def test_open_close_and_back_to_draft(console_app: Callable[[str], AppTest], engine) -> None:
    d = deliberations.create_deliberation(engine, title="Open one", questions=["Q?"])
    at = console_app(PAGE)
    by_label(at.selectbox, "Status").set_value("open")
    by_label(at.button, "Change the status").click().run()
    assert not at.exception and f"Deliberation {d.id} is open." in texts(at)
    assert deliberations.get_deliberation(engine, deliberation_id=d.id).status == "open"
    from services.participant import joining

    link = deliberations.open_link(engine, deliberation_id=d.id, base_url="https://studio.example.org")
    joining.join(engine, code=link.split("code=")[1])
    at.run()
    by_label(at.selectbox, "Status").set_value("draft")
    by_label(at.button, "Change the status").click().run()
    assert not at.exception and "cannot go back to draft" in shown(at.error[0].value)
    assert deliberations.get_deliberation(engine, deliberation_id=d.id).status == "open"


def test_duplicate_and_delete(console_app: Callable[[str], AppTest], engine) -> None:
    d = deliberations.create_deliberation(engine, title="Original", questions=["Q one?", "Q two?"])
    at = console_app(PAGE)
    by_label(at.button, "Duplicate").click().run()
    assert not at.exception and "Duplicated" in texts(at)
    copies = [x for x in deliberations.list_deliberations(engine) if x.id != d.id]
    assert [(c.title, c.status, [q.text for q in c.questions]) for c in copies] == [
        ("Copy of Original", "draft", ["Q one?", "Q two?"])
    ]
    assert at.sidebar.selectbox[0].value == copies[0].id  # the copy is the one chosen now
    at.sidebar.selectbox[0].set_value(d.id).run()  # back to the original
    assert not at.exception and at.query_params["d"] == str(d.id)
    at.run()
    assert "2 questions" in texts(at)  # what deleting removes is said first
    by_label(at.text_input, "Type the title to confirm").input("Origin")
    by_label(at.button, "Delete for good").click().run()
    assert not at.exception and "type its title exactly" in shown(at.error[0].value)
    assert len(deliberations.list_deliberations(engine)) == 2
    by_label(at.text_input, "Type the title to confirm").input("Original")
    by_label(at.button, "Delete for good").click().run()
    assert not at.exception and f"Deleted deliberation {d.id}." in texts(at)
    assert [x.id for x in deliberations.list_deliberations(engine)] == [copies[0].id]


def test_signed_out_shows_no_deliberation(make_app: Callable[[], AppTest], engine) -> None:
    deliberations.create_deliberation(engine, title="Secret plans", questions=["Q?"])
    at = make_app().run()
    assert not at.exception
    try:
        at.switch_page(PAGE).run()
    except Exception as exc:  # not listed before sign-in, so not reachable
        assert "deliberations" in str(exc)
    assert not at.dataframe and "Secret plans" not in texts(at) and "New deliberation" not in texts(at)


def test_a_database_failing_after_start_up_is_one_plain_message(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    from storage.errors import DatabaseUnavailable

    at = console_app(PAGE)

    def broken(*args: object, **kwargs: object) -> None:
        raise DatabaseUnavailable("Cannot open the database at sqlite:///gone.")

    app_env.setattr(deliberations, "list_deliberations", broken)
    at.run()
    assert not at.exception
    assert "Cannot open the database" in at.error[0].value and "DATABASE_URL" in at.error[0].value


def test_the_picker_chooses_what_was_just_created_or_duplicated(
    console_app: Callable[[str], AppTest], engine
) -> None:
    first = deliberations.create_deliberation(engine, title="First", questions=["Q?"])
    at = console_app(PAGE)
    picker = at.sidebar.selectbox[0]
    assert picker.value == first.id and at.query_params["d"] == str(first.id)
    _create(at, "Second", "Q two?")
    second = next(x for x in deliberations.list_deliberations(engine) if x.title == "Second")
    assert "Created deliberation" in texts(at)
    assert at.sidebar.selectbox[0].value == second.id and at.query_params["d"] == str(second.id)
    assert at.header[0].value.startswith(f"{second.id}: ")  # the page works on it too
    by_label(at.button, "Duplicate").click().run()
    assert not at.exception
    copy = next(x for x in deliberations.list_deliberations(engine) if x.title == "Copy of Second")
    assert f"Duplicated as deliberation {copy.id}" in texts(at)
    assert at.sidebar.selectbox[0].value == copy.id and at.query_params["d"] == str(copy.id)
    at.sidebar.selectbox[0].set_value(first.id).run()  # choosing by hand still works, and ?d= follows
    assert not at.exception and at.query_params["d"] == str(first.id)
    at.run()
    assert at.sidebar.selectbox[0].value == first.id and at.header[0].value.startswith(f"{first.id}: ")
    at.switch_page("pages/system.py").run()  # another console page keeps the choice
    at.switch_page(PAGE).run()
    assert not at.exception and at.sidebar.selectbox[0].value == first.id


def test_a_link_with_d_opens_that_deliberation(make_app: Callable[[], AppTest], engine) -> None:
    deliberations.create_deliberation(engine, title="One", questions=["Q?"])
    two = deliberations.create_deliberation(engine, title="Two", questions=["Q?"])
    at = make_app()
    at.session_state[state.FACILITATOR_SESSION] = console_token()
    at.query_params["d"] = str(two.id)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and at.sidebar.selectbox[0].value == two.id
