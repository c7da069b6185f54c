"""Dedup candidates from embeddings (DOMAIN.md §5, step 1 of :mod:`interviews.dedup`). Pure numpy, no I/O.

:func:`candidate_groups` links new cards whose cosine distance is at most ``max_distance`` (0.1, MAI's
threshold) and returns the connected components, so near-duplicates are decided together in one batch
(:func:`pack_batches`). :func:`nearest_canonicals` lists, per new card, the closest existing canonical
values: the only ones the partition call is shown. :func:`embedding_text` is the text that gets embedded.

Bad input (vectors and ids that do not match, duplicate ids, a batch size below 1) is :class:`DedupError`.

>>> groups = candidate_groups([[1, 0], [0.999, 0.04], [0, 1]], [10, 11, 12])
>>> groups
[[10, 11], [12]]
>>> pack_batches(groups, 2)
[[10, 11], [12]]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

import numpy as np

from errors import StudioError

#: MAI's candidate threshold: cards within this cosine distance are decided together.
MAX_DISTANCE = 0.1
_ROW_BLOCK = 1024  # rows of the distance matrix computed at once (bounds memory to 1024 x n floats)

Id = TypeVar("Id", bound=Hashable)


class DedupError(StudioError, ValueError):
    """The input to deduplication is unusable (duplicate ids, a batch larger than a partition call takes)."""


def embedding_text(title: str, description: str, policies: Sequence[str]) -> str:
    """The text of a card or value that gets embedded.

    >>> embedding_text("Faith in People", "Trusting people.", ["CHANGES in people", "INSIGHTS"])
    'Faith in People. Trusting people.\\nCHANGES in people\\nINSIGHTS'
    """
    head = f"{title.strip()}. {description.strip()}".strip()
    return "\n".join([head, *(p.strip() for p in policies)])


def _unit_rows(vectors: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Rows scaled to length 1 (float64); an all-zero row stays zero (distance 1 to everything)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2:
        raise DedupError(f"expected a 2-d array of vectors, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.zeros_like(matrix)
    np.divide(matrix, norms, out=unit, where=norms > 0)
    return unit


def cosine_distances(a: Any, b: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``1 - cosine similarity`` of every row of ``a`` with every row of ``b``: shape ``(len(a), len(b))``.

    >>> cosine_distances([[1, 0], [0, 2]], [[3, 0]]).round(6).tolist()
    [[0.0], [1.0]]
    """
    return 1.0 - _unit_rows(a) @ _unit_rows(b).T


def candidate_groups(
    vectors: Any, ids: Sequence[Id], *, max_distance: float = MAX_DISTANCE
) -> list[list[Id]]:
    """Partition ``ids`` into groups linked by cosine distance ``<= max_distance`` (connected components).

    Every id lands in exactly one group (singletons included). Groups keep the input order inside, and are
    ordered by their first member's position, so the result is deterministic.

    Cost: the ``n x n`` distances are computed in blocks of 1024 rows (O(n²) time, O(1024·n) memory), then
    components are found by label propagation with pointer jumping in numpy. A few thousand cards take well
    under a second; beyond that, use an approximate index (not needed at a deliberation's scale).

    >>> candidate_groups([[1, 0], [0, 1], [1, 0.01], [0.01, 1], [-1, 0]], "abcde", max_distance=0.01)
    [['a', 'c'], ['b', 'd'], ['e']]
    """
    ids = list(ids)
    unit = _unit_rows(vectors)
    if len(unit) != len(ids):
        raise DedupError(f"{len(unit)} vectors for {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise DedupError("candidate_groups got duplicate ids")
    n = len(ids)
    lefts, rights = [], []
    for start in range(0, n, _ROW_BLOCK):
        block = 1.0 - unit[start : start + _ROW_BLOCK] @ unit.T
        rows, cols = np.nonzero(block <= max_distance)
        rows += start
        upper = rows < cols
        lefts.append(rows[upper])
        rights.append(cols[upper])
    a = np.concatenate(lefts) if lefts else np.empty(0, dtype=np.int64)
    b = np.concatenate(rights) if rights else np.empty(0, dtype=np.int64)
    labels = _components(n, a, b)
    groups: dict[int, list[Id]] = {}
    for position, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(ids[position])
    return sorted(groups.values(), key=lambda g: ids.index(g[0]))


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (the smallest member position) of each of ``n`` nodes, for edges ``a[i]–b[i]``."""
    labels = np.arange(n)
    while True:
        before = labels
        low = np.minimum(labels[a], labels[b])
        labels = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        labels = labels[labels]
        if np.array_equal(labels, before):
            return labels


def candidate_groups_reference(
    vectors: Any, ids: Sequence[Id], *, max_distance: float = MAX_DISTANCE
) -> list[list[Id]]:
    """The slow, obvious version of :func:`candidate_groups` (pairwise loop + breadth-first search); tests
    compare the two.

    >>> candidate_groups_reference([[1, 0], [0, 1], [1, 0.01]], "abc", max_distance=0.01)
    [['a', 'c'], ['b']]
    """
    ids = list(ids)
    unit = _unit_rows(vectors)
    n = len(ids)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if 1.0 - float(unit[i] @ unit[j]) <= max_distance:
                neighbours[i].append(j)
                neighbours[j].append(i)
    seen: set[int] = set()
    groups = []
    for start in range(n):
        if start in seen:
            continue
        component, frontier = {start}, [start]
        while frontier:
            node = frontier.pop()
            for other in neighbours[node]:
                if other not in component:
                    component.add(other)
                    frontier.append(other)
        seen |= component
        groups.append([ids[i] for i in sorted(component)])
    return groups


def nearest_canonicals(
    card_vectors: Any,
    canonical_vectors: Any,
    canonical_ids: Sequence[Id],
    *,
    k: int = 5,
    max_distance: float = 0.5,
) -> list[list[Id]]:
    """For each card, the ids of the ``k`` closest canonical values within ``max_distance``, closest first
    (ties broken by the canonical's position). The model only sees these candidates, so ``max_distance`` is
    deliberately looser than :data:`MAX_DISTANCE`: embeddings propose, the model decides.

    >>> nearest_canonicals([[1, 0], [0, 1]], [[0, 1], [1, 0.1], [-1, 0]], ["x", "y", "z"], k=2)
    [['y'], ['x']]
    """
    canonical_ids = list(canonical_ids)
    cards = _unit_rows(card_vectors)
    if len(canonical_ids) == 0:
        return [[] for _ in range(len(cards))]
    distances = 1.0 - cards @ _unit_rows(canonical_vectors).T
    result = []
    for row in distances:
        order = np.argsort(row, kind="stable")[:k]
        result.append([canonical_ids[j] for j in order.tolist() if row[j] <= max_distance])
    return result


def pack_batches(groups: Sequence[Sequence[Id]], batch_size: int) -> list[list[Id]]:
    """Pack candidate groups, in order, into batches of at most ``batch_size`` ids without splitting a group,
    except a group larger than a batch, which is cut into consecutive full batches.

    >>> pack_batches([[1, 2], [3], [4, 5, 6, 7, 8], [9]], 3)
    [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    """
    if batch_size < 1:
        raise DedupError("batch_size must be at least 1")
    batches: list[list[Id]] = []
    current: list[Id] = []
    for group in groups:
        if len(current) + len(group) > batch_size and current and len(group) <= batch_size:
            batches.append(current)
            current = []
        for item in group:
            if len(current) == batch_size:
                batches.append(current)
                current = []
            current.append(item)
    if current:
        batches.append(current)
    return batches
