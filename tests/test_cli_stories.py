"""The stories, contexts, mine-contexts and grade commands: help, a demo-model run, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from tests.cli_runner import cli_env, run
from tests.services.story_world import seed


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("stories", "--max-pairs"),
        ("contexts", "--count"),
        ("mine-contexts", "DELIBERATION_ID"),
        ("grade", "INTERVIEW_ID"),
    ],
)
def test_help(command: str, expected: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and expected in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stories", "999"], "Error: There is no deliberation with id 999."),
        (["contexts", "999"], "Error: There is no question 999."),
        (["mine-contexts", "999"], "Error: There is no deliberation with id 999."),
        (["grade", "999"], "Error: There is no interview 999."),
        (["stories", "1", "--run", "no spaces please"], "Error: A run id is"),
    ],
)
def test_unknown_ids_are_one_clean_line(
    env: dict[str, str], args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model(*_: object) -> None:  # a bad id is refused before any model (or offline server) starts
        raise AssertionError("the model was built")

    monkeypatch.setattr(model_clients, "chat_model", no_model)
    result = run(env, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.output


def test_stories_contexts_and_grade_with_the_demo_model(env: dict[str, str]) -> None:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    w = seed(engine)
    engine.dispose()

    stories = run(env, "stories", str(w.deliberation_id), "--run", "demo-1", "--max-pairs", "2")
    assert stories.exit_code == 0, stories.output
    assert stories.stdout.startswith(
        f"Story run demo-1 of deliberation {w.deliberation_id}: 2 pairs; 4 stories"
    )
    assert "rerun with --run demo-1" in stories.stderr
    again = run(env, "stories", str(w.deliberation_id), "--run", "demo-1", "--max-pairs", "2")
    assert "0 stories written, 0 judged, 4 already done" in again.stdout

    contexts = run(env, "contexts", str(w.q1), "--count", "2")
    assert contexts.exit_code == 0, contexts.output
    assert f"of 2 requested contexts to question {w.q1}" in contexts.stderr

    mined = run(env, "mine-contexts", str(w.deliberation_id))
    assert mined.exit_code == 0, mined.output
    assert mined.stdout.startswith(f"Mined 4 of 4 cards of deliberation {w.deliberation_id}: ")
    assert f"card {w.card1}: " in mined.stderr
    again = run(env, "mine-contexts", str(w.deliberation_id))
    assert again.stdout.startswith("Nothing to mine")

    graded = run(env, "grade", str(w.interview_id))
    assert graded.exit_code == 0, graded.output
    rows = [line.split("\t") for line in graded.stdout.splitlines()]
    assert len(rows) == 8 and rows[-1][0] == "overall" and all(r[1] in "ABCDF" for r in rows)
