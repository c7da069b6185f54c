"""Storage errors: one line for a person, naming the setting to fix.

::

    StorageError                  base; .setting names the variable to fix (usually DATABASE_URL)
    ├── DatabaseUnavailable       cannot open or connect (bad path, server down, wrong password)
    ├── DatabaseReadOnly          the file or the server refuses writes
    ├── DiskFull                  no space left for the database
    ├── SchemaError               the schema is newer than this code, or a migration failed
    ├── DatabaseMoved             the SQLite file was deleted or replaced while the app ran
    ├── NotFound                  a row that should exist does not
    └── Conflict                  a unique rule was broken (a duplicate)
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from errors import StudioError


class StorageError(StudioError):
    """Base of every storage error. ``str()`` is one line meant for a person."""

    setting: str | None = "DATABASE_URL"

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        if setting is not None:
            self.setting = setting


class DatabaseUnavailable(StorageError):
    pass


class DatabaseReadOnly(StorageError):
    pass


class DiskFull(StorageError):
    pass


class SchemaError(StorageError):
    pass


class DatabaseMoved(StorageError):
    """The SQLite file the engine opened was deleted or replaced by another file: writing on would go into a
    file nobody can open again (an unlinked inode), so every further request stops with this one line."""


class NotFound(StorageError):
    setting = None


class Conflict(StorageError):
    setting = None


#: What an id beyond the database's integers finds: nothing (SQLite: 64 bits; PostgreSQL's ids: 32 bits).
NO_SUCH_ID = "Nothing has that id (no row is numbered that high)."


def as_storage_error(exc: BaseException, *, url_display: str = "") -> StorageError | None:
    """Map a SQLAlchemy/driver exception to the tree above, or None when it is not a storage fault.

    >>> from sqlalchemy.exc import OperationalError
    >>> err = as_storage_error(OperationalError("x", {}, Exception("database or disk is full")))
    >>> type(err).__name__
    'DiskFull'
    """
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, IntegrityError):
        return Conflict(f"That would create a duplicate or break a link: {_first_line(exc.orig)}")
    if isinstance(exc, UnicodeEncodeError):  # SQLite's driver on a lone surrogate: no UTF-8 form
        return _refused_value("it contains a character with no UTF-8 form (a lone surrogate)")
    if not isinstance(exc, DBAPIError):
        if isinstance(exc, OverflowError) and "sqlite" in str(exc).lower():  # an id past 64 bits: no such row
            return NotFound(NO_SUCH_ID)
        if isinstance(exc, OSError):
            return _from_text(str(exc), url_display) or DatabaseUnavailable(
                f"Cannot open the database at {url_display or 'DATABASE_URL'}: {exc}. Check DATABASE_URL."
            )
        return None
    text = _first_line(exc.orig).lower()
    mapped = _from_text(text, url_display)
    if mapped is not None:
        return mapped
    if isinstance(exc, DataError) and "integer out of range" in text:  # an id past PostgreSQL's integer
        return NotFound(NO_SUCH_ID)
    if isinstance(exc, DataError):  # e.g. PostgreSQL on a NUL character in text
        return _refused_value(_first_line(exc.orig))
    if isinstance(exc, OperationalError):
        return DatabaseUnavailable(
            f"The database at {url_display or 'DATABASE_URL'} failed: {_first_line(exc.orig)}. "
            "Check DATABASE_URL."
        )
    return None


def _refused_value(why: str) -> StorageError:
    """The database refused a value it was given (no setting to fix: the value is at fault)."""
    error = StorageError(f"The database could not store a value: {why}.")
    error.setting = None
    return error


def _from_text(text: str, url_display: str) -> StorageError | None:
    where = url_display or "DATABASE_URL"
    text = text.lower()
    if "disk is full" in text or "no space left" in text or "could not extend file" in text:
        return DiskFull(f"The disk holding the database at {where} is full. Free space or move DATABASE_URL.")
    if "readonly" in text or "read-only" in text or "read only" in text or "permission denied" in text:
        return DatabaseReadOnly(
            f"The database at {where} cannot be written (read-only file or no permission). "
            "Fix its permissions or point DATABASE_URL elsewhere."
        )
    if (
        "unable to open database" in text
        or "connection refused" in text
        or "could not connect" in text
        or "connection failed" in text
        or "password authentication failed" in text
        or ("database" in text and "does not exist" in text)
        or "name or service not known" in text
        or "is not a database" in text
    ):
        return DatabaseUnavailable(f"Cannot open the database at {where}. Check DATABASE_URL.")
    return None


def _first_line(value: object) -> str:
    return (str(value).strip().splitlines() or [""])[0][:300]
