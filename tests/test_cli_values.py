"""The dedup and values commands: a dedup run (failed batches included), then review by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from providers.fakes import ScriptedChatModel
from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from tests.cli_runner import cli_env, run
from tests.services.dedup_world import (
    TitleEmbeddings,
    add_cards,
    drop_all_but_one,
    judge,
    new_deliberation,
    title_judge,
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def seed(env: dict[str, str], titles: list[str]) -> tuple[int, list[int]]:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, titles)
    engine.dispose()
    return d, cards


def use_models(monkeypatch: pytest.MonkeyPatch, chat: ScriptedChatModel) -> None:
    monkeypatch.setattr(model_clients, "chat_model", lambda *_: chat)
    monkeypatch.setattr(model_clients, "embeddings", lambda *_: TitleEmbeddings())


def test_dedup_command_help_and_errors(env: dict[str, str]) -> None:
    helped = run(env, "dedup", "--help")
    assert helped.exit_code == 0 and "--batch-size" in helped.output and "--question" in helped.output

    unknown = run(env, "dedup", "424242")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: There is no deliberation with id 424242."

    created = run(env, "deliberation", "create", "--title", "T", "--question", "Q?")
    nothing = run(env, "dedup", created.output.strip())
    assert nothing.exit_code == 0 and nothing.output.startswith("Nothing to deduplicate")


def test_dedup_reports_a_failed_batch(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    d, cards = seed(env, ["Value A", "Value B", "Value C", "Value D"])
    use_models(monkeypatch, ScriptedChatModel([drop_all_but_one, drop_all_but_one, title_judge]))
    result = run(env, "dedup", str(d), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "2 cards processed, 2 canonical values created" in result.stdout
    assert "; 1 batch (2 cards) failed, left for the next run" in result.stdout
    assert "batch 1/2: failed, 2 cards left for the next run" in result.stderr
    assert re.search(
        rf"^failed: batch 1 \(cards {cards[0]}, {cards[1]}; moderation event \d+\): The model's partition "
        "was still invalid after 2 tries",
        result.stderr,
        re.M,
    )


def test_review_values_by_hand(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    d, cards = seed(env, ["Faith in People", "Faith in People", "Honest Care", "Solo Path"])
    use_models(monkeypatch, judge(1))
    assert run(env, "dedup", str(d)).exit_code == 0

    listed = run(env, "values", "list", str(d))
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [r[1:] for r in rows] == [
        [f"{cards[0]},{cards[1]}", "0", "dedup", "Faith in People"],
        [str(cards[2]), "0", "dedup", "Honest Care"],
        [str(cards[3]), "0", "dedup", "Solo Path"],
    ]
    faith, honest, solo = (int(r[0]) for r in rows)

    shown = run(env, "values", "show", str(faith))
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[:3] == [
        f"Value {faith}: Faith in People",
        "What faith in people asks of us.",
        "- MOMENTS of faith in people",
    ]
    assert lines[4].startswith(f"Deliberation {d}; 0 votes; made by dedup run dedup-")
    assert lines[5:] == [
        "Cards (2):",
        f"{cards[0]}\tFaith in People\tWhat faith in people asks of us.",
        f"{cards[1]}\tFaith in People\tWhat faith in people asks of us.",
    ]

    merged = run(env, "values", "merge", str(faith), str(honest), str(solo), "--reason", "one value")
    assert merged.exit_code == 0, merged.output
    assert merged.stdout.startswith(f"Merged values {honest}, {solo} into value {faith} (2 cards moved; ")
    again = run(env, "values", "merge", str(faith), str(honest), "--reason", "one value")
    assert again.stdout.strip() == f"Nothing to do: values {honest} were merged into value {faith} before."

    args = ["values", "split", str(faith), "--card", str(cards[3]), "--card", str(cards[2])]
    split = run(env, *args, "--title", "Own Path", "--reason", "not the same")
    assert split.exit_code == 0, split.output
    new = int(re.search(r"into new value (\d+)", split.stdout)[1])  # type: ignore[index]
    assert split.stdout.startswith(f"Split cards {cards[3]}, {cards[2]} off value {faith} into new value")
    assert run(env, *args, "--reason", "x").stdout.startswith("Nothing to do: cards")
    rows = [line.split("\t") for line in run(env, "values", "list", str(d)).stdout.splitlines()]
    assert rows == [
        [str(faith), f"{cards[0]},{cards[1]}", "0", "dedup", "Faith in People"],
        [str(new), f"{cards[2]},{cards[3]}", "0", "split", "Own Path"],
    ]
    assert "split off by hand" in run(env, "values", "show", str(new)).stdout


def test_an_empty_list_says_how_to_make_values(env: dict[str, str]) -> None:
    d, _ = seed(env, [])
    listed = run(env, "values", "list", str(d))
    assert listed.exit_code == 0 and listed.stdout == ""
    assert listed.stderr.strip() == f"No canonical values yet (python cli.py dedup {d} makes them)."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["values", "list", "999"], "Error: There is no deliberation with id 999."),
        (["values", "show", "999"], "Error: There is no value 999."),
        (["values", "merge", "999", "1", "--reason", "x"], "Error: There is no value 999."),
        (["values", "split", "999", "--card", "1", "--reason", "x"], "Error: There is no value 999."),
    ],
)
def test_unknown_ids_are_one_clean_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = run(env, *args)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["values", "merge", "1", "--reason", "x"], "Error: Missing argument 'OTHER_ID...'."),
        (["values", "merge", "1", "2"], "Error: Missing option '--reason'."),
        (["values", "split", "1", "--reason", "x"], "Error: Missing option '--card'."),
    ],
)
def test_usage_mistakes_are_one_clean_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = run(env, *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message) and "--help" in lines[0]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("list", "DELIBERATION_ID"),
        ("show", "VALUE_ID"),
        ("merge", "KEEP_ID OTHER_ID..."),
        ("split", "--card"),
    ],
)
def test_help(command: str, expected: str) -> None:
    result = CliRunner().invoke(cli, ["values", command, "--help"])
    assert result.exit_code == 0 and expected in result.output
