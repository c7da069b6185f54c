"""Malformed input on the pages (AppTest): every id case of the hostile corpus in the interview page's URL,
a refused number or an over-long "Why?" kept in its field with the reason, and a database file deleted under
the running app (issue 10, items 3 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, system
from services.participant import interviewing, joining, judging
from settings import load_settings
from storage.db import session_scope
from storage.tables import Judgement, Participant, SurveyResponse
from tests import worlds
from tests.app.conftest import open_page, shown
from tests.hostile.input_corpus import of


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    """The app's own database (the test's DATA_DIR), opened the way the app opens it."""
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _person(engine, *, config: dict | None = None) -> tuple[str, int]:
    d = deliberations.create_deliberation(
        engine, title="Inputs", questions=["What should I do?"], config=config
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    code = deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[0]
    return joining.join(engine, invite=code.invite.code).token, d.id


def _errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def _in_a_url(text: str) -> bool:
    """Whether a URL can carry ``text`` (a browser's URL has no lone surrogate: it decodes to U+FFFD)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


ID_CASES = [c for c in of("id") if _in_a_url(c.value)]


def test_every_id_in_the_interview_url_is_a_page_or_one_clear_line(
    make_app: Callable[[], AppTest], engine
) -> None:
    token, _ = _person(engine)
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    mine = interviewing.start_interview(engine, token=token, question_id=question).id
    assert mine == 1  # so that the corpus's "1" is this person's own interview
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception and at.chat_input
    for case in ID_CASES:  # one session, one URL after another
        at.query_params["interview"] = case.value
        at.run()
        assert not at.exception, (case.id, at.exception)
        errors = _errors(at)
        if not case.value.strip():  # a blank parameter is an absent one: the person's current interview
            assert not errors and at.chat_input, case.id
        elif case.accepted and case.expected == mine:
            assert not errors and at.chat_input, case.id
        elif case.accepted:  # a well-formed id of nobody's interview
            assert len(errors) == 1 and "no interview" in errors[0].lower(), (case.id, errors)
        else:
            assert errors == [
                "This link is not valid: the interview number in it is not a number we know. "
                "Please use the link you were given."
            ], (case.id, errors)
            assert not at.chat_input


NUMBER_TYPED = [c for c in of("number") if isinstance(c.value, str) and c.value]


def test_a_refused_number_stays_in_its_field_with_the_reason(make_app: Callable[[], AppTest], engine) -> None:
    config = {
        "demographics": [{"key": "age", "label": "Age", "kind": "number", "max": 120, "required": True}]
    }
    token, _ = _person(engine, config=config)
    at = open_page(make_app, "pages/join.py", token=token)
    assert not at.exception
    field = next(t for t in at.text_input if "Age" in t.label)
    assert field.placeholder == "A whole number from 0 to 120"
    at.checkbox[0].check()
    for case in NUMBER_TYPED:
        next(t for t in at.text_input if "Age" in t.label).input(case.value)
        next(b for b in at.button if b.label == "Continue").click().run()
        assert not at.exception, case.id
        person = joining.home(engine, token=token).participant
        if case.accepted:
            assert person.demographics == {"age": case.expected} and not at.error, case.id
            with session_scope(engine) as s:  # back to the form for the next case
                row = s.exec(select(Participant).where(Participant.token == token)).one()
                row.consented_at, row.demographics, row.stage = None, {}, "joined"
            at.run()
            at.checkbox[0].check()
            continue
        assert person.consented_at is None and person.demographics == {}, case.id
        assert len(at.error) == 1 and case.says in shown(at.error[0].value), (case.id, _errors(at))
        assert next(t for t in at.text_input if "Age" in t.label).value == case.value  # kept as typed


def test_an_over_long_why_is_refused_and_kept(make_app: Callable[[], AppTest], engine) -> None:
    token, d = _person(engine)
    question = joining.home(engine, token=token).questions[0].id
    worlds.peers(engine, deliberation_id=d, question_id=question)
    with session_scope(engine) as s:
        s.exec(select(Participant).where(Participant.token == token)).one().stage = "judge"
    at = open_page(make_app, "pages/judge.py", token=token)
    assert not at.exception and at.text_area
    long = "y" * (judging.MAX_REASON_CHARS + 1)
    at.radio[0].set_value("upgrade")
    at.text_area[0].input(long)
    next(b for b in at.button if b.label == "Save my answer").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "at most 2000 characters" in shown(at.error[0].value)
    assert at.text_area[0].value == long  # nothing dropped: the person can shorten it
    with session_scope(engine) as s:
        assert s.exec(select(Judgement)).all() == []
    at.text_area[0].input(long[:2000])
    next(b for b in at.button if b.label == "Save my answer").click().run()
    assert not at.exception and not at.error
    with session_scope(engine) as s:
        assert [j.reason for j in s.exec(select(Judgement)).all()] == [long[:2000]]


def test_a_database_deleted_under_the_running_app_stops_it_with_one_line(
    make_app: Callable[[], AppTest], engine, tmp_path: Path
) -> None:
    token, _ = _person(engine)
    at = open_page(make_app, "pages/join.py", token=token)
    assert not at.exception and not at.error
    database = tmp_path / "data" / "moral_graph.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    at.run()
    assert not at.exception
    (error,) = _errors(at)
    assert error.startswith(
        f"The database file {database} was deleted while the app was running; nothing more is written. "
        "Restore the file (or point DATABASE_URL at the right one) and restart the app."
    )
    assert not database.exists()


def test_an_over_long_survey_comment_is_refused_and_kept(make_app: Callable[[], AppTest], engine) -> None:
    token, _ = _person(engine)
    with session_scope(engine) as s:
        s.exec(select(Participant).where(Participant.token == token)).one().stage = "survey"
    at = open_page(make_app, "pages/finish.py", token=token)
    assert not at.exception
    for radio in at.radio:
        radio.set_value(4)
    long = "z" * 2001
    at.text_area[0].input(long)
    next(b for b in at.button if b.label == "Finish").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "at most 2000 characters" in shown(at.error[0].value)
    assert at.text_area[0].value == long
    with session_scope(engine) as s:
        assert s.exec(select(SurveyResponse)).all() == []
        assert s.exec(select(Participant).where(Participant.token == token)).one().stage == "survey"


@pytest.mark.parametrize(
    ("settings_json", "says"),
    [
        ("[" * 50_000, "nested too deeply"),
        ('{"min_votes": ' + "9" * 5000 + "}", "5,000 characters"),
        ('{"graph_thresholds": {"max_entropy": Infinity}}', "Infinity is not allowed"),
        ('{"values_to_vote": "6"}', "values_to_vote"),
    ],
    ids=["deep", "5000-digits", "infinity", "string-for-int"],
)
def test_the_settings_field_refuses_hostile_json_in_one_line(
    console_app: Callable[[str], AppTest], settings_json: str, says: str
) -> None:
    at = console_app("pages/deliberations.py")
    by_label = {e.label: e for e in (*at.text_input, *at.text_area)}
    by_label["Title"].input("Configured")
    by_label["Questions, one per line"].input("Q" * 2000)
    by_label["Settings as JSON (optional)"].input(settings_json)
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception
    assert len(at.error) == 1 and says in shown(at.error[0].value) and "\n" not in at.error[0].value
    assert next(a for a in at.text_area if a.label == "Settings as JSON (optional)").value == settings_json
    assert "No deliberations yet" in " ".join(shown(i.value) for i in at.info)  # nothing was created
