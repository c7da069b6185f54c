"""Rankings: winner, runner-ups and support label of the whole graph and of every context.

The winner of a context is the top value of the graph built from that context's judgements only (trimmed
with the same thresholds). MAI's report labelled a ranking "broadly supported" when
``z = (winner - mean) / sd > 2.5`` and ``winner / runner-up > 2``, "some support" when ``z > 1.5`` or the
ratio ``> 1.5``, else "contested" (population standard deviation over the graph's values). A graph with
fewer than two values is "insufficient data". Ties in score (equal to 12 decimals) go to the value listed
first.

Examples
--------
>>> from graph.aggregate import aggregate
>>> from graph.model import Judgement, Thresholds
>>> rows = [Judgement(p, "a", "b", "When asked", "upgrade") for p in range(3)]
>>> rows += [Judgement(p, "c", "b", "When asked", "upgrade") for p in range(3)]
>>> rankings = rank_contexts(aggregate(rows).by_context, Thresholds())
>>> r = rankings["When asked"]
>>> r.winner, r.runner_ups, r.support.value, round(r.ratio, 3)
('b', ('a', 'c'), 'some support', 2.7)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from graph.keys import group_rows
from graph.model import Thresholds
from graph.pagerank import pagerank, pagerank_arrays
from graph.pairs import PairCounts
from graph.rank_params import DEFAULT_RANK, Variant
from graph.support import SUPPORTS, Support, SupportRule, z_and_ratio

#: Scores equal to this many decimals are a tie, broken by value order (not by rounding noise).
TIE_DECIMALS = 12


@dataclass(frozen=True)
class Ranking:
    """Scores (best first), winner, runner-ups and support label of one graph.

    ``context`` is None for the whole graph. The parameters that produced the ranking travel with it.
    """

    context: Hashable | None
    scores: dict[Hashable, float]
    winner: Hashable | None
    runner_ups: tuple[Hashable, ...]
    z: float
    ratio: float
    support: Support
    n_edges: int
    thresholds: Thresholds | None
    variant: str = DEFAULT_RANK.variant
    alpha: float = DEFAULT_RANK.alpha
    rule: SupportRule = field(default_factory=SupportRule)


@dataclass(frozen=True, eq=False)
class BlockRanks:
    """Array form of many rankings: nodes sorted by (group, score descending, value code)."""

    group: np.ndarray
    value: np.ndarray
    score: np.ndarray
    ptr: np.ndarray
    n_edges: np.ndarray
    z: np.ndarray
    ratio: np.ndarray
    support: np.ndarray

    def winners(self) -> np.ndarray:
        """Value code of each group's winner (-1 for a group without values)."""
        sizes = np.diff(self.ptr)
        first = np.minimum(self.ptr[:-1], max(len(self.value) - 1, 0))
        return np.where(sizes > 0, self.value[first] if len(self.value) else -1, -1)


def rank_blocks(
    group: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    n_groups: int,
    *,
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
    rule: SupportRule | None = None,
) -> BlockRanks:
    """Rank ``n_groups`` independent graphs given as one edge list (``group`` of each edge) at once."""
    rule = SupportRule() if rule is None else rule
    group = np.asarray(group, dtype=np.int64)
    m = len(group)
    node_of, first, n_nodes = group_rows([np.concatenate([group, group]), np.concatenate([source, target])])
    node_group = np.concatenate([group, group])[first]
    node_value = np.concatenate([source, target])[first]
    score = pagerank_arrays(
        node_of[:m],
        node_of[m:],
        weight,
        n_nodes,
        block=node_group,
        alpha=alpha,
        variant=variant,
        max_iter=max_iter,
        tol=tol,
    )
    order = np.lexsort((node_value, -np.round(score, TIE_DECIMALS), node_group))
    sizes = np.bincount(node_group, minlength=n_groups)
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    sorted_score = score[order]
    mean = np.divide(
        np.bincount(node_group, weights=score, minlength=n_groups),
        sizes,
        out=np.full(n_groups, np.nan),
        where=sizes > 0,
    )
    spread = np.bincount(node_group, weights=(score - mean[node_group]) ** 2, minlength=n_groups)
    sd = np.sqrt(np.divide(spread, sizes, out=np.full(n_groups, np.nan), where=sizes > 0))
    top = np.full(n_groups, np.nan)
    second = np.full(n_groups, np.nan)
    top[sizes > 0] = sorted_score[ptr[:-1][sizes > 0]]
    second[sizes > 1] = sorted_score[ptr[:-1][sizes > 1] + 1]
    z, ratio = z_and_ratio(top, second, mean, sd)
    return BlockRanks(
        group=node_group[order],
        value=node_value[order],
        score=sorted_score,
        ptr=ptr,
        n_edges=np.bincount(group, minlength=n_groups),
        z=z,
        ratio=ratio,
        support=rule.codes(z, ratio, sizes),
    )


