"""Opinion clusters: group participants by how they judged, for bridging when no demographic is at hand.

Each participant becomes a row of a sparse participant x (unordered value pair) matrix: +1 for a judgement
that the second value of the pair (in code order) is wiser, -1 for the first; an upgrade counts 1, a
no_upgrade -1 against the story's direction, not_sure 0. The rows are projected on their leading singular
vectors (as Polis projects votes with PCA) and grouped by seeded k-means. Same input and seed, same
clusters; cluster ids follow the order in which participants are listed.

Examples
--------
>>> import numpy as np
>>> kmeans(np.array([[0.0], [0.1], [5.0], [5.2]]), 2, seed=0).tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from graph.aggregate import AggregationPlan
from graph.errors import InvalidInputError
from graph.keys import group_rows
from graph.model import Answer, JudgementArrays


def _plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centers = [points[int(rng.integers(len(points)))]]
    for _ in range(1, k):
        distance = np.min([((points - c) ** 2).sum(axis=1) for c in centers], axis=0)
        total = distance.sum()
        pick = (
            int(rng.integers(len(points))) if total == 0 else int(rng.choice(len(points), p=distance / total))
        )
        centers.append(points[pick])
    return np.array(centers)


def kmeans(points: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, max_iter: int = 100) -> np.ndarray:
    """Cluster label of each row of ``points`` (k-means++ starts, Lloyd iterations, best of ``n_init``).

    Labels are renumbered by first appearance, so they do not depend on the random starts' order.
    """
    points = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= len(points):
        raise InvalidInputError(f"k must lie in [1, {len(points)}], got {k}")
    rng = np.random.default_rng(seed)
    best_labels, best_inertia = np.zeros(len(points), dtype=np.int64), np.inf
    for _ in range(n_init):
        centers = _plus_plus(points, k, rng)
        labels = np.zeros(len(points), dtype=np.int64)
        for _ in range(max_iter):
            distance = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
            labels = distance.argmin(axis=1)
            new = centers.copy()
            for c in range(k):
                members = points[labels == c]
                # an emptied cluster restarts at the point farthest from its center
                new[c] = members.mean(axis=0) if len(members) else points[int(distance.min(axis=1).argmax())]
            if np.allclose(new, centers):
                break
            centers = new
        inertia = float(((points - centers[labels]) ** 2).sum())
        if inertia < best_inertia - 1e-12:
            best_labels, best_inertia = labels, inertia
    _, first, _ = group_rows([best_labels])
    rename = np.empty(k, dtype=np.int64)
    rename[best_labels[np.sort(first)]] = np.arange(len(first))
    return rename[best_labels]


def opinion_clusters(
    arrays: JudgementArrays,
    k: int = 2,
    *,
    seed: int = 0,
    dims: int = 3,
    min_judgements: int = 1,
) -> dict[Hashable, int]:
    """Participant label -> opinion cluster (0 .. k-1) from their judgements.

    Parameters
    ----------
    arrays : JudgementArrays
    k : int
        Number of clusters.
    seed : int
        Seeds the starts (and the sparse SVD): the result is reproducible.
    dims : int
        Singular vectors kept for the projection.
    min_judgements : int
        Participants with fewer usable judgements are left out of the result.

    Examples
    --------
    >>> from graph.encode import encode_judgements
    >>> from graph.model import Judgement
    >>> rows = [Judgement(p, "a", "b", "c", "upgrade" if p < 3 else "no_upgrade") for p in range(6)]
    >>> rows += [Judgement(p, "c", "d", "c", "no_upgrade" if p < 3 else "upgrade") for p in range(6)]
    >>> opinion_clusters(encode_judgements(rows), 2)
    {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    """
    plan = AggregationPlan(arrays)
    source, target = arrays.source[plan.rows], arrays.target[plan.rows]
    direction = np.where(source < target, 1.0, -1.0)
    vote = np.select([plan.answer == Answer.UPGRADE, plan.answer == Answer.NO_UPGRADE], [1.0, -1.0], 0.0)
    pair, _, n_pairs = group_rows([np.minimum(source, target), np.maximum(source, target)])
    people, _, n_people = group_rows([plan.participant])
    counts = np.bincount(people, minlength=n_people)
    matrix = sp.csr_array((direction * vote, (people, pair)), shape=(n_people, n_pairs))
    chosen = np.flatnonzero(counts >= min_judgements)
    if len(chosen) < k:
        raise InvalidInputError(f"only {len(chosen)} participants have >= {min_judgements} judgements; k={k}")
    rows = matrix[chosen]
    rank = min(dims, min(rows.shape) - 1)
    if min(rows.shape) <= 50 or rank < 1:
        u, s, _ = np.linalg.svd(rows.toarray(), full_matrices=False)
        embedding = u[:, :dims] * s[:dims]
    else:
        v0 = np.random.default_rng(seed).standard_normal(min(rows.shape))
        u, s, _ = spla.svds(rows, k=rank, v0=v0)
        embedding = u * s
    labels = kmeans(embedding, k, seed=seed)
    participant_codes = np.unique(plan.participant)[chosen]
    return {
        arrays.participants[p]: int(c)
        for p, c in zip(participant_codes.tolist(), labels.tolist(), strict=True)
    }
