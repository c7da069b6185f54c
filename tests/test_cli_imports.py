"""The CLI loads what a command needs when it runs (issue 9, item 10): ``--help`` of every command and the
commands that only read the database load no model library, no scipy and no networkx.

Each case runs ``cli.py`` in a fresh interpreter and reads ``sys.modules`` afterwards; the start-up times
this buys are measured by ``bench/cli_startup.py`` (bench/README.md), never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cli import cli
from tests.cli_runner import cli_env

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("langchain", "langchain_core", "langchain_openai", "openai", "scipy", "networkx")
PROBE = """
import json, sys
from click.testing import CliRunner
import cli
result = CliRunner().invoke(cli.cli, sys.argv[1:], catch_exceptions=False)
print(json.dumps({"exit_code": result.exit_code, "output": result.output, "modules": sorted(sys.modules)}))
"""


def probe(env: dict[str, str], *args: str) -> tuple[int, str, set[str]]:
    """Exit code, output and the heavy packages loaded by ``python cli.py ARGS`` in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    loaded = {h for h in HEAVY for m in report["modules"] if m == h or m.startswith(f"{h}.")}
    return report["exit_code"], report["output"], loaded


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_command_paths(command, (*prefix, name)))
    return found


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


@pytest.mark.parametrize("path", [(), *_command_paths(cli)], ids=lambda p: " ".join(p) or "cli")
def test_help_loads_no_heavy_package(env: dict[str, str], path: tuple[str, ...]) -> None:
    exit_code, output, loaded = probe(env, *path, "--help")
    assert exit_code == 0 and "Usage:" in output, output
    assert loaded == set(), f"`cli.py {' '.join(path)} --help` loads {sorted(loaded)}"


def test_reading_the_database_loads_no_heavy_package(env: dict[str, str]) -> None:
    assert probe(env, "init-db")[0] == 0
    exit_code, output, _ = probe(env, "deliberation", "create", "--title", "T", "--question", "Q?")
    assert exit_code == 0, output
    deliberation_id = output.strip()
    for args in (
        ("deliberation", "list"),
        ("status",),
        ("values", "list", deliberation_id),
        ("values", "show", "424242"),  # a missing value: the one-line error loads nothing either
        ("seed", "list", deliberation_id),
        ("seed", "remove", "424242"),
        ("deliberation", "link", deliberation_id),
    ):
        exit_code, output, loaded = probe(env, *args)
        assert exit_code in (0, 1) and "Traceback" not in output, output
        assert loaded == set(), f"`cli.py {' '.join(args)}` loads {sorted(loaded)}"


def test_the_probe_sees_what_a_command_that_needs_them_loads(env: dict[str, str]) -> None:
    """The negative check: the graph commands load networkx and scipy, the model commands langchain and openai
    (here on a missing id, so the check does not depend on what the command goes on to do)."""
    exit_code, output, loaded = probe(env, "build", "424242")
    assert exit_code == 1 and output.startswith("Error: There is no deliberation"), output
    assert {"networkx", "scipy"} <= loaded
    exit_code, output, loaded = probe(env, "dedup", "424242")
    assert exit_code == 1 and output.startswith("Error: There is no deliberation"), output
    assert {"langchain_core", "langchain_openai", "openai"} <= loaded
