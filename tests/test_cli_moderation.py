"""The moderation commands: find, hide, unhide and edit cards, hide values, preview merges and splits, the
likely missed merges, and the log with its CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlmodel import select

from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from storage.db import session_scope
from storage.tables import CanonicalValue
from tests.cli_runner import cli_env, run
from tests.services.facilitator.test_values import seed_graph
from tests.services.facilitator.test_values_review import PlaneEmbeddings
from tests.services.story_world import World, seed


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def story_world(env: dict[str, str]) -> World:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    w = seed(engine)
    engine.dispose()
    return w


def test_cards_found_hidden_edited_and_logged(env: dict[str, str], tmp_path: Path) -> None:
    w = story_world(env)
    card = str(w.card1)
    listed = run(env, "cards", "list", str(w.deliberation_id), "--status", "submitted")
    assert listed.exit_code == 0
    assert f"{card}\tsubmitted\t{w.v1}\t-\tHonest Presence" in listed.stdout.splitlines()

    hidden = run(env, "cards", "hide", card, "--reason", "Names a relative", "--as", "ana")
    assert hidden.exit_code == 0 and hidden.stdout.startswith(f"Card {card} hidden. (moderation event ")
    assert (
        run(env, "cards", "hide", card, "--reason", "again").stdout.strip()
        == f"Card {card} was hidden already."
    )
    assert run(env, "cards", "list", str(w.deliberation_id), "--status", "hidden").stdout.count(card) >= 1
    assert run(env, "cards", "unhide", card, "--reason", "ok", "--as", "ana").exit_code == 0

    edited = run(env, "cards", "edit", card, "--title", "Honest Gentle Presence", "--reason", "Clearer")
    assert edited.exit_code == 0 and "edited" in edited.stdout
    bad = run(env, "cards", "edit", card, "--title", "Honesty", "--reason", "x")
    assert bad.exit_code == 1 and bad.output.startswith("Error: The card breaks the card rules: title")
    draft = run(env, "cards", "hide", str(w.draft_card), "--reason", "x")
    assert draft.exit_code == 1 and "draft" in draft.output
    assert (
        run(env, "cards", "hide", "999", "--reason", "x").output.strip()
        == "Error: There is no values card 999."
    )

    log = run(env, "moderation", "log", str(w.deliberation_id), "--action", "hide_card")
    (line,) = log.stdout.splitlines()
    assert line.split("\t")[1:] == ["ana", "hide_card", f"card {card}", "Names a relative"]
    out = tmp_path / "log.csv"
    assert run(env, "moderation", "log", str(w.deliberation_id), "--csv", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    edit = next(r for r in rows if r["action"] == "edit_card")
    assert (
        '"title": "Honest Presence"' in edit["before"]
        and '"title": "Honest Gentle Presence"' in edit["after"]
    )
    assert list(rows[0]) == ["when", "who", "action", "target", "reason", "before", "after"]


def test_values_hidden_previewed_and_missed_merges(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    ids = seed_graph(engine)
    engine.dispose()
    A, B = str(ids["A"]), str(ids["B"])
    preview = run(env, "values", "preview-merge", A, B)
    assert preview.exit_code == 0
    assert preview.stdout.splitlines()[1:] == [
        f"keep\t{A}\t2\t1\t2\t2\tValue A",
        f"merge\t{B}\t1\t2\t3\t4\tValue B",
    ]
    assert "1 cards moved" in preview.stderr
    split = run(env, "values", "preview-split", A, "--card", str(ids["a2"]))
    assert split.stdout.splitlines() == [f"moves\t{ids['a2']}\tCard a2", f"stays\t{ids['a1']}\tCard a1"]

    hidden = run(env, "values", "hide", B, "--reason", "Spam", "--as", "ana")
    assert hidden.exit_code == 0 and hidden.stdout.startswith(f"Value {B} hidden.")
    assert run(env, "values", "unhide", B, "--reason", "Reviewed").stdout.startswith(
        f"Value {B} shown again."
    )
    merged = run(env, "values", "merge", A, B, "--reason", "Same", "--as", "ana")
    assert merged.exit_code == 0
    log = run(env, "moderation", "log", str(ids["d"]), "--action", "merge_values").stdout
    assert log.split("\t")[1] == "ana"

    monkeypatch.setattr(model_clients, "embeddings", lambda *_: PlaneEmbeddings())
    engine = system.open_database(load_settings(environ=env, secrets={}))
    with session_scope(engine) as s:
        for v, title in zip(
            s.exec(select(CanonicalValue).order_by(CanonicalValue.id)).all(), ("North", "East"), strict=True
        ):
            v.title = title
    engine.dispose()
    missed = run(env, "values", "missed", str(ids["d"]), "--top", "1")
    assert missed.exit_code == 0 and missed.stdout == f"0.0000\t{A}\t{ids['C']}\tNorth\tEast\n"
