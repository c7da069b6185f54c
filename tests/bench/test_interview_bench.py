"""The interview benchmark runs end to end at a tiny size (timings are printed, never asserted)."""

from __future__ import annotations

import pytest

from bench.interview.run import main


def test_the_interview_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--turns", "4", "--latency-ms", "0"])
    out = capsys.readouterr().out
    assert out.startswith("4 turns, fake model latency 0 ms")
    rows = [line.split("  ")[0] for line in out.splitlines()[2:5]]
    assert rows == [
        "app turn overhead (gross)",
        "baseline: bare model call (client)",
        "app-side overhead (gross - client p50)",
    ]
    assert "target: app-side overhead p95 <= 15 ms on SQLite" in out