def _ranking(
    ranks: BlockRanks,
    g: int,
    labels: Sequence[Hashable],
    context: Hashable | None,
    top: int,
    thresholds: Thresholds | None,
    variant: str,
    alpha: float,
    rule: SupportRule,
) -> Ranking:
    start, stop = int(ranks.ptr[g]), int(ranks.ptr[g + 1])
    names = [labels[v] for v in ranks.value[start:stop].tolist()]
    return Ranking(
        context=context,
        scores=dict(zip(names, ranks.score[start:stop].tolist(), strict=True)),
        winner=names[0] if names else None,
        runner_ups=tuple(names[1 : 1 + top]),
        z=float(ranks.z[g]),
        ratio=float(ranks.ratio[g]),
        support=SUPPORTS[int(ranks.support[g])],
        n_edges=int(ranks.n_edges[g]),
        thresholds=thresholds,
        variant=variant,
        alpha=alpha,
        rule=rule,
    )


def rank_contexts(
    by_context: PairCounts,
    thresholds: Thresholds | None = None,
    *,
    weights: np.ndarray | None = None,
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    top: int = DEFAULT_RANK.top,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
    rule: SupportRule | None = None,
) -> dict[Hashable, Ranking]:
    """A :class:`Ranking` for every context, each from that context's trimmed graph alone.

    Parameters
    ----------
    by_context : PairCounts
        ``Aggregation.by_context`` (one row per context and ordered pair).
    thresholds : Thresholds, optional
        Trimming rule (default: the table's own, else MAI's defaults).
    weights : ndarray, optional
        Edge weights aligned with ``by_context`` rows (default: wiserLikelihood), e.g. bridging scores.
    alpha, variant, max_iter, tol : see :func:`graph.pagerank.pagerank_arrays`
    top : int
        How many runner-ups to list.
    """
    thresholds = thresholds or by_context.thresholds or Thresholds()
    rule = SupportRule() if rule is None else rule
    keep = thresholds.mask(by_context.wiser, by_context.wiser_likelihood, by_context.entropy)
    w = by_context.wiser_likelihood if weights is None else np.asarray(weights, dtype=np.float64)
    ranks = rank_blocks(
        by_context.row_context[keep],
        by_context.source[keep],
        by_context.target[keep],
        w[keep],
        len(by_context.contexts),
        alpha=alpha,
        variant=variant,
        max_iter=max_iter,
        tol=tol,
        rule=rule,
    )
    return {
        c: _ranking(ranks, g, by_context.values, c, top, thresholds, variant, alpha, rule)
        for g, c in enumerate(by_context.contexts)
    }


def rank_pairs(
    pairs: PairCounts,
    thresholds: Thresholds | None = None,
    *,
    weights: np.ndarray | None = None,
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    top: int = DEFAULT_RANK.top,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
    rule: SupportRule | None = None,
) -> Ranking:
    """The :class:`Ranking` of the whole (pooled) graph of a pair table, trimmed by ``thresholds``."""
    thresholds = thresholds or pairs.thresholds or Thresholds()
    rule = SupportRule() if rule is None else rule
    keep = thresholds.mask(pairs.wiser, pairs.wiser_likelihood, pairs.entropy)
    w = pairs.wiser_likelihood if weights is None else np.asarray(weights, dtype=np.float64)
    ranks = rank_blocks(
        np.zeros(int(keep.sum()), dtype=np.int64),
        pairs.source[keep],
        pairs.target[keep],
        w[keep],
        1,
        alpha=alpha,
        variant=variant,
        max_iter=max_iter,
        tol=tol,
        rule=rule,
    )
    return _ranking(ranks, 0, pairs.values, None, top, thresholds, variant, alpha, rule)


def rank_graph(
    G: nx.DiGraph[Hashable],
    *,
    weight: str | None = "wiserLikelihood",
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    top: int = DEFAULT_RANK.top,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
    rule: SupportRule | None = None,
) -> Ranking:
    """The :class:`Ranking` of a moral graph (thresholds read from ``G.graph["thresholds"]`` if present).

    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "b"), ("c", "b")])
    >>> r = rank_graph(G, weight=None)
    >>> r.winner, r.runner_ups, r.support.value
    ('b', ('a', 'c'), 'some support')
    """
    rule = SupportRule() if rule is None else rule
    scores = pagerank(G, weight=weight, alpha=alpha, variant=variant, max_iter=max_iter, tol=tol)
    position = {node: i for i, node in enumerate(G)}
    names = sorted(scores, key=lambda v: (-round(scores[v], TIE_DECIMALS), position[v]))
    support, z, ratio = rule.label(list(scores.values()))
    raw = G.graph.get("thresholds")
    return Ranking(
        context=None,
        scores={v: scores[v] for v in names},
        winner=names[0] if names else None,
        runner_ups=tuple(names[1 : 1 + top]),
        z=z,
        ratio=ratio,
        support=support,
        n_edges=G.number_of_edges(),
        thresholds=Thresholds.from_dict(raw) if isinstance(raw, dict) else None,
        variant=variant,
        alpha=alpha,
        rule=rule,
    )
