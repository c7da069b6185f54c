"""Trimming pair tables and turning them into networkx moral graphs.

Edges point from a value to the value judged wiser and carry MAI's attribute names
(:data:`EDGE_ATTRIBUTES`); ``G.graph["thresholds"]`` records the trimming rule and ``G.graph["skipped"]``
the rows left out, so that every export can write both.

Examples
--------
>>> from graph.model import Judgement, Thresholds
>>> rows = [Judgement(p, "a", "b", "When asked", "upgrade") for p in range(3)]
>>> G = build_graph(rows)
>>> list(G.edges(data="markedWiser")), G.graph["thresholds"]["min_wiser"]
([('a', 'b', 3)], 2)
>>> G["a"]["b"]["contexts"], G["a"]["b"]["wiserLikelihood"]
(['When asked'], 1.0)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from graph.aggregate import aggregate, aggregate_arrays
from graph.model import Judgement, JudgementArrays, Thresholds
from graph.pairs import Aggregation, PairCounts

#: PairCounts column -> MAI edge attribute
EDGE_ATTRIBUTES: dict[str, str] = {
    "wiser": "markedWiser",
    "not_wiser": "markedNotWiser",
    "less_wise": "markedLessWise",
    "unsure": "markedUnsure",
    "impressions": "impressions",
    "wiser_likelihood": "wiserLikelihood",
    "entropy": "entropy",
}


def trim(pairs: PairCounts, thresholds: Thresholds | None = None) -> PairCounts:
    """The rows of ``pairs`` that pass ``thresholds`` (default: MAI's), carrying the thresholds.

    >>> from graph.aggregate import aggregate
    >>> agg = aggregate([Judgement(p, "a", "b", "c", "upgrade") for p in range(2)])
    >>> len(agg.pairs), len(trim(agg.pairs)), trim(agg.pairs).thresholds.min_wiser
    (2, 1, 2)
    """
    thresholds = Thresholds() if thresholds is None else thresholds
    keep = thresholds.mask(pairs.wiser, pairs.wiser_likelihood, pairs.entropy)
    return pairs.take(keep, thresholds=thresholds)


def to_digraph(
    pairs: PairCounts,
    *,
    values: Mapping[Any, Mapping[str, Any]] | None = None,
    include_isolated: bool = False,
    skipped: Mapping[str, int] | None = None,
) -> nx.DiGraph[Hashable]:
    """A networkx moral graph with one edge per row of ``pairs``.

    Parameters
    ----------
    pairs : PairCounts
        Usually trimmed (:func:`trim`); an untrimmed table gives the full judgement graph (for
        diagnostics such as :func:`graph.diagnostics.contested_pairs`).
    values : mapping, optional
        Node attributes by value label (title, policies...).
    include_isolated : bool
        Add every known value as a node, even without edges (MAI keeps only values that have one).
    skipped : mapping, optional
        Skip counts to record in ``G.graph["skipped"]``.
    """
    G: nx.DiGraph[Hashable] = nx.DiGraph()
    G.graph["thresholds"] = None if pairs.thresholds is None else pairs.thresholds.as_dict()
    if skipped is not None:
        G.graph["skipped"] = dict(skipped)
    used = set(pairs.source.tolist()) | set(pairs.target.tolist())
    for code, label in enumerate(pairs.values):
        if include_isolated or code in used:
            G.add_node(label, **dict((values or {}).get(label, {})))
    columns = {attr: getattr(pairs, name).tolist() for name, attr in EDGE_ATTRIBUTES.items()}
    for i, (s, t) in enumerate(zip(pairs.source.tolist(), pairs.target.tolist(), strict=True)):
        attrs = {attr: column[i] for attr, column in columns.items()}
        G.add_edge(pairs.values[s], pairs.values[t], contexts=list(pairs.contexts_of(i)), **attrs)
    return G


def build_graph(
    judgements: Iterable[Judgement] | JudgementArrays,
    thresholds: Thresholds | None = None,
    *,
    values: Sequence[Hashable] | None = None,
    value_attributes: Mapping[Any, Mapping[str, Any]] | None = None,
) -> nx.DiGraph[Hashable]:
    """Aggregate, trim and build the moral graph in one call.

    ``values`` is the known value set (others are skipped as ``unknown_value``); ignored for arrays, which
    carry their own.
    """
    if isinstance(judgements, JudgementArrays):
        aggregation = aggregate_arrays(judgements)
    else:
        aggregation = aggregate(judgements, values=values)
    return to_digraph(
        trim(aggregation.pairs, thresholds), values=value_attributes, skipped=aggregation.skipped
    )


def context_graph(
    aggregation: Aggregation, context: Hashable, thresholds: Thresholds | None = None
) -> nx.DiGraph[Hashable]:
    """The trimmed moral graph of one context, built from that context's judgements only.

    >>> from graph.aggregate import aggregate
    >>> rows = [Judgement(p, "a", "b", "c1", "upgrade") for p in range(2)]
    >>> rows += [Judgement(p, "b", "c", "c2", "upgrade") for p in range(2)]
    >>> list(context_graph(aggregate(rows), "c2").edges)
    [('b', 'c')]
    """
    table = aggregation.by_context
    code = aggregation.contexts.index(context)
    return to_digraph(trim(table.take(np.flatnonzero(table.row_context == code)), thresholds))
