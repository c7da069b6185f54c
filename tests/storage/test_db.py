"""Engine set-up, in-place schema upgrades and clear errors for bad databases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, func, text
from sqlmodel import SQLModel, select

import storage.tables  # noqa: F401  (registers the tables)
from storage import db, repo_deliberations, repo_participants
from storage.db import session_scope
from storage.errors import DatabaseReadOnly, DatabaseUnavailable, DiskFull, SchemaError, StorageError
from storage.schemas import DeliberationCreate, ParticipantCreate
from storage.tables import Deliberation, Judgement, LLMCall, ValuesCard


def test_migrations_create_exactly_the_models(engine: Engine) -> None:
    """A model change without a migration fails here (on both backends)."""
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def _insert(connection: Connection, table: str, **values: object) -> None:
    columns, params = ", ".join(values), ", ".join(f":{name}" for name in values)
    connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def test_an_earlier_schema_upgrades_in_place_keeping_its_data(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0001")
    assert db.current_revision(engine) == "0001"
    with engine.begin() as connection:
        tables = set(connection.dialect.get_table_names(connection))
        assert "deliberation" in tables and "llmcall" not in tables
        now = "2024-01-01 00:00:00"
        _insert(
            connection,
            "deliberation",
            title="Old one",
            welcome_text="",
            consent_text="",
            status="open",
            config="{}",
            created_at=now,
            updated_at=now,
        )
        _insert(connection, "question", deliberation_id=1, position=0, text="Q?", title="", created_at=now)
        _insert(
            connection,
            "participant",
            deliberation_id=1,
            token="tok",
            stage="done",
            demographics="{}",
            created_at=now,
            last_seen_at=now,
        )
        _insert(
            connection,
            "valuescard",
            participant_id=1,
            question_id=1,
            title="Old card",
            description="",
            policies='["MOMENTS of calm"]',
            status="submitted",
            quality_flags="[]",
            edited_by_participant=False,
            created_at=now,
        )
        for title in ("A", "B"):
            _insert(
                connection,
                "canonicalvalue",
                deliberation_id=1,
                title=title,
                description="",
                policies="[]",
                created_at=now,
                updated_at=now,
            )
        _insert(
            connection, "context", deliberation_id=1, text="When asked", source="facilitator", created_at=now
        )
        _insert(
            connection,
            "judgement",
            participant_id=1,
            from_value_id=1,
            to_value_id=2,
            context_id=1,
            answer="upgrade",
            created_at=now,
        )
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with session_scope(engine) as s:
        old = s.exec(select(Deliberation)).one()
        assert (old.title, old.status) == ("Old one", "open")
        card = s.exec(select(ValuesCard)).one()  # survived 0003's table rebuild on SQLite
        assert (card.title, card.policies, card.participant_id) == ("Old card", ["MOMENTS of calm"], 1)
        assert s.exec(select(Judgement)).one().deliberation_id == 1  # backfilled by 0003
        s.add(LLMCall(purpose="interview", deliberation_id=old.id))
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(LLMCall)).one() == 1
    assert db.upgrade(engine) == db.head_revision()  # idempotent
    engine.dispose()


def test_a_database_from_a_newer_app_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaError, match="newer than this version"):
        db.upgrade(engine)


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_is_safe_from_many_writer_threads(sqlite_engine: Engine) -> None:
    """Streamlit runs each session's script in its own thread; writers must queue, not fail."""
    with session_scope(sqlite_engine) as s:
        deliberation_id = repo_deliberations.create_deliberation(
            s, data=DeliberationCreate(title="T", questions=["Q"])
        ).id
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                with session_scope(sqlite_engine) as s:
                    repo_participants.count_participants(
                        s, deliberation_id=deliberation_id
                    )  # read, then write
                    repo_participants.create_participant(
                        s, data=ParticipantCreate(deliberation_id=deliberation_id)
                    )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(sqlite_engine) as s:
        assert repo_participants.count_participants(s, deliberation_id=deliberation_id) == 160


def test_unopenable_sqlite_path_names_database_url(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="DATABASE_URL") as info:
        db.init_db(f"sqlite:///{blocker / 'sub' / 'db.sqlite3'}")
    assert info.value.setting == "DATABASE_URL"
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseUnavailable, match="DATABASE_URL"):
        db.init_db(f"sqlite:///{path}")


def test_read_only_database_is_a_clear_error_and_writes_nothing(sqlite_url: str) -> None:
    db.init_db(sqlite_url).dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    read_only = db.make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(DatabaseReadOnly, match="cannot be written"), session_scope(read_only) as s:
        repo_deliberations.create_deliberation(s, data=DeliberationCreate(title="T", questions=["Q"]))
    read_only.dispose()


def test_full_disk_is_a_clear_error_and_rolls_back(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as s:
        before = len(repo_deliberations.list_deliberations(s))
    with pytest.raises(DiskFull, match="full"), session_scope(sqlite_engine) as s:
        page_count = s.connection().exec_driver_sql("PRAGMA page_count").scalar()
        s.connection().exec_driver_sql(f"PRAGMA max_page_count = {page_count + 1}")  # a full disk, for real
        repo_deliberations.create_deliberation(
            s, data=DeliberationCreate(title="T", questions=["Q" * 2000 for _ in range(50)])
        )
    with session_scope(sqlite_engine) as s:
        assert len(repo_deliberations.list_deliberations(s)) == before


@pytest.mark.postgres
def test_unreachable_postgres_names_database_url() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatabaseUnavailable, match="DATABASE_URL") as info:
        db.init_db(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing")
    assert "\n" not in str(info.value)


def _refused_and_rolled_back(engine: Engine, bad: str) -> None:
    with session_scope(engine) as s:
        before = s.exec(select(func.count()).select_from(Deliberation)).one()
    with pytest.raises(StorageError, match="could not store a value") as caught, session_scope(engine) as s:
        s.add(Deliberation(title="fine"))
        s.add(Deliberation(title=f"a{bad}b"))  # a table row: no schema check on the way
        s.flush()
    assert caught.value.setting is None and "\n" not in str(caught.value)
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(Deliberation)).one() == before


def test_a_lone_surrogate_the_driver_cannot_encode_is_one_line(engine: Engine) -> None:
    """SQLite's driver raises a bare UnicodeEncodeError, psycopg its own: each a StorageError, no setting."""
    _refused_and_rolled_back(engine, "\ud800")


@pytest.mark.postgres
def test_a_nul_postgres_refuses_is_one_line(postgres_url: str) -> None:
    """PostgreSQL refuses NUL in text with a DataError (SQLite stores it)."""
    engine = db.init_db(postgres_url)
    try:
        _refused_and_rolled_back(engine, "\x00")
    finally:
        engine.dispose()
