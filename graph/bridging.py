"""Bridging: how much groups of participants (parties, opinion clusters) agree on each edge and value.

For an edge A→B ("B is wiser than A") a group *agrees* ``markedWiser`` times out of the ``total``
answers that decide the direction (``markedWiser + markedNotWiser + markedUnsure + markedLessWise``, the
denominator of wiserLikelihood), counting only that group's judgements. Cross-group agreement is the
geometric mean over groups of ``(agree + 1) / (seen + 2)`` (Polis' group-aware consensus, as a geometric
mean so that it does not shrink as groups are added) and, as Remesh does, the minimum over groups. A
value's agreement sums the counts of every pair that names it as the wiser one.

The bridged ranking keeps the plain graph's edges (trimmed on all judgements) and weighs them by
cross-group agreement instead of wiserLikelihood; plain and bridged rankings come back side by side.

Examples
--------
>>> import numpy as np
>>> consensus(np.array([[3, 0]]), np.array([[3, 3]]))
(array([0.4]), array([0.2]))
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from graph.aggregate import AggregationPlan
from graph.errors import InvalidInputError
from graph.model import JudgementArrays, Thresholds, is_missing
from graph.rank import Ranking, rank_contexts, rank_pairs
from graph.rank_params import DEFAULT_RANK, Variant


def consensus(agree: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geometric mean and minimum over groups (last axis) of ``(agree + 1) / (seen + 2)``."""
    ratio = (np.asarray(agree, dtype=np.float64) + 1.0) / (np.asarray(seen, dtype=np.float64) + 2.0)
    return np.exp(np.log(ratio).mean(axis=-1)), ratio.min(axis=-1)


def _pool(plan: AggregationPlan, per_row: np.ndarray) -> np.ndarray:
    """Sum per-(context, pair) columns over contexts, into the pooled pair order."""
    columns = [np.bincount(plan.pair_of, per_row[:, g], plan.n_pairs) for g in range(per_row.shape[1])]
    return np.rint(np.stack(columns, axis=-1)).astype(np.int64)


@dataclass(frozen=True)
class Agreement:
    """Per-group agreement with one edge (``source → target``) or one value (``target`` only)."""

    source: Hashable | None
    target: Hashable
    agree: tuple[int, ...]
    seen: tuple[int, ...]
    consensus: float
    minimum: float


@dataclass(frozen=True, eq=False)
class BridgingResult:
    """Cross-group agreement and the plain and bridged rankings, side by side."""

    groups: tuple[Hashable, ...]
    thresholds: Thresholds
    weight: str
    edges: list[Agreement]
    values: dict[Hashable, Agreement]
    plain: Ranking
    bridged: Ranking
    plain_by_context: dict[Hashable, Ranking]
    bridged_by_context: dict[Hashable, Ranking]
    ungrouped: int


