"""The CLI start-up benchmark runs end to end with one round (timings are printed, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli_startup import CASES, main


def test_the_startup_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["--repeat", "1", "--json", str(tmp_path / "times.json")])
    out = capsys.readouterr().out
    assert out.startswith("bench.cli_startup: 1 rounds")
    rows = [line.split("  ")[0] for line in out.splitlines()[4 : 4 + len(CASES)]]
    assert rows == [name for name, _ in CASES]
    assert "target: cli.py --help <= 0.5 s (median): " in out
    times = json.loads((tmp_path / "times.json").read_text())
    assert list(times) == [name for name, _ in CASES] and all(len(t) == 1 for t in times.values())
