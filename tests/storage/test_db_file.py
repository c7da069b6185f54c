"""The database is where the app thinks it is: a SQLite file deleted or replaced under a running engine is
caught on the next session (one line naming DATABASE_URL) instead of written into the void; in-memory SQLite
and PostgreSQL are not watched (no stat at all)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from errors import one_line
from storage import db, repo_deliberations
from storage.db import session_scope
from storage.errors import DatabaseMoved
from storage.schemas import DeliberationCreate
from storage.tables import Deliberation


def _add(engine: Engine, title: str) -> None:
    with session_scope(engine) as s:
        repo_deliberations.create_deliberation(s, data=DeliberationCreate(title=title, questions=["Q?"]))


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_a_deleted_file_stops_the_next_session_with_one_line(sqlite_url: str) -> None:
    engine = db.init_db(sqlite_url)
    try:
        _add(engine, "Before")
        _remove(_file(sqlite_url))
        for _ in range(2):  # and every session after it: the engine never writes into the unlinked file
            with pytest.raises(DatabaseMoved) as caught, session_scope(engine) as s:
                repo_deliberations.create_deliberation(
                    s, data=DeliberationCreate(title="Lost", questions=["Q?"])
                )
            message = one_line(caught.value)
            assert message == str(caught.value)  # one line
            assert f"The database file {_file(sqlite_url)} was deleted while the app was running" in message
            assert "DATABASE_URL" in message and caught.value.setting == "DATABASE_URL"
        with pytest.raises(DatabaseMoved), engine.connect():  # a bare connection too (e.g. a schema check)
            pass
        assert not _file(sqlite_url).exists()  # no empty database was made in its place
    finally:
        engine.dispose()


def test_a_fresh_connection_after_the_delete_is_refused_before_sqlite_makes_a_new_file(
    sqlite_url: str,
) -> None:
    engine = db.init_db(sqlite_url)
    try:
        engine.dispose()  # no pooled connection left: the next session opens a new one
        _remove(_file(sqlite_url))
        with pytest.raises(DatabaseMoved, match="was deleted"), session_scope(engine) as s:
            s.exec(select(Deliberation)).all()
        assert not _file(sqlite_url).exists()
    finally:
        engine.dispose()


def test_a_replaced_file_is_caught_too(sqlite_url: str, tmp_path: Path) -> None:
    engine = db.init_db(sqlite_url)
    other = db.init_db(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        _add(engine, "Mine")
        _add(other, "Someone else's")
        other.dispose()
        shutil.copy(tmp_path / "other.sqlite3", tmp_path / "copy.sqlite3")
        _remove(_file(sqlite_url))  # e.g. a backup restored over it, the old journal files removed
        os.replace(tmp_path / "copy.sqlite3", _file(sqlite_url))
        with pytest.raises(DatabaseMoved, match="was replaced by another file"), session_scope(engine) as s:
            s.exec(select(Deliberation)).all()
    finally:
        engine.dispose()
        other.dispose()
    reopened = db.init_db(sqlite_url)  # a restart opens the file that is there now, as it should
    try:
        with session_scope(reopened) as s:
            assert [d.title for d in s.exec(select(Deliberation)).all()] == ["Someone else's"]
    finally:
        reopened.dispose()


def test_the_file_is_watched_from_its_first_connection(tmp_path: Path) -> None:
    path = tmp_path / "new" / "fresh.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")  # no file yet: SQLite makes it on the first connection
    try:
        assert not path.exists()
        db.upgrade(engine)
        _add(engine, "First")
        _remove(path)
        with pytest.raises(DatabaseMoved), session_scope(engine) as s:
            s.exec(select(Deliberation)).all()
    finally:
        engine.dispose()


def test_every_checkout_costs_one_stat_and_only_on_a_sqlite_file(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = db.file_identity

    def counting(path: Path) -> tuple[int, int] | None:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(db, "file_identity", counting)
    engine = db.init_db(sqlite_url)
    memory = db.init_db("sqlite://")
    try:
        calls.clear()
        for _ in range(3):
            with session_scope(engine) as s:
                s.exec(text("SELECT 1")).one()
        assert calls == [_file(sqlite_url).absolute()] * 3
        calls.clear()
        with session_scope(memory) as s:  # in-memory SQLite: nothing to watch
            assert s.exec(text("SELECT 1")).one() == (1,)
        assert calls == []
    finally:
        engine.dispose()
        memory.dispose()


@pytest.mark.postgres
def test_postgresql_is_never_statted(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_stat(path: Path) -> tuple[int, int] | None:
        raise AssertionError(f"PostgreSQL must not stat {path}")

    monkeypatch.setattr(db, "file_identity", no_stat)
    engine = db.init_db(postgres_url)
    try:
        _add(engine, "On PostgreSQL")
        with session_scope(engine) as s:
            assert [d.title for d in s.exec(select(Deliberation)).all()] == ["On PostgreSQL"]
    finally:
        engine.dispose()
