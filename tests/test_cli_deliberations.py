"""The command line's deliberation and invite commands: edit, duplicate, delete --yes, invite --force and
--csv, invites list/cohorts/revoke, each change logged under ``cli:<os user>`` or ``--as NAME``."""

from __future__ import annotations

import csv
import getpass
from pathlib import Path

import pytest

from services.facilitator import deliberations, system
from services.participant import joining
from settings import load_settings
from storage import repo_values
from storage.db import session_scope
from tests.cli_runner import cli_env, run

BASE = "https://studio.example.org"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, PUBLIC_BASE_URL=BASE)


def _engine(env: dict[str, str]):
    return system.open_database(load_settings(environ=env, secrets={}))


def _create(env: dict[str, str], *extra: str) -> int:
    created = run(env, "deliberation", "create", "--title", "Care", "--question", "Q one?", *extra)
    assert created.exit_code == 0, created.output
    return int(created.output.strip())


def _events(env: dict[str, str], d: int) -> list[tuple[str, str]]:
    engine = _engine(env)
    try:
        with session_scope(engine) as s:
            return [(e.action, e.actor) for e in repo_values.list_moderation_events(s, deliberation_id=d)]
    finally:
        engine.dispose()


def test_invites_need_force_until_it_opens_and_come_as_csv(env: dict[str, str], tmp_path: Path) -> None:
    d = _create(env)
    refused = run(env, "invite", str(d), "--count", "2")
    assert refused.exit_code == 1 and "Confirm to create them anyway (--force" in refused.output
    out = tmp_path / "new.csv"
    made = run(env, "invite", str(d), "--count", "2", "--cohort", "pilot", "--force", "--csv", str(out))
    assert made.exit_code == 0, made.output
    links = [line for line in made.output.splitlines() if line.startswith(BASE)]
    assert len(links) == 2 and "work once it opens" in made.output
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["link"] for r in rows] == links and {(r["cohort"], r["status"]) for r in rows} == {
        ("pilot", "unused")
    }
    assert ("invites_create", f"cli:{getpass.getuser()}") in _events(env, d)

    assert run(env, "deliberation", "status", str(d), "open", "--as", "Ann").exit_code == 0
    assert ("deliberation_status", "Ann") in _events(env, d)
    listed = run(env, "invites", "list", str(d))
    assert (
        listed.exit_code == 0
        and [line.split("\t")[3] for line in listed.output.splitlines()] == ["unused"] * 2
    )
    engine = _engine(env)
    try:
        joining.join(engine, invite=links[0].split("invite=")[1])
    finally:
        engine.dispose()
    all_csv = tmp_path / "all.csv"
    assert run(env, "invites", "list", str(d), "--csv", str(all_csv)).exit_code == 0
    with all_csv.open(newline="") as f:
        table = list(csv.DictReader(f))
    assert sorted(r["status"] for r in table) == ["opened", "unused"]  # opened, not consented: not started
    assert [bool(r["opened"]) for r in table if r["status"] == "opened"] == [True]
    listed = run(env, "invites", "list", str(d))
    assert sorted(line.split("\t")[3] for line in listed.output.splitlines()) == ["opened", "unused"]
    assert {len(line.split("\t")) for line in listed.output.splitlines()} == {7}
    cohorts = run(env, "invites", "cohorts", str(d))
    assert cohorts.output.splitlines() == ["pilot\t2\t1\t0\t1\t0\t0"]

    revoked = run(env, "invites", "revoke", str(d), "--all-unused", "--as", "Bob")
    assert revoked.exit_code == 0 and "Withdrew 1 invite of deliberation" in revoked.output
    used = run(env, "invites", "revoke", str(d), "--code", links[0].split("invite=")[1])
    assert used.exit_code == 1 and "already used" in used.output
    neither = run(env, "invites", "revoke", str(d))
    assert neither.exit_code == 1 and "Withdraw one invite" in neither.output
    assert ("invites_revoke", "Bob") in _events(env, d)


def test_edit_duplicate_and_delete(env: dict[str, str], tmp_path: Path) -> None:
    d = _create(env)
    edited = run(
        env, "deliberation", "edit", str(d), "--title", "Care 2", "--settings", '{"stories_to_judge": 5}'
    )
    assert edited.exit_code == 0, edited.output
    bad = '{"demographics": [{"key": "party", "label": "Party", "required": true}]}'
    refused = run(env, "deliberation", "edit", str(d), "--settings", bad)
    assert refused.exit_code == 1 and "a choice question needs options" in refused.output
    unknown = run(env, "deliberation", "edit", str(d), "--settings", '{"stories": 5}')
    assert unknown.exit_code == 1 and "unknown setting 'stories'" in unknown.output
    nothing = run(env, "deliberation", "edit", str(d))
    assert nothing.exit_code == 1 and "Nothing to change" in nothing.output
    config = tmp_path / "c.json"
    config.write_text('{"graph_thresholds": {"min_wiser": 4}}')
    assert run(env, "deliberation", "edit", str(d), "--config", str(config), "--as", "Ann").exit_code == 0
    engine = _engine(env)
    try:
        got = deliberations.get_deliberation(engine, deliberation_id=d)
        assert got.title == "Care 2" and got.settings.stories_to_judge == 5
        assert (
            got.settings.graph_thresholds.min_wiser == 4
            and got.settings.graph_thresholds.min_likelihood == 0.33
        )
    finally:
        engine.dispose()
    assert ("deliberation_edit", "Ann") in _events(env, d)

    copied = run(env, "deliberation", "duplicate", str(d))
    assert copied.exit_code == 0, copied.output
    copy = int(copied.output.strip())
    listed = run(env, "deliberation", "list").output.splitlines()
    assert f"{copy}\tdraft\t1\t0\tCopy of Care 2" in listed

    unconfirmed = run(env, "deliberation", "delete", str(d))
    assert (
        unconfirmed.exit_code == 1
        and "add --yes" in unconfirmed.output
        and "1 questions" in unconfirmed.output
    )
    deleted = run(env, "deliberation", "delete", str(d), "--yes")
    assert deleted.exit_code == 0 and f"Deleted deliberation {d}" in deleted.output
    assert [line.split("\t")[0] for line in run(env, "deliberation", "list").output.splitlines()] == [
        str(copy)
    ]
    again = run(env, "deliberation", "delete", str(d), "--yes")
    assert again.exit_code == 1 and f"no deliberation with id {d}" in again.output


def test_a_blank_as_name_is_refused(env: dict[str, str]) -> None:
    result = run(env, "deliberation", "create", "--title", "T", "--question", "Q?", "--as", "  ")
    assert result.exit_code == 1 and "--as name cannot be blank" in result.output
