"""Engine, schema upgrades and the session scope.

SQLite (the embedded default) runs in WAL mode with a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so that concurrent writers from Streamlit's worker
threads queue on the busy timeout instead of failing with "database is locked". PostgreSQL
(``postgresql+psycopg://``) gets a pre-pinged connection pool; schema upgrades there take an
advisory lock so several app processes can start at once.

A SQLite file is watched (:class:`SqliteFile`): its identity (``st_dev``, ``st_ino``) is recorded when the
engine first opens it, and every connection taken from the pool (each session, each ``engine.connect()``)
checks it with one ``os.stat``. A file deleted or replaced while the app runs (the open connections would go
on writing into the unlinked file, lost at the next restart) raises :class:`~storage.errors.DatabaseMoved`
on the next request, and so does every request after it. In-memory SQLite and PostgreSQL are not watched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session as Session  # re-exported: what session_scope yields and repositories take

from storage.errors import DatabaseMoved, SchemaError, StorageError, as_storage_error

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
_MIGRATION_LOCK_KEY = 72_317_001  # any constant; identifies our pg_advisory_lock


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    For a SQLite file, its folder is created. Connection problems surface on first use
    (see :func:`check_connection`) as :class:`~storage.errors.StorageError`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise as_storage_error(exc, url_display=url) or exc from exc
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
        if database and database != ":memory:" and not database.startswith("file:"):
            SqliteFile(Path(database).expanduser().absolute()).watch(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        # A host that drops packets (rather than refusing) fails in seconds, not the OS's minutes.
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def file_identity(path: Path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the file at ``path``, or None when there is none (one ``os.stat``)."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class SqliteFile:
    """The SQLite file an engine works on, checked before each connection is used (see the module notes).

    The identity is recorded when the engine is made (an existing file) or at the first connection (a new
    database: SQLite creates the file then). Before a new connection opens the file and whenever a pooled one
    is checked out, the path must still name that file; otherwise :class:`DatabaseMoved`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = file_identity(path)

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "do_connect", self._before_connect)
        event.listen(engine, "connect", self._after_connect)
        event.listen(engine, "checkout", self._on_checkout)

    def check(self) -> None:
        """Raise :class:`DatabaseMoved` when the path no longer names the recorded file."""
        if self.identity is None:
            return
        now = file_identity(self.path)
        if now == self.identity:
            return
        what = "was deleted" if now is None else "was replaced by another file"
        raise DatabaseMoved(
            f"The database file {self.path} {what} while the app was running; nothing more is written. "
            f"Restore the file (or point DATABASE_URL at the right one) and restart the app."
        )

    def _before_connect(self, *_args: Any) -> None:  # before SQLite would create an empty file in its place
        self.check()

    def _after_connect(self, *_args: Any) -> None:
        if self.identity is None:
            self.identity = file_identity(self.path)

    def _on_checkout(self, *_args: Any) -> None:
        self.check()


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error.

    Database faults are re-raised as :class:`~storage.errors.StorageError` (one line, names the
    setting), so callers never show a driver traceback.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        mapped = as_storage_error(exc, url_display=display_url(engine))
        if mapped is not None and mapped is not exc:
            raise mapped from exc
        raise
    finally:
        session.close()


def display_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Create or upgrade the schema in place to ``revision``; returns the revision reached.

    Safe to call at every start: it does nothing when the schema is current. A database whose
    revision this code does not know (made by a newer version) raises :class:`SchemaError`.
    """
    config = _alembic_config()
    known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            found = MigrationContext.configure(connection).get_current_revision()
            if found is not None and found not in known:
                raise SchemaError(
                    f"The database at {display_url(engine)} has schema revision {found!r}, "
                    "newer than this version of the app knows. Upgrade the app or use another DATABASE_URL."
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except StorageError:
        raise
    except Exception as exc:
        mapped = as_storage_error(exc, url_display=display_url(engine))
        if mapped is None:
            raise SchemaError(f"Upgrading the database schema failed: {exc}") from exc
        raise mapped from exc
    return current_revision(engine) or ""


def init_db(url: str, *, pool_size: int = 5) -> Engine:
    """Open the database at ``url`` and bring its schema to the newest revision."""
    engine = make_engine(url, pool_size=pool_size)
    upgrade(engine)
    return engine
