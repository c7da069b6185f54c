"""PageRank and rankings: networkx-compatible numbers, MAI's variant, per-context blocks, support labels."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import (
    ConvergenceError,
    InvalidInputError,
    InvalidWeightError,
    Judgement,
    Support,
    SupportRule,
    Thresholds,
    aggregate,
    context_graph,
    pagerank,
    pagerank_arrays,
    pagerank_reference,
    rank_blocks,
    rank_contexts,
    rank_graph,
    rank_pairs,
    to_digraph,
    trim,
)
from graph.pagerank import Variant

weighted_edges = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 9), st.one_of(st.just(0.0), st.floats(1e-6, 1.0))),
    max_size=40,
)


def digraph(edges: list[tuple[int, int, float]], n: int = 10) -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(((u, v, w) for u, v, w in edges if u != v), weight="wiserLikelihood")
    return G


@settings(max_examples=200, deadline=None)
@given(weighted_edges, st.sampled_from([0.5, 0.85, 0.99]))
def test_pagerank_matches_networkx_and_the_reference(
    edges: list[tuple[int, int, float]], alpha: float
) -> None:
    G = digraph(edges)
    ours = pagerank(G, alpha=alpha, max_iter=5000)
    theirs = nx.pagerank(G, alpha=alpha, weight="wiserLikelihood", max_iter=5000)
    weights = {(u, v): w for u, v, w in G.edges(data="wiserLikelihood")}
    slow = pagerank_reference(weights, list(G), alpha=alpha, max_iter=5000)
    for node in G:
        assert ours[node] == pytest.approx(theirs[node], abs=1e-12)
        # the dict-based loop rounds differently: at the stopping test's border it may take one more step
        assert ours[node] == pytest.approx(slow[node], abs=1e-6)
    assert sum(ours.values()) == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(weighted_edges)
def test_mai_variant_matches_the_reference(edges: list[tuple[int, int, float]]) -> None:
    G = digraph(edges)
    ours = pagerank(G, variant="mai")
    weights = {(u, v): w for u, v, w in G.edges(data="wiserLikelihood")}
    slow = pagerank_reference(weights, list(G), variant="mai")
    for node in G:
        assert ours[node] == pytest.approx(slow[node], abs=1e-12)
    assert sum(ours.values()) <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), weighted_edges), max_size=5), st.sampled_from(["networkx", "mai"])
)
def test_blocks_rank_like_separate_graphs(
    blocks: list[tuple[int, list[tuple[int, int, float]]]], variant: Variant
) -> None:
    unique = {(b, u, v): w for b, edges in blocks for u, v, w in edges if u != v}  # a DiGraph keeps the last
    group = [b for b, _, _ in unique]
    source = [u for _, u, _ in unique]
    target = [v for _, _, v in unique]
    weight = list(unique.values())
    ranks = rank_blocks(
        np.array(group), np.array(source), np.array(target), np.array(weight), 5, variant=variant
    )  # type: ignore[arg-type]
    for b in range(5):
        G = nx.DiGraph()
        G.add_weighted_edges_from(
            ((s, t, w) for g, s, t, w in zip(group, source, target, weight, strict=True) if g == b),
            weight="w",
        )
        start, stop = ranks.ptr[b], ranks.ptr[b + 1]
        got = dict(zip(ranks.value[start:stop].tolist(), ranks.score[start:stop].tolist(), strict=True))
        expected = pagerank(G, weight="w", variant=variant)  # type: ignore[arg-type]
        assert got.keys() == expected.keys()
        assert all(got[v] == pytest.approx(expected[v], abs=1e-12) for v in got)
        rounded = [round(s, 12) for s in got.values()]  # equal to 12 decimals is a tie
        assert rounded == sorted(rounded, reverse=True)


def test_dead_ends_spread_their_rank_unless_mai() -> None:
    G = nx.DiGraph()
    G.add_edge("a", "b", wiserLikelihood=1.0)
    G.add_node("c")
    assert sum(pagerank(G).values()) == pytest.approx(1.0)
    mai = pagerank(G, variant="mai")
    assert mai["c"] == pytest.approx(0.05) and sum(mai.values()) < 0.5


def test_zero_weight_edges_count_as_dead_ends_like_networkx() -> None:
    G = nx.DiGraph()
    G.add_edge("a", "b", wiserLikelihood=0.0)
    G.add_edge("b", "c", wiserLikelihood=1.0)
    theirs = nx.pagerank(G, weight="wiserLikelihood")
    ours = pagerank(G)
    assert all(ours[v] == pytest.approx(theirs[v], abs=1e-12) for v in G)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, None])
def test_bad_weights_are_refused(bad: float | None) -> None:
    G = nx.DiGraph()
    G.add_edge("a", "b", wiserLikelihood=bad)
    with pytest.raises(InvalidWeightError):
        pagerank(G)


def test_invalid_parameters_and_non_convergence() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    with pytest.raises(InvalidInputError):
        pagerank(G, weight=None, variant="google")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        pagerank(G, weight=None, alpha=1.5)
    with pytest.raises(ConvergenceError):
        pagerank(G, weight=None, max_iter=1)
    with pytest.raises(InvalidInputError):
        pagerank_arrays(np.array([0]), np.array([1]), None, 2, block=np.array([0, 1]))
    with pytest.raises(InvalidInputError):
        pagerank_arrays(np.array([0]), np.array([5]), None, 2)
    assert pagerank(nx.DiGraph()) == {}


def judged(pairs: list[tuple[str, str, str, int]]) -> list[Judgement]:
    """``n`` participants judge ``a → b`` an upgrade in ``context``, for each (a, b, context, n)."""
    return [Judgement(f"p{i}", a, b, c, "upgrade") for a, b, c, n in pairs for i in range(n)]


def test_each_context_ranks_its_own_trimmed_graph() -> None:
    rows = judged(
        [
            ("a", "b", "c1", 3),
            ("c", "b", "c1", 3),
            ("b", "a", "c2", 2),
            ("d", "a", "c2", 5),
            ("x", "y", "c3", 1),
        ]
    )
    aggregation = aggregate(rows, contexts=["c0"])
    rankings = rank_contexts(aggregation.by_context, Thresholds())
    assert list(rankings) == ["c0", "c1", "c2", "c3"]
    assert rankings["c1"].winner == "b" and rankings["c2"].winner == "a"
    for empty in ("c0", "c3"):  # no judgements / nothing survives trimming
        assert rankings[empty].winner is None and rankings[empty].support is Support.INSUFFICIENT
        assert rankings[empty].scores == {} and rankings[empty].n_edges == 0
    for context in ("c1", "c2"):
        expected = nx.pagerank(context_graph(aggregation, context), weight="wiserLikelihood")
        assert all(rankings[context].scores[v] == pytest.approx(s, abs=1e-12) for v, s in expected.items())
    assert rankings["c1"].thresholds == Thresholds() and rankings["c1"].variant == "networkx"


def test_thresholds_change_per_context_graphs() -> None:
    aggregation = aggregate(judged([("a", "b", "c1", 1)]))
    assert rank_contexts(aggregation.by_context).get("c1").winner is None  # type: ignore[union-attr]
    assert rank_contexts(aggregation.by_context, Thresholds(min_wiser=1))["c1"].winner == "b"


def test_whole_graph_ranking_from_arrays_equals_the_graph_ranking() -> None:
    rows = judged([("a", "b", "c1", 3), ("c", "b", "c1", 3), ("b", "d", "c2", 4), ("e", "d", "c2", 2)])
    pairs = aggregate(rows).pairs
    from_arrays = rank_pairs(pairs, Thresholds())
    from_graph = rank_graph(to_digraph(trim(pairs, Thresholds())))
    assert from_arrays.winner == from_graph.winner == "d"
    assert list(from_arrays.scores) == list(from_graph.scores)
    assert all(from_arrays.scores[v] == pytest.approx(s, abs=1e-12) for v, s in from_graph.scores.items())
    assert from_graph.thresholds == Thresholds() and from_arrays.support is from_graph.support


def test_ties_go_to_the_value_listed_first() -> None:
    rows = judged([("x", "a", "c", 2), ("y", "b", "c", 2)])
    ranking = rank_contexts(aggregate(rows).by_context)["c"]
    assert ranking.winner == "a" and ranking.runner_ups[0] == "b"
    assert ranking.ratio == pytest.approx(1.0) and ranking.support is Support.CONTESTED


@pytest.mark.parametrize(
    ("z", "ratio", "expected"),
    [
        (2.51, 2.01, Support.BROAD),
        (2.5, 2.01, Support.SOME),  # the cut-offs are strict
        (3.0, 2.0, Support.SOME),
        (1.51, 1.0, Support.SOME),
        (0.0, 1.51, Support.SOME),
        (1.5, 1.5, Support.CONTESTED),
    ],
)
def test_support_cut_offs(z: float, ratio: float, expected: Support) -> None:
    code = SupportRule().codes(np.array([z]), np.array([ratio]), np.array([5]))[0]
    assert list(Support)[int(code)] is expected


def test_support_label_of_degenerate_score_lists() -> None:
    assert SupportRule().label([])[0] is Support.INSUFFICIENT
    assert SupportRule().label([0.3])[0] is Support.INSUFFICIENT
    support, z, ratio = SupportRule().label([0.25, 0.25, 0.25, 0.25])
    assert (support, z, ratio) == (Support.CONTESTED, 0.0, 1.0)
    support, z, ratio = SupportRule().label([0.9, 0.02, 0.02, 0.02, 0.02, 0.02])
    assert support is Support.SOME and z == pytest.approx(2.236, abs=1e-3) and ratio == pytest.approx(45.0)
    assert SupportRule(broad_z=2.0).label([0.9, 0.02, 0.02, 0.02, 0.02, 0.02])[0] is Support.BROAD
