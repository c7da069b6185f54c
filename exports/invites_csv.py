"""A deliberation's per-person invites as CSV, pure (no I/O): one row per invite.

Columns (:data:`COLUMNS`): ``link``, ``code``, ``cohort``, ``status`` (``unused``, ``opened``, ``started``,
``finished``, ``revoked``), ``opened`` (when its person first opened the link), ``started`` (when they
consented: only then are they a participant), ``finished`` (when they reached the end); times in ISO 8601,
UTC, blank when it has not happened. Cells a spreadsheet would run as a formula are defused
(:func:`exports.spreadsheet.safe_cell`).

>>> from datetime import datetime, timezone
>>> row = InviteLine(link="https://x/join?invite=c", code="c", cohort="=1+1", status="opened",
...                  opened=datetime(2024, 1, 1, tzinfo=timezone.utc))
>>> print(invites_csv([row]), end="")
link,code,cohort,status,opened,started,finished
https://x/join?invite=c,c,'=1+1,opened,2024-01-01T00:00:00+00:00,,
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from exports.spreadsheet import csv_text

#: The CSV's columns, in order.
COLUMNS = ("link", "code", "cohort", "status", "opened", "started", "finished")


@dataclass(frozen=True)
class InviteLine:
    """One invite as the CSV writes it."""

    link: str
    code: str
    cohort: str | None
    status: str
    opened: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def invites_csv(rows: Iterable[InviteLine]) -> str:
    """The invites as CSV text with a header (:data:`COLUMNS`)."""
    return csv_text(
        COLUMNS,
        (
            [r.link, r.code, r.cohort or "", r.status, _when(r.opened), _when(r.started), _when(r.finished)]
            for r in rows
        ),
    )
