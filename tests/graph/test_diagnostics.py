"""Diagnostics: cycles, contested pairs, under-judged values, diffs of two graphs."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import pytest

from graph import (
    Judgement,
    Thresholds,
    aggregate,
    build_graph,
    contested_pairs,
    cycles,
    diff_graphs,
    kendall_tau,
    rank_contexts,
    read_moral_graph,
    to_digraph,
    under_judged,
)


def test_cycles_are_components_of_two_or_more() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("d", "e"), ("e", "d"), ("c", "d"), ("f", "a")])
    assert cycles(G) == [["a", "b", "c"], ["d", "e"]]
    assert cycles(nx.DiGraph([("a", "b")])) == []


def test_contested_pairs_need_support_both_ways() -> None:
    rows = [Judgement(p, "a", "b", "c", "upgrade") for p in range(5)]
    rows += [Judgement(p, "b", "a", "c", "upgrade") for p in range(4)]
    rows += [Judgement(p, "c", "d", "c", "upgrade") for p in range(6)]
    rows += [Judgement(p, "d", "c", "c", "upgrade") for p in range(1)]
    G = to_digraph(aggregate(rows).pairs)
    found = contested_pairs(G)
    assert [(p.a, p.b, p.b_wiser, p.a_wiser) for p in found] == [("a", "b", 5, 4)]
    assert found[0].balance == pytest.approx(0.8)
    assert contested_pairs(G, min_votes=5) == []
    assert len(contested_pairs(G, min_votes=1, min_balance=0.1)) == 2


def test_under_judged_counts_every_judgement_touching_a_value() -> None:
    rows = [Judgement(p, "a", "b", "c", "upgrade") for p in range(3)] + [
        Judgement(9, "b", "c", "c", "not_sure")
    ]
    aggregation = aggregate(rows, values=["a", "b", "c", "lonely"])
    G = to_digraph(aggregation.pairs, include_isolated=True)
    assert under_judged(G, min_judgements=4) == {"lonely": 0, "c": 1, "a": 3}
    assert under_judged(G, min_judgements=1) == {"lonely": 0}


def test_kendall_tau_edge_cases() -> None:
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau([1], [1])) and math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))


def test_diff_of_two_builds() -> None:
    before = [Judgement(p, "a", "b", "c1", "upgrade") for p in range(3)]
    before += [Judgement(p, "b", "c", "c2", "upgrade") for p in range(3)]
    after = before + [Judgement(p, "c", "d", "c2", "upgrade") for p in range(10, 14)]
    after += [Judgement(p, "a", "b", "c1", "no_upgrade") for p in range(10, 40)]
    old, new = build_graph(before), build_graph(after)
    diff = diff_graphs(old, new)
    assert diff.values_added == ["d"] and diff.values_removed == ["a"]
    assert diff.edges_added == [("c", "d")] and diff.edges_removed == [("a", "b")]
    assert diff.winner == ("c", "d") and diff.winners_changed == {"c1": ("b", None), "c2": ("c", "d")}
    assert diff.rank_changes == {"b": (2, 3), "c": (1, 2)} and diff.kendall_tau == pytest.approx(1.0)
    explicit = diff_graphs(
        old,
        new,
        old_winners={c: r.winner for c, r in rank_contexts(aggregate(before).by_context).items()},
        new_winners={c: r.winner for c, r in rank_contexts(aggregate(after).by_context).items()},
    )
    assert explicit.winners_changed == {"c1": ("b", None), "c2": ("c", "d")}


def test_identical_graphs_have_an_empty_diff(published: dict[str, Any]) -> None:
    G = read_moral_graph(published)
    diff = diff_graphs(G, G.copy())
    assert (diff.values_added, diff.edges_added, diff.rank_changes, diff.winners_changed) == ([], [], {}, {})
    assert diff.kendall_tau == pytest.approx(1.0)


def test_diagnostics_of_the_published_graph(
    study_judgements: list[Judgement], published: dict[str, Any]
) -> None:
    G = read_moral_graph(published)
    knots = cycles(G)
    assert [len(k) for k in knots] == [5, 5]
    untrimmed = to_digraph(aggregate(study_judgements).pairs)
    found = contested_pairs(untrimmed)
    # 24 participants judged 170 wiser than 219, and 23 the reverse
    assert [(p.a, p.b, p.b_wiser, p.a_wiser) for p in found] == [(219, 170, 24, 23)]
    assert len(under_judged(untrimmed, min_judgements=10)) > 0
    assert G.graph["thresholds"] is None  # MAI's file does not say which thresholds made it
    rebuilt = build_graph(study_judgements, Thresholds())
    assert diff_graphs(G, rebuilt).edges_added == []
