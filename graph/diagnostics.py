"""Diagnostics of a moral graph: cycles, contested pairs, under-judged values, and a diff of two graphs.

``contested_pairs`` and ``under_judged`` need the *untrimmed* judgement graph
(``to_digraph(aggregation.pairs, include_isolated=True)``): trimming removes exactly the evidence they
look at.

Examples
--------
>>> import networkx as nx
>>> cycles(nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c")]))
[['a', 'b']]
>>> round(kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]), 4)
0.6667
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy import stats

from graph.pagerank import pagerank
from graph.rank import TIE_DECIMALS
from graph.rank_params import DEFAULT_RANK, Variant


def cycles(G: nx.DiGraph[Hashable]) -> list[list[Hashable]]:
    """Strongly connected components with more than one value (each a knot of "wiser than" cycles).

    Components are listed largest first; values within one follow the graph's node order.
    """
    position = {node: i for i, node in enumerate(G)}
    knots = [sorted(c, key=position.__getitem__) for c in nx.strongly_connected_components(G) if len(c) > 1]
    return sorted(knots, key=lambda c: (-len(c), position[c[0]]))


@dataclass(frozen=True)
class ContestedPair:
    """Two values, each judged wiser than the other by several participants."""

    a: Hashable
    b: Hashable
    b_wiser: int
    a_wiser: int
    balance: float


def contested_pairs(
    G: nx.DiGraph[Hashable], *, wiser: str = "markedWiser", min_votes: int = 2, min_balance: float = 0.5
) -> list[ContestedPair]:
    """Pairs judged wiser in both directions with substantial support both ways.

    A pair {a, b} is contested when at least ``min_votes`` upgrades went each way and the smaller side is
    at least ``min_balance`` times the larger. Most contested (balance, then votes) first.

    >>> G = nx.DiGraph()
    >>> G.add_edge("a", "b", markedWiser=4)
    >>> G.add_edge("b", "a", markedWiser=3)
    >>> contested_pairs(G)
    [ContestedPair(a='a', b='b', b_wiser=4, a_wiser=3, balance=0.75)]
    """
    position = {node: i for i, node in enumerate(G)}
    found = []
    for u, v, votes in G.edges(data=wiser, default=0):
        if position[u] >= position[v] or not G.has_edge(v, u):
            continue  # each unordered pair once, from its earlier value
        back = G[v][u].get(wiser, 0)
        low, high = min(votes, back), max(votes, back)
        if low >= min_votes and low >= min_balance * high:
            found.append(ContestedPair(u, v, int(votes), int(back), low / high))
    return sorted(found, key=lambda p: (-p.balance, -(p.a_wiser + p.b_wiser)))


def under_judged(
    G: nx.DiGraph[Hashable], *, min_judgements: int = 5, impressions: str = "impressions"
) -> dict[Hashable, int]:
    """Values touched by fewer than ``min_judgements`` judgements (value -> how many), fewest first.

    Every judgement naming a value adds one impression to exactly one of its out-edges in the untrimmed
    graph, so the count is the sum of impressions over the value's out-edges.

    >>> G = nx.DiGraph()
    >>> G.add_edge("a", "b", impressions=2)
    >>> G.add_edge("b", "a", impressions=2)
    >>> G.add_node("c")
    >>> under_judged(G, min_judgements=3)
    {'c': 0, 'a': 2, 'b': 2}
    """
    counts = {node: int(sum(d for _, _, d in G.out_edges(node, data=impressions, default=0))) for node in G}
    low = [(node, n) for node, n in counts.items() if n < min_judgements]
    return dict(sorted(low, key=lambda item: item[1]))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists; NaN when fewer than two items or either list is constant."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(stats.kendalltau(a, b).statistic)


@dataclass(frozen=True)
class GraphDiff:
    """What changed between two moral graphs."""

    values_added: list[Hashable]
    values_removed: list[Hashable]
    edges_added: list[tuple[Hashable, Hashable]]
    edges_removed: list[tuple[Hashable, Hashable]]
    rank_changes: dict[Hashable, tuple[int, int]]
    kendall_tau: float
    winner: tuple[Hashable | None, Hashable | None]
    winners_changed: dict[Hashable, tuple[Hashable | None, Hashable | None]] = field(default_factory=dict)


def _context_winners(
    G: nx.DiGraph[Hashable], weight: str | None, alpha: float, variant: Variant
) -> dict[Hashable, Hashable]:
    contexts: dict[Hashable, list[tuple[Hashable, Hashable]]] = {}
    no_contexts: Sequence[Hashable] = ()
    for u, v, listed in G.edges(data="contexts", default=no_contexts):
        for c in listed or ():
            contexts.setdefault(c, []).append((u, v))
    winners: dict[Hashable, Hashable] = {}
    for c, edges in contexts.items():
        scores = pagerank(G.edge_subgraph(edges), weight=weight, alpha=alpha, variant=variant)
        winners[c] = max(scores, key=scores.__getitem__)
    return winners


def _positions(scores: Mapping[Hashable, float], order: Mapping[Hashable, int]) -> dict[Hashable, int]:
    ranked = sorted(scores, key=lambda v: (-round(scores[v], TIE_DECIMALS), order[v]))
    return {v: i + 1 for i, v in enumerate(ranked)}


def diff_graphs(
    old: nx.DiGraph[Hashable],
    new: nx.DiGraph[Hashable],
    *,
    weight: str | None = "wiserLikelihood",
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    old_winners: Mapping[Any, Any] | None = None,
    new_winners: Mapping[Any, Any] | None = None,
) -> GraphDiff:
    """Values and edges added/removed, rank changes (Kendall tau on common values), changed winners.

    Per-context winners come from ``old_winners``/``new_winners`` (e.g. from
    :func:`graph.rank.rank_contexts`); when not given they are approximated by ranking, per context, the
    subgraph of edges whose ``contexts`` attribute lists it.

    >>> a = nx.DiGraph([("x", "y")])
    >>> b = nx.DiGraph([("x", "y"), ("y", "z")])
    >>> d = diff_graphs(a, b, weight=None)
    >>> d.values_added, d.edges_added, d.winner, d.rank_changes
    (['z'], [('y', 'z')], ('y', 'z'), {'x': (2, 3), 'y': (1, 2)})
    """
    old_scores = pagerank(old, weight=weight, alpha=alpha, variant=variant)
    new_scores = pagerank(new, weight=weight, alpha=alpha, variant=variant)
    old_rank = _positions(old_scores, {v: i for i, v in enumerate(old)})
    new_rank = _positions(new_scores, {v: i for i, v in enumerate(new)})
    common = [v for v in old if v in new]
    old_w = dict(old_winners) if old_winners is not None else _context_winners(old, weight, alpha, variant)
    new_w = dict(new_winners) if new_winners is not None else _context_winners(new, weight, alpha, variant)
    changed = {
        c: (old_w.get(c), new_w.get(c))
        for c in dict.fromkeys([*old_w, *new_w])
        if old_w.get(c) != new_w.get(c)
    }
    top_old = min(old_rank, key=old_rank.__getitem__) if old_rank else None
    top_new = min(new_rank, key=new_rank.__getitem__) if new_rank else None
    return GraphDiff(
        values_added=[v for v in new if v not in old],
        values_removed=[v for v in old if v not in new],
        edges_added=[e for e in new.edges if not old.has_edge(*e)],
        edges_removed=[e for e in old.edges if not new.has_edge(*e)],
        rank_changes={v: (old_rank[v], new_rank[v]) for v in common if old_rank[v] != new_rank[v]},
        kendall_tau=kendall_tau([old_scores[v] for v in common], [new_scores[v] for v in common]),
        winner=(top_old, top_new),
        winners_changed=changed,
    )
