"""``cli.py import-dft`` is recorded as a job run of kind import (SQLite and PostgreSQL), as the console's
import is: who ran it, its log and result; a failed import is a failed run and exits 1 with one line."""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest

from services.facilitator import deliberations, system
from services.jobs import runs
from settings import load_settings
from tests.cli_runner import cli_env, run

STUDY = Path(__file__).resolve().parents[2] / "shared" / "data" / "dft-data"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return cli_env(tmp_path, DATABASE_URL=database_url)


def _runs(env: dict[str, str]) -> list[runs.JobRunPublic]:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    try:
        return runs.list_runs(engine)
    finally:
        engine.dispose()


def test_an_import_is_a_job_run_of_kind_import(env: dict[str, str], tmp_path: Path) -> None:
    assert (STUDY / "case.json").is_file(), f"the published study is expected in {STUDY}"
    imported = run(env, "import-dft", str(STUDY), "--before", "2023-10-18", "--title", "The study")
    assert imported.exit_code == 0, imported.output
    (made,) = _runs(env)
    d = made.result["deliberation_id"]
    assert imported.stdout.strip() == str(d)
    assert f"1540 judgements; skipped 11 duplicate vote, 46 duplicate impression (job run {made.id})." in (
        imported.stderr
    )
    assert (made.kind, made.status, made.actor, made.deliberation_id) == (
        "import",
        "succeeded",
        f"cli:{getpass.getuser()}",
        d,
    )
    assert made.args == {
        "folder": str(STUDY.resolve()),
        "before": "2023-10-18",
        "title": "The study",
        "uploaded": False,
    }
    assert made.result["counts"]["judgements"] == 1540 and (made.done, made.total) == (2, 2)
    assert made.log and made.error is None
    shown = run(env, "jobs", "show", str(made.id))
    assert shown.exit_code == 0 and "succeeded" in shown.output
    engine = system.open_database(load_settings(environ=env, secrets={}))
    try:
        assert deliberations.get_deliberation(engine, deliberation_id=d).title == "The study"
    finally:
        engine.dispose()


def test_a_failed_import_is_a_failed_run_and_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "dft-data"
    shutil.copytree(STUDY, broken)
    (broken / "vote.json").unlink()
    failed = run(env, "import-dft", str(broken))
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    (made,) = _runs(env)
    assert (made.kind, made.status, made.deliberation_id) == ("import", "failed", None)
    assert made.error is not None and "vote.json is missing" in made.error
    assert failed.stderr.strip().splitlines() == [f"Error: {made.error} (job run {made.id})"]
    assert failed.stdout == ""
    assert run(env, "deliberation", "list").stdout == ""  # nothing was imported


def test_a_path_that_is_no_folder_is_refused_before_any_run(env: dict[str, str], tmp_path: Path) -> None:
    refused = run(env, "import-dft", str(tmp_path / "nowhere"))
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'nowhere'} is not a folder (expected the dft-data folder of the study dump)."
    ]
    assert _runs(env) == []
