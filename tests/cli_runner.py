"""Running ``cli.py`` in tests: its environment (a SQLite file and the demo model) and one invocation."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cli import cli


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The variables a command runs with: a database and data folder in ``tmp_path``, the demo model."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "LLM_MODE": "fake",
        "DATA_DIR": str(tmp_path),
        **extra,
    }


def run(env: dict[str, str], *args: str) -> Result:
    """``python cli.py ARGS`` with ``env``; an unexpected exception fails the test with its traceback."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
