"""The console's own log (moderation events of no deliberation) on SQLite and PostgreSQL: deleting a
deliberation and every change to an account is one event naming who did it; the deliberations' logs do not
show them and the console's log shows no deliberation's events; it downloads as the same CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import accounts, deliberation_edits, deliberations, moderation
from settings import load_settings
from storage.errors import NotFound

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)


def _new(engine: Engine, title: str = "Care") -> int:
    return deliberations.create_deliberation(engine, title=title, questions=["Q one?"], actor="ann").id


def test_deleting_a_deliberation_leaves_one_console_event_with_what_went(engine: Engine) -> None:
    gone, keep = _new(engine, "Gone"), _new(engine, "Kept")
    deliberations.set_status(engine, deliberation_id=gone, status="open", actor="ann")  # one more event
    held = deliberation_edits.deletion_preview(engine, deliberation_id=gone)
    assert held["moderation_events"] == 2  # created, opened

    removed = deliberation_edits.delete_deliberation(
        engine, deliberation_id=gone, confirm_title="Gone", actor="bo", reason="  a test   run "
    )
    assert removed == held
    [event] = moderation.log(engine, deliberation_id=None)
    assert (event.deliberation_id, event.actor, event.action) == (None, "bo", "deliberation_delete")
    assert (event.target_type, event.target_id, event.reason) == ("deliberation", gone, "a test run")
    assert event.details == {"deliberation_id": gone, "title": "Gone", "removed": removed}
    assert event.details["removed"]["moderation_events"] == 2  # its own log went with it, and says so
    assert moderation.log_actions(engine, deliberation_id=None) == ["deliberation_delete"]
    kept = moderation.log(engine, deliberation_id=keep)  # a deliberation's log shows none of the console's
    assert [e.action for e in kept] == ["deliberation_create"] and kept[0].deliberation_id == keep
    with pytest.raises(NotFound):  # the deleted one's log is gone with it
        moderation.log(engine, deliberation_id=gone)


def test_a_refused_deletion_logs_nothing(engine: Engine) -> None:
    d = _new(engine)
    with pytest.raises(InvalidInput, match="type its title exactly"):
        deliberation_edits.delete_deliberation(engine, deliberation_id=d, confirm_title="Car", actor="bo")
    assert moderation.log(engine, deliberation_id=None) == []


def test_every_account_change_is_a_console_event_naming_who_did_it(engine: Engine, tmp_path: Path) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="cli:root")
    accounts.add_account(engine, name="oidc@example.org", password=None, actor="cli:root")
    accounts.set_password(engine, name="ana", password="another long password", actor="cli:root")
    accounts.disable_account(engine, name="ana", actor="bo")
    accounts.disable_account(engine, name="ana", actor="bo")  # already disabled: no change, no event
    accounts.enable_account(engine, name="ana", actor="bo")
    accounts.enable_account(engine, name="ana", actor="bo")  # no change, no event
    accounts.sign_out_everywhere(engine, name="ana", actor="ana")
    settings = load_settings(environ={"DATA_DIR": str(tmp_path)}, secrets={})
    assert accounts.sign_in(engine, settings, name="ana", password="wrong one", client="c").ok is False

    events = moderation.log(engine, deliberation_id=None)  # newest first; a sign-in is no account change
    assert [(e.actor, e.action, e.details["name"]) for e in events] == [
        ("ana", "account_sign_out_everywhere", "ana"),
        ("bo", "account_enable", "ana"),
        ("bo", "account_disable", "ana"),
        ("cli:root", "account_password", "ana"),
        ("cli:root", "account_add", "oidc@example.org"),
        ("cli:root", "account_add", "ana"),
    ]
    ana = accounts.get_account(engine, name="ana")
    assert {e.target_type for e in events} == {"facilitator_account"}
    assert events[-1].target_id == ana.id and events[-1].details["after"] == {"password": True}
    assert events[-2].details["after"] == {"password": False}
    assert events[2].details["before"] == {"disabled": False, "session_version": 1}
    assert events[2].details["after"] == {"disabled": True, "session_version": 2}
    assert all(e.deliberation_id is None for e in events)
    dumped = json.dumps([e.details for e in events])
    assert "argon2" not in dumped and PASSWORD not in dumped  # never a password or a hash
    assert moderation.log(engine, deliberation_id=None, action="account_add", limit=1)[0].details == {
        "name": "oidc@example.org",
        "after": {"password": False},
    }


def test_the_console_log_downloads_as_the_moderation_csv(engine: Engine) -> None:
    accounts.add_account(engine, name="=ana", password=PASSWORD, actor="cli:root")
    d = _new(engine)
    deliberation_edits.delete_deliberation(engine, deliberation_id=d, confirm_title="Care", actor="bo")
    rows = list(csv.DictReader(io.StringIO(moderation.log_csv(engine, deliberation_id=None))))
    assert [(r["who"], r["action"], r["target"]) for r in rows] == [
        ("bo", "deliberation_delete", f"deliberation {d}"),
        ("cli:root", "account_add", rows[1]["target"]),
    ]
    assert rows[1]["target"].startswith("facilitator_account ")
    assert json.loads(rows[0]["after"])["title"] == "Care"
    assert json.loads(rows[1]["after"])["name"] == "=ana"  # JSON text, never a formula
    only = moderation.log_csv(engine, deliberation_id=None, action="account_add")
    assert "deliberation_delete" not in only and "account_add" in only
