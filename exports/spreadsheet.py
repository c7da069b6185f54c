"""CSV text for spreadsheets, pure (no I/O): the one rule every export of the console follows.

A cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) gets a leading ``'``: participants' words are data, never code (OWASP's advice on CSV
injection).

>>> print(csv_text(("a", "b"), [["=1+1", "fine"]]), end="")
a,b
'=1+1,fine
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula.

    >>> safe_cell("-2"), safe_cell("2")
    ("'-2", '2')
    """
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The rows as CSV text under a header of ``columns``, every cell :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
