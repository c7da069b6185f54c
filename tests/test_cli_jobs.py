"""The job-run commands: dedup and build record a run, a dedup whose every batch failed exits 1,
``jobs list`` and ``jobs show`` read the runs (one-line errors; no model library loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.fakes import ScriptedChatModel
from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from tests.cli_runner import cli_env, run
from tests.services.dedup_world import (
    TitleEmbeddings,
    add_cards,
    drop_all_but_one,
    new_deliberation,
    title_judge,
)
from tests.test_cli_imports import probe


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def seed(env: dict[str, str], titles: list[str]) -> int:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    d, (q,) = new_deliberation(engine)
    add_cards(engine, q, titles)
    engine.dispose()
    return d


def use(monkeypatch: pytest.MonkeyPatch, chat: ScriptedChatModel) -> None:
    monkeypatch.setattr(model_clients, "chat_model", lambda *_: chat)
    monkeypatch.setattr(model_clients, "embeddings", lambda *_: TitleEmbeddings())


def test_a_dedup_whose_every_batch_failed_exits_1(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = seed(env, ["Value A", "Value B", "Value C", "Value D"])
    use(monkeypatch, ScriptedChatModel([drop_all_but_one] * 4))
    result = run(env, "dedup", str(d), "--batch-size", "2")
    assert result.exit_code == 1, result.output
    assert "0 cards processed" in result.stdout and "2 batches (4 cards) failed" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: every batch failed (2; 4 cards left for the next run) (job run 1)")

    listed = run(env, "jobs", "list", str(d))
    assert listed.exit_code == 0
    assert listed.stdout.split("\t")[:5] == ["1", "dedup", "failed", "2/2", f"deliberation {d}"]
    shown = run(env, "jobs", "show", "1")
    assert shown.exit_code == 0
    assert "error\tevery batch failed" in shown.stdout
    assert "log\tbatch 1/2: failed, 2 cards left for the next run" in shown.stdout

    use(monkeypatch, ScriptedChatModel([title_judge] * 2))
    again = run(env, "dedup", str(d), "--batch-size", "2")
    assert again.exit_code == 0, again.output
    assert "4 cards processed" in again.stdout and "job run 2" in again.stdout


def test_build_records_a_run_and_errors_are_one_line(env: dict[str, str]) -> None:
    d = seed(env, ["Value A"])
    built = run(env, "build", str(d))
    listed = run(env, "jobs", "list")
    assert listed.stdout.split("\t")[:3] == ["1", "build", "succeeded" if built.exit_code == 0 else "failed"]

    missing = run(env, "jobs", "show", "424242")
    assert missing.exit_code == 1 and missing.stderr.strip() == "Error: Job run 424242 does not exist."
    unknown = run(env, "jobs", "list", "424242")
    assert unknown.exit_code == 1 and unknown.stderr.strip().startswith("Error: There is no deliberation")


def test_reading_the_runs_loads_no_model_library(env: dict[str, str]) -> None:
    assert probe(env, "init-db")[0] == 0
    for args in (("jobs", "list"), ("jobs", "show", "424242")):
        exit_code, output, loaded = probe(env, *args)
        assert exit_code in (0, 1) and "Traceback" not in output, output
        assert loaded == set(), f"`cli.py {' '.join(args)}` loads {sorted(loaded)}"
