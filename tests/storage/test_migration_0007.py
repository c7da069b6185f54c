"""Migration 0007 (the facilitator console's tables and hidden values) on both backends: an 0006 database
keeps its values, which come out not hidden; the new tables exist with their CHECK constraints; a
downgrade removes them and an upgrade adds them again."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, inspect, text

from storage import db
from tests.storage.test_migration_0006 import _columns, _downgrade

CONSOLE_TABLES = {"facilitatoraccount", "signinattempt", "appsecret", "jobrun"}


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
        assert not CONSOLE_TABLES & set(inspect(engine).get_table_names())

        db.upgrade(engine)
        assert db.current_revision(engine) == "0007"
        assert CONSOLE_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as c:
            assert c.execute(text("SELECT title, hidden FROM canonicalvalue")).one() == ("Old value", False)
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
        db.upgrade(engine)
        assert "hidden" in _columns(engine, "canonicalvalue")
    finally:
        engine.dispose()
