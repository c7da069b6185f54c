"""Acceptance on MAI's published study data: the 69 published edges, bit for bit, and the rankings.

The judgements created before 2023-10-18 (edge.json), aggregated with DOMAIN.md §7, must give exactly the
edges of moral-graph-all-participants.json: counts, wiserLikelihood, entropy, context lists, and even the
order in which MAI listed them. The data is read from ../shared/data and never copied into the repo.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

from graph import (
    Judgement,
    Thresholds,
    aggregate,
    aggregate_arrays,
    aggregate_reference,
    encode_columns,
    mai_edge,
    moral_graph_document,
    pagerank,
    pagerank_reference,
    rank_contexts,
    rank_graph,
    read_moral_graph,
    to_digraph,
    trim,
)

# DOMAIN.md §7: MAI's variant and networkx's agree on the top six of the published graph.
TOP_SIX = [289, 298, 303, 234, 167, 165]


def _kept(stats: Any, thresholds: Thresholds) -> bool:
    return thresholds.keeps(wiser=stats.wiser, likelihood=stats.wiser_likelihood, entropy=stats.entropy)


def test_the_fast_path_reproduces_the_published_edges_exactly(
    study_judgements: list[Judgement], published: dict[str, Any]
) -> None:
    assert len(study_judgements) == 1540
    aggregation = aggregate(study_judgements)
    assert sum(aggregation.skipped.values()) == 0 and aggregation.n_used == 1540
    edges = [mai_edge(stats) for stats in trim(aggregation.pairs, Thresholds()).records()]
    assert len(edges) == 69
    assert edges == published["edges"]  # counts, likelihoods, entropies (==, not approx), contexts, order


def test_the_reference_path_reproduces_the_published_edges_exactly(
    study_judgements: list[Judgement], published: dict[str, Any]
) -> None:
    reference = aggregate_reference(study_judgements)
    edges = [mai_edge(stats) for stats in reference.pairs if _kept(stats, Thresholds())]
    assert edges == published["edges"]


def test_reference_and_fast_agree_on_every_untrimmed_pair(study_judgements: list[Judgement]) -> None:
    fast = aggregate(study_judgements)
    reference = aggregate_reference(study_judgements)
    records = fast.pairs.records()
    assert len(records) == len(reference.pairs) == 242
    assert all(a.same_as(b) for a, b in zip(records, reference.pairs, strict=True))
    by_context: dict[Any, list[Any]] = {}
    for stats in fast.by_context.records():
        by_context.setdefault(stats.contexts[0], []).append(stats)
    assert by_context.keys() == reference.by_context.keys()
    for context, rows in reference.by_context.items():
        assert all(a.same_as(b) for a, b in zip(by_context[context], rows, strict=True))


def test_column_arrays_from_a_database_give_the_same_graph(
    dft_edges: list[dict[str, Any]], published: dict[str, Any]
) -> None:
    rows = [r for r in dft_edges if r["createdAt"] < "2023-10-18"]
    arrays = encode_columns(
        np.array([r["userId"] for r in rows]),
        np.array([r["fromId"] for r in rows]),
        np.array([r["toId"] for r in rows]),
        np.array([r["contextId"] for r in rows]),
        np.array([r["relationship"] for r in rows]),
        values=[v["id"] for v in published["values"]]
        + sorted({r["fromId"] for r in rows} | {r["toId"] for r in rows}),
    )
    edges = [mai_edge(s) for s in trim(aggregate_arrays(arrays).pairs).records()]
    assert edges == published["edges"]


def test_later_judgements_change_the_graph(
    dft_edges: list[dict[str, Any]], published: dict[str, Any]
) -> None:
    everything = aggregate(
        Judgement(r["userId"], r["fromId"], r["toId"], r["contextId"], r["relationship"]) for r in dft_edges
    )
    assert [mai_edge(s) for s in trim(everything.pairs).records()] != published["edges"]


def test_the_built_graph_equals_the_published_document(
    study_judgements: list[Judgement], published: dict[str, Any]
) -> None:
    attributes = {v["id"]: {k: x for k, x in v.items() if k != "id"} for v in published["values"]}
    G = to_digraph(trim(aggregate(study_judgements).pairs), values=attributes)
    document = moral_graph_document(G, metadata=False)

    def pair(edge: dict[str, Any]) -> tuple[int, int]:
        return edge["sourceValueId"], edge["wiserValueId"]

    # a DiGraph iterates edges by node, not in MAI's listing order
    assert sorted(document["edges"], key=pair) == sorted(published["edges"], key=pair)
    assert sorted(document["values"], key=lambda v: v["id"]) == sorted(
        published["values"], key=lambda v: v["id"]
    )
    assert moral_graph_document(G)["thresholds"] == {
        "min_wiser": 2,
        "min_likelihood": 0.33,
        "max_entropy": 1.69,
    }


def test_pagerank_on_the_published_graph(published: dict[str, Any]) -> None:
    G = read_moral_graph(published)
    ours = pagerank(G)
    theirs = nx.pagerank(G, alpha=0.85, weight="wiserLikelihood")
    assert ours.keys() == theirs.keys()
    assert max(abs(ours[v] - theirs[v]) for v in ours) < 1e-12
    assert sorted(ours, key=ours.__getitem__, reverse=True)[:6] == TOP_SIX
    mai = pagerank(G, variant="mai")
    assert sorted(mai, key=mai.__getitem__, reverse=True)[:6] == TOP_SIX
    assert sum(mai.values()) == pytest.approx(0.42, abs=0.005)
    weights = {(u, v): w for u, v, w in G.edges(data="wiserLikelihood")}
    slow = pagerank_reference(weights, list(G), variant="mai")
    assert max(abs(slow[v] - mai[v]) for v in mai) < 1e-12
    assert rank_graph(G).winner == TOP_SIX[0]


def test_every_context_gets_a_winner(study_judgements: list[Judgement]) -> None:
    aggregation = aggregate(study_judgements)
    rankings = rank_contexts(aggregation.by_context, Thresholds())
    assert len(rankings) == 11
    for context, ranking in rankings.items():
        assert ranking.winner is not None and ranking.thresholds == Thresholds()
        # the fast per-context ranking equals networkx on that context's own trimmed graph
        rows = [j for j in study_judgements if j.context == context]
        G = to_digraph(trim(aggregate(rows).pairs))
        expected = nx.pagerank(G, weight="wiserLikelihood")
        assert ranking.scores.keys() == expected.keys()
        assert max(abs(ranking.scores[v] - expected[v]) for v in expected) < 1e-12
        assert ranking.winner == max(expected, key=expected.__getitem__)