def bridging(
    arrays: JudgementArrays,
    groups: Mapping[Any, Any],
    thresholds: Thresholds | None = None,
    *,
    weight: Literal["consensus", "minimum"] = "consensus",
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    top: int = DEFAULT_RANK.top,
) -> BridgingResult:
    """Cross-group agreement per edge and per value, and plain vs bridged rankings.

    Parameters
    ----------
    arrays : JudgementArrays
    groups : mapping
        Participant label -> group label (e.g. party, or :func:`graph.clusters.opinion_clusters`).
        Judgements of participants without a group (or with a None/NaN group) still build the graph but
        do not count towards agreement; ``ungrouped`` says how many.
    thresholds : Thresholds, optional
    weight : {"consensus", "minimum"}
        Which agreement weighs the bridged ranking.

    Examples
    --------
    >>> from graph.encode import encode_judgements
    >>> from graph.model import Judgement
    >>> rows = [Judgement(p, "a", "b", "c", "upgrade") for p in range(4)]
    >>> rows += [Judgement(p, "c", "b", "c", "upgrade" if p < 2 else "no_upgrade") for p in range(4)]
    >>> result = bridging(encode_judgements(rows), {0: "x", 1: "x", 2: "y", 3: "y"}, Thresholds(min_wiser=1))
    >>> [(e.source, e.target, e.agree, round(e.minimum, 2)) for e in result.edges]
    [('a', 'b', (2, 2), 0.75), ('c', 'b', (2, 0), 0.25)]
    >>> result.plain.winner, result.bridged.winner, result.values["b"].seen
    ('b', 'b', (4, 4))
    """
    if weight not in ("consensus", "minimum"):
        raise InvalidInputError(f"weight must be 'consensus' or 'minimum', got {weight!r}")
    thresholds = Thresholds() if thresholds is None else thresholds
    plan = AggregationPlan(arrays)
    group_labels = tuple(dict.fromkeys(g for g in groups.values() if not is_missing(g)))
    if not group_labels:
        raise InvalidInputError("bridging needs at least one group")
    group_code = {label: i for i, label in enumerate(group_labels)}
    of_participant = np.array(
        [
            group_code.get(groups.get(p), -1) if not is_missing(groups.get(p)) else -1
            for p in arrays.participants
        ],
        dtype=np.int64,
    )
    row_group = of_participant[plan.participant] if len(plan.participant) else np.empty(0, np.int64)
    per_group = [plan.counts((row_group == g).astype(np.float64)) for g in range(len(group_labels))]
    agree = np.stack([c[0] for c in per_group], axis=-1)
    seen = np.stack([c[0] + c[1] + c[2] + c[3] for c in per_group], axis=-1)

    aggregation = plan.aggregate()
    order = plan.by_context_order
    ctx_cons, ctx_min = consensus(agree[order], seen[order])
    pooled_agree, pooled_seen = _pool(plan, agree), _pool(plan, seen)
    pair_cons, pair_min = consensus(pooled_agree, pooled_seen)

    pairs = aggregation.pairs
    keep = thresholds.mask(pairs.wiser, pairs.wiser_likelihood, pairs.entropy)
    labels = arrays.values
    edges = [
        Agreement(
            labels[int(pairs.source[i])],
            labels[int(pairs.target[i])],
            tuple(pooled_agree[i].tolist()),
            tuple(pooled_seen[i].tolist()),
            float(pair_cons[i]),
            float(pair_min[i]),
        )
        for i in np.flatnonzero(keep).tolist()
    ]
    value_agree = np.zeros((len(labels), len(group_labels)), dtype=np.int64)
    value_seen = np.zeros_like(value_agree)
    np.add.at(value_agree, pairs.target, pooled_agree)
    np.add.at(value_seen, pairs.target, pooled_seen)
    value_cons, value_min = consensus(value_agree, value_seen)
    named = np.unique(pairs.target)
    values = {
        labels[v]: Agreement(
            None,
            labels[v],
            tuple(value_agree[v].tolist()),
            tuple(value_seen[v].tolist()),
            float(value_cons[v]),
            float(value_min[v]),
        )
        for v in named.tolist()
    }
    pair_weight, ctx_weight = (pair_cons, ctx_cons) if weight == "consensus" else (pair_min, ctx_min)
    by_context = aggregation.by_context
    return BridgingResult(
        groups=group_labels,
        thresholds=thresholds,
        weight=weight,
        edges=edges,
        values=values,
        plain=rank_pairs(pairs, thresholds, alpha=alpha, variant=variant, top=top),
        bridged=rank_pairs(pairs, thresholds, weights=pair_weight, alpha=alpha, variant=variant, top=top),
        plain_by_context=rank_contexts(by_context, thresholds, alpha=alpha, variant=variant, top=top),
        bridged_by_context=rank_contexts(
            by_context, thresholds, weights=ctx_weight, alpha=alpha, variant=variant, top=top
        ),
        ungrouped=int(np.count_nonzero(row_group < 0)),
    )
