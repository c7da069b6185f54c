"""Import page (AppTest): the published study from a folder on the server, as a job run with progress; the
new deliberation is named; a folder that is not the study's is one error line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from services.facilitator import system
from services.jobs import runs
from settings import load_settings
from storage.db import session_scope
from storage.tables import ValuesCard
from tests.app.conftest import CONSOLE_ACCOUNT, texts

PAGE = "pages/import_study.py"
STUDY = Path(__file__).resolve().parents[3] / "shared" / "data" / "dft-data"


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def submit(at: AppTest, folder: str) -> AppTest:
    next(t for t in at.text_input if t.label.startswith("Folder")).input(folder)
    next(b for b in at.get("form_submit_button") if b.label == "Import").click().run()
    assert not at.exception
    return at


def test_import_the_study_from_a_folder(console_app: Callable[[str], AppTest], engine) -> None:
    assert (STUDY / "case.json").is_file(), f"the published study is expected in {STUDY}"
    at = console_app(PAGE)
    assert "Nothing imported yet." in texts(at)
    submit(at, str(STUDY))
    (run,) = runs.list_runs(engine, kind="import")
    assert run.actor == CONSOLE_ACCOUNT and f"Import run {run.id} (import) is" in texts(at)
    deadline = time.monotonic() + 120
    while runs.get_run(engine, run_id=run.id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the import did not end"
        time.sleep(0.2)
    done = runs.get_run(engine, run_id=run.id)
    assert done.status == "succeeded", done.error
    new = done.result["deliberation_id"]
    assert done.deliberation_id == new and done.done == done.total == 2
    at.run()
    assert not at.exception
    assert f"New deliberation {new}: 3 questions" in texts(at)
    with session_scope(engine) as s:
        with_question = s.exec(select(func.count()).where(ValuesCard.question_id.is_not(None))).one()
    assert with_question == 630 - done.result["counts"]["cards_without_question"] > 0


def test_a_folder_that_is_not_the_study_is_one_error(
    console_app: Callable[[str], AppTest], engine, tmp_path: Path
) -> None:
    at = console_app(PAGE)
    submit(at, str(tmp_path / "nowhere"))
    assert any("is not a folder" in e.value for e in at.error)
    assert runs.list_runs(engine, kind="import") == []
