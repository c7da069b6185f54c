"""The one root of every error a person can cause or meet; front ends show it as one plain line.

The front ends catch :class:`StudioError` and show ``one_line(exc)``: ``cli.py`` prints ``Error: <line>``
on stderr and exits with 1, a page shows one error box (``ui.components.error_box``, which adds the setting
to fix when the error names one in ``.setting``, as storage and model errors do). Anything else is a bug and
keeps its traceback. Each branch lives beside the code that raises it (``tests/test_errors.py`` checks that
this tree names every subclass in the project, under its real parent)::

    StudioError
    ├── InvalidInput                          what a person typed or asked for breaks a rule (errors.py)
    ├── settings.SettingsError                a configuration value is missing or malformed
    ├── storage.errors.StorageError           the database cannot be opened or written, a row is missing
    │   ├── DatabaseUnavailable, DatabaseReadOnly, DiskFull, SchemaError, DatabaseMoved
    │   └── NotFound, Conflict
    ├── providers.errors.ModelError           the model endpoint failed (after retries)
    │   ├── ModelUnavailable, ModelAuthError, ModelTimeout, ModelRateLimited, ModelServerError
    │   ├── ModelBadRequest
    │   └── ModelOutputError                  the reply broke the requested structure
    │       └── interviews.dedup.PartitionError   (also a DedupError)
    ├── graph.errors.GraphError               the graph engine refuses its input or did not converge
    │   └── InvalidJudgementError, InvalidInputError, InvalidWeightError, ConvergenceError,
    │       MoralGraphFormatError
    ├── interviews.prompting.PromptError      a prompt file is malformed or rendered with the wrong variables
    ├── services.runtime.model_files.ModelFileError  a model download failed or does not match its checksum
    ├── interviews.contexts.ContextError      a text is not a "When ..." context
    ├── interviews.dedup_candidates.DedupError  the input to deduplication is unusable
    └── interviews.flow.InvalidTransition     an interview event that cannot happen in its current stage

Not in the tree: signals a rule raises for its own caller to collect, such as the form rules'
``interviews.answers.Problem``, which become one :class:`InvalidInput` before they leave the service.
This module imports nothing of the project, so every layer (the pure core included) may raise from it.

>>> issubclass(InvalidInput, StudioError) and issubclass(InvalidInput, ValueError)
True
>>> one_line(InvalidInput("two\\n  lines"))
'two lines'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class StudioError(Exception):
    """Base of every error meant for a person: ``str()`` says what went wrong and what to do."""


class InvalidInput(StudioError, ValueError):
    """What a person entered breaks a rule; the message says which and how to fix it."""

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidInput:
        """One message listing every problem pydantic found, each as ``field: message``."""
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        return cls("; ".join(problems))


def one_line(exc: BaseException) -> str:
    """The message of an error flattened to a single line (its class name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
