"""``python cli.py demo``: a ready deliberation and its links, in a newcomer's two commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.facilitator import demo_content as content
from tests.cli_runner import cli_env, run


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, PUBLIC_BASE_URL="https://studio.example.org")


def test_demo_prints_the_links_of_an_open_deliberation(env: dict[str, str]) -> None:
    result = run(env, "demo", "--invites", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Demo deliberation 1 is open: {content.TITLE}"
    assert "3 contexts, 3 seed values and 10 upgrade stories" in lines[1]
    links = [line.split()[-1] for line in lines[2:]]
    assert links[0].startswith("https://studio.example.org/join?code=")
    assert len(links) == 5 and all("/join?invite=" in link for link in links[1:4])
    assert links[4] == "https://studio.example.org/deliberations"
    assert result.stderr == ""  # the demo model is on: no note

    listed = run(env, "deliberation", "list").stdout.split("\t")
    assert listed[:2] == ["1", "open"]
    values = [line.split("\t") for line in run(env, "values", "list", "1").stdout.splitlines()]
    assert [(v[3], v[4]) for v in values] == [("seed", s.title) for s in content.SEEDS]
    again = run(env, "demo", "--base-url", "http://localhost:9000/")
    assert again.stdout.startswith("Demo deliberation 2 is open")  # each run makes a new one
    assert "http://localhost:9000/join?code=" in again.stdout


def test_the_demo_models_stories_pass_its_judge_from_the_command_line(env: dict[str, str]) -> None:
    assert run(env, "demo").exit_code == 0
    result = run(env, "stories", "1")  # every pair of seeds in every context, written and judged
    assert result.exit_code == 0, result.output
    assert "9 pairs; 18 stories written, 18 judged" in result.stdout and "18 shown, 0 hidden" in result.stdout


def test_demo_says_when_the_app_would_not_run_the_demo_model(tmp_path: Path) -> None:
    result = run(cli_env(tmp_path, LLM_MODE="local"), "demo", "--invites", "1")
    assert result.exit_code == 0 and "Demo deliberation 1 is open" in result.stdout
    assert result.stderr.startswith("Note: the app's model is 'local'") and "LLM_MODE=fake" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--invites", "0"), 2, "0 is not in the range 1<=x<=20"),
        (("--base-url", "ftp://x"), 1, "Error: The base URL of links"),
    ],
)
def test_demo_refuses_bad_arguments_in_one_line(
    env: dict[str, str], args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(env, "demo", *args)
    assert result.exit_code == code and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert run(env, "deliberation", "list").stdout == ""  # nothing was written
