"""Migration 0006 (seed values, skipped steps, a model call's job run, a reply's model text and shaping) on
both backends: an 0005 database keeps its rows and gains the columns with their defaults; a downgrade
removes them (saying that seeds become ordinary values) and an upgrade adds them again."""

from __future__ import annotations

import logging

import pytest
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


def test_0006_adds_the_seed_and_skipped_columns_with_defaults_and_goes_back(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
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
            c.execute(
                text(
                    "INSERT INTO question (deliberation_id, position, text, title, created_at)"
                    " VALUES (1, 0, 'Q?', '', :now)"
                ),
                {"now": now},
            )
            c.execute(
                text(
                    "INSERT INTO interview (participant_id, question_id, state, prompt_versions, model_id,"
                    " app_version, tokens_in, tokens_out, created_at, updated_at)"
                    " VALUES (1, 1, 'story', '{}', '', '', 0, 0, :now, :now)"
                ),
                {"now": now},
            )
            c.execute(
                text(
                    "INSERT INTO message (interview_id, seq, role, content, status, created_at)"
                    " VALUES (1, 0, 'assistant', 'Old reply?', 'complete', :now)"
                ),
                {"now": now},
            )
            c.execute(
                text(
                    "INSERT INTO llmcall (purpose, model, tokens_in, tokens_out, estimated, latency_ms,"
                    " streamed, deliberation_id, created_at) VALUES ('dedup', 'm', 1, 2, false, 3, false, 1,"
                    " :now)"
                ),
                {"now": now},
            )
        assert "seed" not in _columns(engine, "canonicalvalue")
        assert "job_run" not in _columns(engine, "llmcall")
        assert "model_text" not in _columns(engine, "message")

        db.upgrade(engine, "0006")
        assert db.current_revision(engine) == "0006"
        with engine.connect() as c:
            assert c.execute(text("SELECT title, seed FROM canonicalvalue")).one() == ("Old value", False)
            skipped = c.execute(text("SELECT skipped_steps FROM participant")).scalar_one()
            assert c.execute(text("SELECT purpose, job_run FROM llmcall")).one() == ("dedup", None)
            c.execute(text("UPDATE llmcall SET job_run = 'pipeline-1'"))
            c.commit()
        assert skipped in ([], "[]")  # JSON on PostgreSQL, its text on SQLite
        with engine.connect() as c:  # an old reply: read as the model wrote it, nothing shaped
            reply = c.execute(text("SELECT content, model_text, shaping FROM message")).one()
        assert reply[:2] == ("Old reply?", None) and reply[2] in ([], "[]")
        assert "ix_llmcall_job_run" in {i["name"] for i in inspect(engine).get_indexes("llmcall")}

        with caplog.at_level(logging.WARNING):
            _downgrade(engine, "0005")
        assert "seed values lose their mark" in caplog.text
        assert db.current_revision(engine) == "0005"
        assert "seed" not in _columns(engine, "canonicalvalue")
        assert "skipped_steps" not in _columns(engine, "participant")
        assert "job_run" not in _columns(engine, "llmcall")
        assert not {"model_text", "shaping"} & _columns(engine, "message")
        assert "ix_llmcall_job_run" not in {i["name"] for i in inspect(engine).get_indexes("llmcall")}
        with engine.connect() as c:
            assert c.execute(text("SELECT title FROM canonicalvalue")).scalar_one() == "Old value"
            assert c.execute(text("SELECT purpose FROM llmcall")).scalar_one() == "dedup"
            assert c.execute(text("SELECT content FROM message")).scalar_one() == "Old reply?"

        db.upgrade(engine)
        assert {"seed"} <= _columns(engine, "canonicalvalue")
        assert {"skipped_steps"} <= _columns(engine, "participant")
        assert {"job_run"} <= _columns(engine, "llmcall")
        assert {"model_text", "shaping"} <= _columns(engine, "message")
    finally:
        engine.dispose()
