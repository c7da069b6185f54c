"""The moderation log as CSV: one row per facilitator action, pure (no I/O).

Columns: ``when`` (ISO 8601, UTC), ``who``, ``action``, ``target`` (``card 12``), ``reason``, ``before`` and
``after`` (JSON). An action that records its own ``before``/``after`` (hide, unhide, edit) gives them; a
merge gives the rows it removed as ``before`` and the rest of its details as ``after``; any other action
(a split, a dedup batch, grades) gives all its details as ``after``.

A cell that a spreadsheet would read as a formula gets a leading ``'`` (:mod:`exports.spreadsheet`):
participants' words are data, never code.

>>> from datetime import datetime, timezone
>>> row = log_row(
...     when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), who="ana", action="hide_card",
...     target_type="card", target_id=7, reason="=HYPERLINK(1)",
...     details={"before": {"s": 1}, "after": {"s": 2}},
... )
>>> print(moderation_csv([row]), end="")
when,who,action,target,reason,before,after
2026-01-02T03:04:05+00:00,ana,hide_card,card 7,'=HYPERLINK(1),"{""s"": 1}","{""s"": 2}"
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from exports.spreadsheet import csv_text

#: The CSV's columns, in order.
COLUMNS = ("when", "who", "action", "target", "reason", "before", "after")


@dataclass(frozen=True)
class LogRow:
    """One moderation event as the CSV writes it (every field already text)."""

    when: str
    who: str
    action: str
    target: str
    reason: str
    before: str
    after: str


def _json(value: Any) -> str:
    if value is None or value == {}:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def log_row(
    *,
    when: datetime,
    who: str,
    action: str,
    target_type: str,
    target_id: int | None,
    reason: str,
    details: Mapping[str, Any],
) -> LogRow:
    """A moderation event's row: ``before`` and ``after`` from its details (see the module notes)."""
    rest = dict(details)
    before = rest.pop("before", None)
    if before is None:
        before = rest.pop("removed", None)
    after = rest.pop("after", None)
    if after is None:
        after, rest = rest, {}
    elif rest:  # anything else recorded beside before/after stays visible
        after = {"after": after, **rest}
    target = f"{target_type} {target_id}" if target_id is not None else target_type
    return LogRow(when.isoformat(), who, action, target, reason, _json(before), _json(after))


def moderation_csv(rows: Iterable[LogRow]) -> str:
    """The rows as CSV text with a header (:data:`COLUMNS`), formula-looking cells defused."""
    return csv_text(COLUMNS, (astuple(row) for row in rows))
