"""The seed commands: add (typed, checked by the card rules), generate (the model), list, remove; seeds are
marked in ``values list`` and ``values show``, and a deliberation that requires seeds opens only with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from providers.fakes import ScriptedChatModel
from services.runtime import model_clients
from tests.cli_runner import cli_env, run
from tests.worlds import GOOD_CARD, HONEST_CARD


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def _card_args(card: dict) -> list[str]:  # type: ignore[type-arg]
    args = ["--title", card["title"], "--description", card["description"]]
    for policy in card["policies"]:
        args += ["--policy", policy]
    return args


def _deliberation(env: dict[str, str], tmp_path: Path, **config: object) -> tuple[str, str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    created = run(
        env, "deliberation", "create", "--title", "T", "--question", "Q one?", "--config", str(path)
    )
    assert created.exit_code == 0, created.output
    d = created.stdout.strip()
    listed = run(env, "deliberation", "list").stdout
    assert listed.startswith(f"{d}\t")
    return d, "1"  # the first question of the first deliberation


def test_add_list_show_and_remove_a_seed(env: dict[str, str], tmp_path: Path) -> None:
    d, q = _deliberation(env, tmp_path)
    context = ["--context", "When the user faces a frightening choice"]
    added = run(env, "seed", "add", d, "--question", q, *_card_args(HONEST_CARD), *context)
    assert added.exit_code == 0, added.output
    value = added.stdout.strip()
    assert value.isdigit()

    listed = run(env, "seed", "list", d)
    assert listed.stdout.splitlines() == [f"{value}\t{q}\t1\t0\t0\tmined\tHonest Presence"]
    rows = [line.split("\t") for line in run(env, "values", "list", d).stdout.splitlines()]
    assert rows == [[value, "1", "0", "seed", "Honest Presence"]]
    shown = run(env, "values", "show", value).stdout
    assert f"Deliberation {d}; 0 votes; a seed value, suggested by the organisers." in shown

    again = run(env, "seed", "add", d, "--question", q, *_card_args(HONEST_CARD), *context)
    assert again.exit_code == 1
    assert (
        again.output.strip()
        == f"Error: Question {q} already has a value titled 'Honest Presence' (value {value})."
    )

    removed = run(env, "seed", "remove", value, "--reason", "testing")
    assert removed.exit_code == 0, removed.output
    assert re.fullmatch(
        rf"Removed seed value {value} \(Honest Presence; moderation event \d+\)\.\n", removed.stdout
    )
    gone = run(env, "seed", "remove", value)
    assert (gone.exit_code, gone.output.strip()) == (1, f"Error: There is no value {value}.")
    empty = run(env, "seed", "list", d)
    assert (
        empty.stdout == ""
        and empty.stderr.strip() == f"No seed values yet (python cli.py seed add {d} ... adds one)."
    )


def test_a_seed_that_breaks_the_rules_is_one_error_line(env: dict[str, str], tmp_path: Path) -> None:
    d, q = _deliberation(env, tmp_path)
    bad = {"title": "Care", "description": "Deeply caring.", "policies": ["be kind"]}
    result = run(env, "seed", "add", d, "--question", q, *_card_args(bad), "--no-mine")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(
        "Error: This seed breaks the card rules: title: use 2-5 words (this has 1);"
    )
    assert "policy 1: open with a plural noun in CAPS" in result.output
    missing = run(env, "seed", "add", d, "--question", "99", *_card_args(HONEST_CARD), "--no-mine")
    assert (missing.exit_code, missing.output.strip()) == (1, "Error: There is no question 99.")


def test_generate_stores_the_cards_that_pass(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, q = _deliberation(env, tmp_path)
    broken = {**GOOD_CARD, "title": "Meaningful Care"}
    model = ScriptedChatModel(
        [{"cards": [HONEST_CARD, broken, GOOD_CARD]}, {"contexts": []}, {"contexts": []}]
    )
    monkeypatch.setattr(model_clients, "chat_model", lambda *_: model)
    result = run(env, "seed", "generate", d, "--question", q, "--count", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split("\t")[-1] for line in lines] == ["Honest Presence", "Listening First"]
    assert all(line.split("\t")[5] == "mined" for line in lines)
    assert "not stored: Meaningful Care: title: say what to attend to instead of meaningful" in result.stderr
    assert re.search(
        r"Added 2 of 2 requested seed values to question 1 \(1 not stored, 0 contexts mined; seed_values@1:",
        result.stderr,
    )
    assert model.remaining == 0
    helped = run(env, "seed", "generate", "--help")
    assert "1<=x<=12" in helped.output


def test_a_deliberation_requiring_seeds_opens_only_with_them(env: dict[str, str], tmp_path: Path) -> None:
    d, q = _deliberation(env, tmp_path, seeds_required=1)
    refused = run(env, "deliberation", "status", d, "open")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: Deliberation {d} needs 1 seed value on each question before it opens (question {q} has 0): "
        "add them first (seed add or seed generate)."
    )
    run(env, "seed", "add", d, "--question", q, *_card_args(HONEST_CARD), "--no-mine")
    opened = run(env, "deliberation", "status", d, "open")
    assert opened.exit_code == 0, opened.output
