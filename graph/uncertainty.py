"""How sure are the rankings? A seeded bootstrap over participants.

Each replicate draws as many participants as took part, with replacement, counts every judgement of a
drawn participant once per draw, rebuilds every context's trimmed graph and reranks it. For each context
this gives each value's score and rank interval (over the replicates in which the value is in the
context's graph; ``presence`` says in how many) and the probability that the winner stays the winner.

Examples
--------
>>> from graph.encode import encode_judgements
>>> from graph.model import Judgement, Thresholds
>>> rows = [Judgement(p, "a", "b", "When asked", "upgrade") for p in range(6)]
>>> result = bootstrap_rankings(encode_judgements(rows), Thresholds(), n_boot=50, seed=1)
>>> c = result.contexts["When asked"]
>>> c.winner, c.winner_stability, c.values["b"].rank_high
('b', 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from graph.aggregate import AggregationPlan
from graph.errors import InvalidInputError
from graph.keys import group_rows
from graph.model import JudgementArrays, Thresholds
from graph.rank import rank_blocks
from graph.rank_params import DEFAULT_RANK, Variant


@dataclass(frozen=True)
class ValueInterval:
    """One value's bootstrap interval in one context (ranks count from 1 = winner)."""

    value: Hashable
    score: float | None
    rank: int | None
    score_low: float
    score_high: float
    rank_low: float
    rank_high: float
    presence: float


@dataclass(frozen=True)
class ContextUncertainty:
    """Bootstrap summary of one context."""

    context: Hashable
    winner: Hashable | None
    winner_stability: float
    winner_counts: dict[Hashable, int]
    values: dict[Hashable, ValueInterval]


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Per-context bootstrap summaries and the parameters that produced them."""

    contexts: dict[Hashable, ContextUncertainty]
    n_boot: int
    seed: int
    level: float
    thresholds: Thresholds
    variant: str
    alpha: float


def _quantiles(key: np.ndarray, x: np.ndarray, n_keys: int, q: float) -> np.ndarray:
    """Linear-interpolated ``q`` quantile of ``x`` within each key (NaN for keys without entries)."""
    order = np.lexsort((x, key))
    sizes = np.bincount(key, minlength=n_keys)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = q * np.maximum(sizes - 1, 0)
    low, high = np.floor(position).astype(np.int64), np.ceil(position).astype(np.int64)
    xs = x[order]
    out = np.full(n_keys, np.nan)
    has = sizes > 0
    lo_x, hi_x = xs[(start + low)[has]], xs[(start + high)[has]]
    out[has] = lo_x + (hi_x - lo_x) * (position - low)[has]
    return out


def bootstrap_rankings(
    arrays: JudgementArrays,
    thresholds: Thresholds | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.9,
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
) -> BootstrapResult:
    """Bootstrap the per-context rankings over participants.

    Parameters
    ----------
    arrays : JudgementArrays
    thresholds : Thresholds, optional
    n_boot : int
        Number of replicates.
    seed : int
        Seed of the resampling (same seed, same result).
    level : float
        Coverage of the intervals (0.9: from the 5th to the 95th percentile).
    alpha, variant, max_iter, tol
        PageRank settings, as in :func:`graph.rank.rank_contexts`.
    """
    if n_boot < 1 or not 0.0 < level < 1.0:
        raise InvalidInputError("n_boot must be >= 1 and level must lie in (0, 1)")
    thresholds = Thresholds() if thresholds is None else thresholds
    plan = AggregationPlan(arrays)
    n_contexts, n_values = len(arrays.contexts), len(arrays.values)
    people, _, n_people = group_rows([plan.participant]) if len(plan.rows) else (plan.rows, plan.rows, 0)

    def run(weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        table = plan.by_context(plan.counts(weights))
        keep = thresholds.mask(table.wiser, table.wiser_likelihood, table.entropy)
        ranks = rank_blocks(
            table.row_context[keep],
            table.source[keep],
            table.target[keep],
            table.wiser_likelihood[keep],
            n_contexts,
            alpha=alpha,
            variant=variant,
            max_iter=max_iter,
            tol=tol,
        )
        position = np.arange(len(ranks.group)) - ranks.ptr[ranks.group] + 1
        return ranks.group, ranks.value, ranks.score, position, ranks.winners()

    rng = np.random.default_rng(seed)
    base_group, base_value, base_score, base_rank, base_winner = run(None)
    keys, scores, positions, winners = [], [], [], []
    for _ in range(n_boot):
        draws = (
            np.bincount(rng.integers(0, n_people, size=n_people), minlength=n_people) if n_people else people
        )
        group, value, score, position, winner = run(draws[people].astype(np.float64))
        keys.append(group * n_values + value)
        scores.append(score)
        positions.append(position.astype(np.float64))
        winners.append(winner)
    base_key = base_group * n_values + base_value
    key = np.concatenate(keys)
    universe = np.unique(np.concatenate([key, base_key]))  # every (context, value) ever ranked
    slot, base_slot = np.searchsorted(universe, key), np.searchsorted(universe, base_key)
    score, position, winner = np.concatenate(scores), np.concatenate(positions), np.stack(winners)
    tail = (1.0 - level) / 2.0
    columns = [
        _quantiles(slot, x, len(universe), q)
        for x, q in [(score, tail), (score, 1 - tail), (position, tail), (position, 1 - tail)]
    ]
    presence = np.bincount(slot, minlength=len(universe)) / n_boot
    original_score = np.full(len(universe), np.nan)
    original_score[base_slot] = base_score
    original_rank = np.zeros(len(universe), dtype=np.int64)
    original_rank[base_slot] = base_rank

    intervals: list[dict[Hashable, ValueInterval]] = [{} for _ in range(n_contexts)]
    for i, k in enumerate(universe.tolist()):
        c, v = divmod(k, n_values)
        ranked = original_rank[i] > 0
        intervals[c][arrays.values[v]] = ValueInterval(
            value=arrays.values[v],
            score=float(original_score[i]) if ranked else None,
            rank=int(original_rank[i]) if ranked else None,
            score_low=float(columns[0][i]),
            score_high=float(columns[1][i]),
            rank_low=float(columns[2][i]),
            rank_high=float(columns[3][i]),
            presence=float(presence[i]),
        )
    contexts = {}
    for c, label in enumerate(arrays.contexts):
        won = winner[:, c]
        labels, counts = np.unique(won[won >= 0], return_counts=True)
        tally = {arrays.values[int(v)]: int(n) for v, n in zip(labels.tolist(), counts.tolist(), strict=True)}
        original = int(base_winner[c])
        contexts[label] = ContextUncertainty(
            context=label,
            winner=arrays.values[original] if original >= 0 else None,
            winner_stability=float(np.mean(won == original)) if original >= 0 else 0.0,
            winner_counts=dict(sorted(tally.items(), key=lambda item: -item[1])),
            values=intervals[c],
        )
    return BootstrapResult(contexts, n_boot, seed, level, thresholds, variant, alpha)
