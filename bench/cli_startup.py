"""How long the command line takes to start, against a bare interpreter in the same run (issue 9, item 10).

::

    .venv/bin/python -m bench.cli_startup [--repeat 7] [--json PATH]

Each case is a fresh ``python`` process started from the repository root, timed from the start to its exit
(wall clock). The cases take turns, one round at a time, so a burst of load on the machine falls on all of
them alike; the median of ``--repeat`` rounds is reported with the fastest and slowest. The database cases
run on a temporary SQLite file, created and given one deliberation before the clock (``init-db`` and
``deliberation create`` are not timed), with the demo model (``LLM_MODE=fake``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bare interpreter (python -c pass)", ("-c", "pass")),
    ("cli.py --help", ("cli.py", "--help")),
    ("cli.py stories --help", ("cli.py", "stories", "--help")),
    ("cli.py deliberation list", ("cli.py", "deliberation", "list")),
    ("cli.py status", ("cli.py", "status")),
)
TARGET_S = 0.5  # `cli.py --help`, median, on the 2-core machine


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _run(args: tuple[str, ...], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def measure(repeat: int) -> dict[str, list[float]]:
    """Seconds of each case's runs, ``repeat`` rounds."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
            "DATA_DIR": folder,
            "LLM_MODE": "fake",
        }
        _run(("cli.py", "init-db"), env)
        _run(("cli.py", "deliberation", "create", "--title", "Bench", "--question", "Q?"), env)
        times: dict[str, list[float]] = {name: [] for name, _ in CASES}
        for _ in range(repeat):
            for name, args in CASES:
                times[name].append(_run(args, env))
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    bare = statistics.median(times[CASES[0][0]])
    lines = [f"{'case':<36} {'median s':>9} {'min s':>7} {'max s':>7} {'x bare':>7}", "-" * 70]
    for name, runs in times.items():
        median = statistics.median(runs)
        lines.append(f"{name:<36} {median:>9.3f} {min(runs):>7.3f} {max(runs):>7.3f} {median / bare:>6.0f}x")
    help_s = statistics.median(times["cli.py --help"])
    verdict = "met" if help_s <= TARGET_S else "MISSED"
    lines.append(f"target: cli.py --help <= {TARGET_S} s (median): {verdict} ({help_s:.3f} s)")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds of every case (default 7)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw times here")
    args = parser.parse_args(argv)
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"bench.cli_startup: {args.repeat} rounds, {machine}")
    print(f"load average (1, 5, 15 min): {_load()} at the start")
    times = measure(args.repeat)
    print("\n".join(report(times)))
    print(f"load average (1, 5, 15 min): {_load()} at the end")
    if args.json:
        args.json.write_text(json.dumps(times, indent=1))


if __name__ == "__main__":
    main()
