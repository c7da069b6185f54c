"""Facilitator deliberations page (AppTest): password gate, create, invite."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import shown, texts


def open_page(make_app: Callable[[], AppTest]) -> AppTest:
    at = make_app().run()
    at.switch_page("pages/deliberations.py").run()
    assert not at.exception
    return at


def by_label(elements, label: str):
    return next(e for e in elements if e.label == label)


def test_create_a_deliberation_then_invite(make_app: Callable[[], AppTest]) -> None:
    at = open_page(make_app)
    assert "No deliberations yet" in texts(at)
    by_label(at.text_input, "Title").input("Parenting advice")
    by_label(at.text_area, "Questions, one per line").input("How strict should I be?\n\nMy teen lies to me.")
    by_label(at.button, "Create").click().run()
    assert not at.exception
    assert "Created deliberation 1." in texts(at)
    table = at.dataframe[0].value
    assert list(table["title"]) == ["Parenting advice"] and list(table["questions"]) == [2]

    by_label(at.number_input, "How many links").set_value(3)
    by_label(at.text_input, "Cohort (optional)").input("pilot")
    by_label(at.button, "Create links").click().run()
    assert not at.exception
    links = at.code[-1].value.splitlines()
    assert len(links) == 3 and all(
        link.startswith("https://studio.example.org/join?invite=") for link in links
    )


def test_open_link_and_status(make_app: Callable[[], AppTest]) -> None:
    at = open_page(make_app)
    by_label(at.text_input, "Title").input("Open one")
    by_label(at.text_area, "Questions, one per line").input("Q?")
    by_label(at.button, "Create").click().run()
    by_label(at.selectbox, "Status").set_value("open")
    by_label(at.button, "Apply and show the open link").click().run()
    assert not at.exception
    assert at.code[-1].value.startswith("https://studio.example.org/join?code=")
    at.run()
    assert list(at.dataframe[0].value["status"]) == ["open"]


def test_settings_as_json(make_app: Callable[[], AppTest]) -> None:
    at = open_page(make_app)
    by_label(at.text_input, "Title").input("Configured")
    by_label(at.text_area, "Questions, one per line").input("Q?")
    by_label(at.text_area, "Settings as JSON (optional)").input('{"stories_to_judge": 42}')
    by_label(at.button, "Create").click().run()
    assert not at.exception and "stories_to_judge" in shown(at.error[0].value)  # out of range: one line
    by_label(at.text_area, "Settings as JSON (optional)").input('{"stories_to_judge": 4}')
    by_label(at.button, "Create").click().run()
    assert not at.exception and "Created deliberation 1." in texts(at)


def test_a_bad_form_shows_what_to_fix(make_app: Callable[[], AppTest]) -> None:
    at = open_page(make_app)
    by_label(at.text_input, "Title").input("No questions")
    by_label(at.button, "Create").click().run()
    assert not at.exception
    assert "needs at least one question" in at.error[0].value


def test_password_gate(make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch) -> None:
    app_env.setenv("FACILITATOR_PASSWORD", "correct horse")
    at = make_app().run()
    assert not at.exception
    with pytest.raises(Exception, match="deliberations"):  # not listed, so not reachable, before sign-in
        at.switch_page("pages/deliberations.py").run()
    at = make_app().run()
    at.switch_page("pages/facilitator_login.py").run()
    assert not at.exception and not at.dataframe and "New deliberation" not in texts(at)
    by_label(at.text_input, "Facilitator password").input("wrong")
    by_label(at.button, "Unlock").click().run()
    assert not at.exception and "not right" in at.error[0].value
    by_label(at.text_input, "Facilitator password").input("correct horse")
    by_label(at.button, "Unlock").click().run()
    assert not at.exception
    assert "No deliberations yet" in texts(at)


def test_a_database_failing_after_start_up_is_one_plain_message(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    from services.facilitator import deliberations
    from storage.errors import DatabaseUnavailable

    at = open_page(make_app)

    def broken(*args: object, **kwargs: object) -> None:
        raise DatabaseUnavailable("Cannot open the database at sqlite:///gone.")

    app_env.setattr(deliberations, "list_deliberations", broken)
    at.run()
    assert not at.exception
    assert "Cannot open the database" in at.error[0].value and "DATABASE_URL" in at.error[0].value
