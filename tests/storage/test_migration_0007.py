"""Migration 0007 (the facilitator console's tables and hidden values) on both backends: an 0006 database
keeps its values, which come out not hidden; the new tables exist with their CHECK constraints; a
downgrade removes them and an upgrade adds them again. A moderation event may then belong to no deliberation
(the console's own log); going back removes such events and requires a deliberation again."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, exc, inspect, text

from storage import db
from tests.storage.test_migration_0006 import _columns, _downgrade

CONSOLE_TABLES = {"facilitatoraccount", "signinattempt", "appsecret", "jobrun"}
EVENT = (
    "INSERT INTO moderationevent (deliberation_id, actor, action, target_type, target_id, reason, details,"
    " created_at) VALUES ({}, 'ada', :action, 'deliberation', 1, '', '{{}}', :now)"
)


def _nullable(engine: Engine) -> bool:
    return next(
        c["nullable"]
        for c in inspect(engine).get_columns("moderationevent")
        if c["name"] == "deliberation_id"
    )


def test_0007_adds_the_console_tables_and_the_hidden_mark_and_goes_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine, "0006")
        now = "2024-01-01 00:00:00"
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO deliberation (title, welcome_text, consent_text, status, config, created_at,"
                    " updated_at) VALUES ('D', '', '', 'open', '{}', :now, :now)"
                ),
                {"now": now},
            )
            c.execute(
                text(
                    "INSERT INTO canonicalvalue (deliberation_id, title, description, policies, seed,"
                    " created_at, updated_at) VALUES (1, 'Old value', '', '[]', false, :now, :now)"
                ),
                {"now": now},
            )
            c.execute(text(EVENT.format("1")), {"action": "hide_card", "now": now})
        with pytest.raises(exc.IntegrityError), engine.begin() as c:  # 0006: every event has a deliberation
            c.execute(text(EVENT.format("NULL")), {"action": "account_add", "now": now})
        assert not _nullable(engine)
        assert not CONSOLE_TABLES & set(inspect(engine).get_table_names())

        db.upgrade(engine)
        assert db.current_revision(engine) == "0007"
        assert CONSOLE_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as c:
            assert c.execute(text("SELECT title, hidden FROM canonicalvalue")).one() == ("Old value", False)
            # the rebuilt moderation log keeps its events, its index and its foreign key
            assert c.execute(text("SELECT deliberation_id, action FROM moderationevent")).all() == [
                (1, "hide_card")
            ]
        assert _nullable(engine)
        assert "ix_moderationevent_timeline" in {
            i["name"] for i in inspect(engine).get_indexes("moderationevent")
        }
        assert [f["referred_table"] for f in inspect(engine).get_foreign_keys("moderationevent")] == [
            "deliberation"
        ]
        with engine.begin() as c:  # the console's own events belong to no deliberation
            c.execute(text(EVENT.format("NULL")), {"action": "account_add", "now": now})
        with pytest.raises(exc.IntegrityError), engine.begin() as c:  # a deliberation that is not there
            c.execute(text(EVENT.format("99")), {"action": "hide_card", "now": now})
        with pytest.raises(exc.IntegrityError), engine.begin() as c:  # a kind outside JobKind is refused
            c.execute(
                text(
                    "INSERT INTO jobrun (kind, args, actor, status, done, total, log, result, created_at)"
                    " VALUES ('dance', '{}', 'ada', 'queued', 0, 0, '[]', '{}', :now)"
                ),
                {"now": now},
            )

        _downgrade(engine, "0006")
        assert not CONSOLE_TABLES & set(inspect(engine).get_table_names())
        assert "hidden" not in _columns(engine, "canonicalvalue")
        assert not _nullable(engine)
        with engine.connect() as c:  # the console's events went, the deliberation's stayed
            assert c.execute(text("SELECT deliberation_id, action FROM moderationevent")).all() == [
                (1, "hide_card")
            ]
        db.upgrade(engine)
        assert "hidden" in _columns(engine, "canonicalvalue")
        assert _nullable(engine)
    finally:
        engine.dispose()
