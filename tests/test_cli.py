"""The command line: each command works, has --help, is documented, and fails in one clean line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click
import pytest
from click.testing import CliRunner

from cli import cli
from services.facilitator import deliberations, system
from settings import load_settings
from storage import db
from tests.cli_runner import cli_env, run

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, PUBLIC_BASE_URL="https://studio.example.org")


def test_init_db_creates_the_schema(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "init-db")
    assert result.exit_code == 0, result.output
    assert "Database ready" in result.output and f"schema revision {db.head_revision()}" in result.output
    assert (tmp_path / "cli.sqlite3").exists()


def test_create_a_deliberation_and_invite_people(env: dict[str, str]) -> None:
    created = run(
        env, "deliberation", "create", "--title", "Abortion", "--question", "Q one?", "--question", "Q two?"
    )
    assert created.exit_code == 0, created.output
    deliberation_id = int(created.output.strip())

    listed = run(env, "deliberation", "list")
    assert listed.output.strip().split("\t") == [str(deliberation_id), "draft", "2", "0", "Abortion"]

    assert run(env, "deliberation", "status", str(deliberation_id), "open").exit_code == 0  # invites need it
    invited = run(env, "invite", str(deliberation_id), "--count", "3", "--cohort", "pilot")
    assert invited.exit_code == 0, invited.output
    links = invited.output.split()
    assert len(links) == 3 and len(set(links)) == 3
    for link in links:
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "studio.example.org", "/join")
        assert len(parse_qs(parts.query)["invite"][0]) >= 32

    custom = run(env, "invite", str(deliberation_id), "--base-url", "http://localhost:9000/")
    assert custom.output.startswith("http://localhost:9000/join?invite=")

    engine = system.open_database(load_settings(environ=env, secrets={}))
    stored = deliberations.get_deliberation(engine, deliberation_id=deliberation_id)
    assert [q.text for q in stored.questions] == ["Q one?", "Q two?"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "999", "--count", "2"], "Error: There is no deliberation with id 999."),
        (["invite", "1", "--count", "2", "--cohort", "x"], "Error: There is no deliberation with id 1."),
        (
            ["deliberation", "create", "--title", "  ", "--question", "Q"],
            "Error: title: a deliberation needs a title",
        ),
        (
            ["deliberation", "create", "--title", "T", "--question", " "],
            "Error: questions: a question cannot be empty",
        ),
        (
            ["invite", "1", "--count", "2", "--base-url", "example.org"],
            "Error: The base URL of links must be an http:// or https:// address",
        ),
    ],
)
def test_domain_errors_are_one_clean_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deliberation", "create", "--title", "T"], "Error: Missing option '--question'."),
        (
            ["invite", "abc"],
            "Error: Invalid value for 'DELIBERATION_ID': An id must be a whole number from 1 to "
            "9223372036854775807 (got 'abc').",
        ),
        (["no-such-command"], "Error: No such command 'no-such-command'."),
    ],
)
def test_usage_mistakes_are_one_clean_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(message) and "--help" in result.output


def test_bad_configuration_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["init-db"], env={**env, "DATABASE_URL": "mysql://x"})
    assert result.exit_code == 1
    assert result.output.startswith("Error: DATABASE_URL must start with")
    blocked = CliRunner().invoke(
        cli, ["init-db"], env={**env, "DATABASE_URL": "sqlite:////proc/nope/db.sqlite3"}
    )
    assert blocked.exit_code == 1 and "DATABASE_URL" in blocked.output and "Traceback" not in blocked.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert f"python cli.py {' '.join(path)}" in (REPO / "README.md").read_text(), f"README lacks {path}"


def test_the_real_script_runs_as_a_process(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "cli.py", "status"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "scripted-demo" in result.stdout and "sqlite" in result.stdout


def test_open_link_and_status(env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["deliberation", "create", "--title", "T", "--question", "Q"], env=env)
    deliberation_id = created.output.strip()
    link = runner.invoke(cli, ["deliberation", "link", deliberation_id], env=env)
    assert link.exit_code == 0 and "/join?code=" in link.output
    args = ["deliberation", "link", deliberation_id, "--base-url", "https://x.org"]
    again = runner.invoke(cli, args, env=env)
    assert again.output.split("code=")[1] == link.output.split("code=")[1]  # one stable open link
    assert again.output.startswith("https://x.org/join?code=")
    closed = runner.invoke(cli, ["deliberation", "status", deliberation_id, "closed"], env=env)
    assert closed.exit_code == 0 and closed.output.strip() == f"Deliberation {deliberation_id} is now closed."
    listed = runner.invoke(cli, ["deliberation", "list"], env=env)
    assert listed.output.split("\t")[1] == "closed"


def test_create_with_a_config_file(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "demographics": [{"key": "party", "label": "Party", "options": ["A", "B"], "required": True}],
                "survey": [{"key": "clear", "label": "It was clear", "kind": "scale", "required": True}],
                "stories_to_judge": 5,
            }
        )
    )
    args = ["deliberation", "create", "--title", "T", "--question", "Q", "--config", str(config)]
    created = CliRunner().invoke(cli, args, env=env)
    assert created.exit_code == 0, created.output
    engine = db.init_db(env["DATABASE_URL"])
    shown = deliberations.get_deliberation(engine, deliberation_id=int(created.output))
    engine.dispose()
    assert shown.settings.stories_to_judge == 5 and [q.key for q in shown.settings.survey] == ["clear"]
    config.write_text(json.dumps({"stories_to_judge": 99}))
    bad = CliRunner().invoke(cli, args, env=env)
    assert bad.exit_code == 1 and bad.output.startswith("Error: stories_to_judge:")
    config.write_text("{oops")
    assert "is not valid JSON" in CliRunner().invoke(cli, args, env=env).output
