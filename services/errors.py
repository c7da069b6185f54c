"""Errors the front ends (pages, CLI) show as one plain line.

::

    USER_ERRORS
    ├── settings.SettingsError        a configuration value is missing or malformed
    ├── storage.errors.StorageError   the database cannot be opened, written, or a rule was broken
    ├── providers.errors.ModelError   the model endpoint failed (after retries)
    └── InvalidInput                  what a person typed breaks a rule
"""

from __future__ import annotations

from pydantic import ValidationError

from providers.errors import ModelError
from settings import SettingsError
from storage.errors import StorageError


class InvalidInput(ValueError):
    """What a person entered breaks a rule; the message says which and how to fix it."""

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidInput:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        return cls("; ".join(problems))


USER_ERRORS: tuple[type[Exception], ...] = (SettingsError, StorageError, ModelError, InvalidInput)


def one_line(exc: BaseException) -> str:
    """The message of a user error, flattened to a single line."""
    return " ".join(str(exc).split()) or type(exc).__name__
