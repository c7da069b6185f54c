"""Likely missed merges: the closest pairs of canonical values by embedding (DOMAIN.md §5). Pure numpy.

Dedup decides batch by batch, so two values made in different batches (or a split that went too far) may
still be one value. :func:`closest_pairs` ranks every pair of distinct values by cosine similarity and
returns the ``top`` most similar, for a facilitator to review and merge by hand
(:func:`services.facilitator.values.merge`); it only proposes.

>>> closest_pairs([10, 11, 12], [[1, 0], [0.9, 0.1], [0, 1]], top=2)
[ClosePair(a=10, b=11, similarity=0.993884), ClosePair(a=11, b=12, similarity=0.110432)]
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from interviews.dedup_candidates import DedupError

Id = TypeVar("Id", bound=Hashable)

#: Rows of the similarity matrix computed at once (bounds memory to this many x n floats).
_ROW_BLOCK = 512
#: Digits the similarity keeps (so that ties, and the order they are broken in, do not hang on float noise).
DIGITS = 6


@dataclass(frozen=True)
class ClosePair(Generic[Id]):
    """Two values (``a`` before ``b`` in the order given) and their cosine similarity (1 = same direction)."""

    a: Id
    b: Id
    similarity: float


def closest_pairs(
    ids: Sequence[Id],
    vectors: Any,
    *,
    top: int = 10,
    min_similarity: float = -1.0,
    exclude: Collection[frozenset[Id]] = (),
) -> list[ClosePair[Id]]:
    """The ``top`` most similar pairs of distinct ids, most similar first.

    Parameters
    ----------
    ids : sequence of hashable
        The values, one per row of ``vectors``; each pair is given as ``(a, b)`` with ``a`` earlier here.
    vectors : array_like, shape (len(ids), d)
        Their embeddings (need not be unit length; an all-zero row is similar to nothing: 0).
    top : int
        How many pairs at most (at least 1).
    min_similarity : float
        Pairs below this similarity are left out.
    exclude : collection of frozenset
        Pairs a person already decided are different (e.g. a split), as ``frozenset({a, b})``.

    Returns
    -------
    list of ClosePair
        By similarity (rounded to :data:`DIGITS` digits), highest first; ties by the ids' order in ``ids``.

    Examples
    --------
    >>> closest_pairs(["x", "y", "z"], [[1, 0], [1, 0], [0, 1]], exclude=[frozenset({"x", "y"})])
    [ClosePair(a='x', b='z', similarity=0.0), ClosePair(a='y', b='z', similarity=0.0)]
    """
    ids = list(ids)
    if top < 1:
        raise DedupError(f"top must be at least 1 (not {top})")
    if len(set(ids)) != len(ids):
        raise DedupError("closest_pairs needs distinct ids")
    if len(ids) < 2:
        return []
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise DedupError(f"{len(ids)} ids need as many vectors (got an array of shape {matrix.shape})")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    excluded = {frozenset(p) for p in exclude}
    # Each block keeps at most top + len(excluded) of its best pairs: enough for the overall top even when
    # every excluded pair falls among them.
    keep = top + len(excluded)
    found: list[tuple[float, int, int]] = []
    n = len(ids)
    for start in range(0, n - 1, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n - 1)
        block = np.round(unit[start:stop] @ unit.T, DIGITS)
        later = np.arange(n)[None, :] > np.arange(start, stop)[:, None]  # each pair once: b after a
        rows, cols = np.nonzero(later & (block >= min_similarity))
        sims = block[rows, cols]
        rows = rows + start
        if len(sims) > keep:
            # the best ``keep`` by similarity, ties by position (lexsort: last key first)
            order = np.lexsort((cols, rows, -sims))[:keep]
            rows, cols, sims = rows[order], cols[order], sims[order]
        found.extend(zip(sims.tolist(), rows.tolist(), cols.tolist(), strict=True))
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    pairs: list[ClosePair[Id]] = []
    for similarity, i, j in found:
        if frozenset((ids[i], ids[j])) in excluded:
            continue
        pairs.append(ClosePair(ids[i], ids[j], float(similarity) + 0.0))  # + 0.0: no -0.0
        if len(pairs) == top:
            break
    return pairs
