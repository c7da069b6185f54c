"""Lint is part of the suite: ruff (rules and format) on everything, mypy on every package (strict on the
pure core: errors, graph, interviews, exports).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_rules_pass() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_every_package() -> None:
    result = _run(sys.executable, "-m", "mypy")  # files from [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
