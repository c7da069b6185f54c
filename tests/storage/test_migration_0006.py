"""Migration 0006 (seed values, skipped steps) on both backends: an 0005 database keeps its rows and gains
the columns with their defaults; a downgrade removes them and an upgrade adds them again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from storage import db


def _downgrade(engine: Engine, revision: str) -> None:
    config = db._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_0006_adds_the_seed_and_skipped_columns_with_defaults_and_goes_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine, "0005")
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
                    "INSERT INTO canonicalvalue (deliberation_id, title, description, policies, created_at,"
                    " updated_at) VALUES (1, 'Old value', '', '[]', :now, :now)"
                ),
                {"now": now},
            )
            c.execute(
                text(
                    "INSERT INTO participant (deliberation_id, token, stage, demographics, created_at,"
                    " last_seen_at) VALUES (1, 'tok', 'vote', '{}', :now, :now)"
                ),
                {"now": now},
            )
        assert "seed" not in _columns(engine, "canonicalvalue")

        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision() == "0006"
        with engine.connect() as c:
            assert c.execute(text("SELECT title, seed FROM canonicalvalue")).one() == ("Old value", False)
            skipped = c.execute(text("SELECT skipped_steps FROM participant")).scalar_one()
        assert skipped in ([], "[]")  # JSON on PostgreSQL, its text on SQLite

        _downgrade(engine, "0005")
        assert db.current_revision(engine) == "0005"
        assert "seed" not in _columns(engine, "canonicalvalue")
        assert "skipped_steps" not in _columns(engine, "participant")
        with engine.connect() as c:
            assert c.execute(text("SELECT title FROM canonicalvalue")).scalar_one() == "Old value"

        db.upgrade(engine)
        assert {"seed"} <= _columns(engine, "canonicalvalue")
        assert {"skipped_steps"} <= _columns(engine, "participant")
    finally:
        engine.dispose()
