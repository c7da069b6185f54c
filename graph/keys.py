"""Grouping rows of non-negative integer columns: composite keys, stable sort orders, run boundaries.

The fast aggregation groups judgements by (context, value, value, participant) tuples. When the product of
the columns' ranges fits in 62 bits the tuple is packed into one int64 and sorted once; otherwise a
(slower) ``np.lexsort`` gives the same stable order.

Examples
--------
>>> import numpy as np
>>> inverse, first, n = group_rows([np.array([2, 1, 2, 1]), np.array([0, 5, 0, 4])])
>>> inverse.tolist(), first.tolist(), n
([2, 1, 2, 0], [3, 1, 0], 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_LIMIT = 1 << 62


def composite_key(columns: Sequence[np.ndarray]) -> np.ndarray | None:
    """Mixed-radix int64 key of the rows (first column most significant), or None if it would overflow."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for column in columns:
        radix = int(column.max()) + 1 if n else 1
        span *= radix
        if span >= _LIMIT:
            return None
        key = key * radix + column
    return key


def sorted_order(columns: Sequence[np.ndarray]) -> np.ndarray:
    """A stable permutation sorting the rows by ``columns`` (first column most significant)."""
    key = composite_key(columns)
    if key is not None:
        return np.argsort(key, kind="stable")
    return np.lexsort(tuple(reversed([np.asarray(c) for c in columns])))


def run_starts(columns: Sequence[np.ndarray], order: np.ndarray) -> np.ndarray:
    """``starts[i]`` is True where sorted row ``i`` differs from sorted row ``i - 1`` in any column."""
    starts = np.zeros(len(order), dtype=bool)
    if len(order):
        starts[0] = True
    for column in columns:
        ordered = column[order]
        starts[1:] |= ordered[1:] != ordered[:-1]
    return starts


def sorted_runs(columns: Sequence[np.ndarray], split: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable sort order of the rows and where runs start, for all columns and for the first ``split``.

    Returns ``(order, starts, outer_starts)``: ``starts`` marks sorted rows that differ from the previous one
    in any column, ``outer_starts`` those that differ in one of the first ``split`` columns.

    >>> import numpy as np
    >>> order, starts, outer = sorted_runs([np.array([1, 0, 1]), np.array([5, 6, 5])], 1)
    >>> order.tolist(), starts.tolist(), outer.tolist()
    ([1, 0, 2], [True, True, False], [True, True, False])
    """
    key = composite_key(columns)
    if key is None:
        order = sorted_order(columns)
        outer = run_starts(columns[:split], order)
        return order, outer | run_starts(columns[split:], order), outer
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    inner_span = 1
    for column in columns[split:]:
        inner_span *= int(column.max()) + 1 if len(column) else 1
    starts = np.ones(len(order), dtype=bool)
    outer = np.ones(len(order), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    outer_key = ordered // inner_span
    outer[1:] = outer_key[1:] != outer_key[:-1]
    return order, starts, outer


def group_rows(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """Group equal rows of integer columns.

    Returns
    -------
    inverse : ndarray of int64
        Group id of each row; ids follow the sorted order of the rows.
    first : ndarray of int64
        The first row (smallest index) of each group.
    n_groups : int
    """
    columns = [np.asarray(c, dtype=np.int64) for c in columns]
    order = sorted_order(columns)
    starts = run_starts(columns, order)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return inverse, order[starts], int(starts.sum())
