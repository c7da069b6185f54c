"""Bridging (cross-group agreement, bridged rankings) and opinion clusters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import (
    InvalidInputError,
    Judgement,
    Thresholds,
    aggregate,
    bridging,
    consensus,
    encode_judgements,
    kmeans,
    opinion_clusters,
    rank_contexts,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=6))
def test_consensus_is_a_geometric_mean_and_minimum_of_smoothed_shares(counts: list[tuple[int, int]]) -> None:
    agree = np.array([min(a, s) for a, s in counts])
    seen = np.array([s for _, s in counts])
    gm, low = consensus(agree[None, :], seen[None, :])
    shares = [(a + 1) / (s + 2) for a, s in zip(agree.tolist(), seen.tolist(), strict=True)]
    assert gm[0] == pytest.approx(math.prod(shares) ** (1 / len(shares)))
    assert low[0] == pytest.approx(min(shares))
    assert low[0] <= gm[0] + 1e-12 and 0 < low[0] < 1
    # adding a group that agrees as much does not shrink the geometric mean (the product would)
    more, _ = consensus(np.append(agree, agree[:1])[None, :], np.append(seen, seen[:1])[None, :])
    if len(set(shares)) == 1:
        assert more[0] == pytest.approx(gm[0])


def polarised() -> tuple[list[Judgement], dict[str, str]]:
    """Both camps think b is wiser than x; only the red camp thinks d is."""
    rows, groups = [], {}
    for i in range(8):
        person, camp = f"p{i}", "red" if i < 4 else "blue"
        groups[person] = camp
        rows.append(Judgement(person, "x", "b", "When asked", "upgrade"))
        rows.append(Judgement(person, "x", "d", "When asked", "upgrade" if camp == "red" else "no_upgrade"))
    rows.append(Judgement("loner", "x", "b", "When asked", "upgrade"))
    return rows, groups


def test_bridging_rewards_edges_that_both_camps_endorse() -> None:
    rows, groups = polarised()
    result = bridging(encode_judgements(rows), groups, Thresholds(min_wiser=2, max_entropy=2.0))
    edges = {(e.source, e.target): e for e in result.edges}
    assert set(edges) == {("x", "b"), ("x", "d")}
    assert edges[("x", "b")].agree == (4, 4) and edges[("x", "b")].seen == (4, 4)
    assert edges[("x", "d")].agree == (4, 0) and edges[("x", "d")].seen == (4, 4)
    assert edges[("x", "b")].consensus == pytest.approx(5 / 6)
    assert edges[("x", "d")].consensus == pytest.approx(math.sqrt(5 / 36))
    assert edges[("x", "d")].minimum == pytest.approx(1 / 6)
    assert result.values["b"].consensus > result.values["d"].consensus
    assert result.groups == ("red", "blue") and result.ungrouped == 1 and result.weight == "consensus"
    plain, bridged = result.plain.scores, result.bridged.scores
    assert bridged["b"] / bridged["d"] > plain["b"] / plain["d"] > 1
    assert result.plain.thresholds == result.bridged.thresholds == result.thresholds
    assert result.plain_by_context.keys() == result.bridged_by_context.keys() == {"When asked"}


def test_plain_rankings_equal_the_ordinary_ones() -> None:
    rows, groups = polarised()
    thresholds = Thresholds(min_wiser=2, max_entropy=2.0)
    result = bridging(encode_judgements(rows), groups, thresholds, weight="minimum")
    ordinary = rank_contexts(aggregate(rows).by_context, thresholds)
    assert result.plain_by_context["When asked"].scores == ordinary["When asked"].scores
    assert result.bridged_by_context["When asked"].scores != ordinary["When asked"].scores


def test_bridging_input_errors() -> None:
    rows, _ = polarised()
    with pytest.raises(InvalidInputError):
        bridging(encode_judgements(rows), {})
    with pytest.raises(InvalidInputError):
        bridging(encode_judgements(rows), {"p0": "x"}, weight="product")  # type: ignore[arg-type]
    result = bridging(encode_judgements(rows), {"p0": "x", "p1": None, "p2": math.nan})
    assert result.groups == ("x",) and result.ungrouped == len(rows) - 2


def test_bridging_on_the_study_data_by_party(
    study_judgements: list[Judgement], demographics: dict[int, Any]
) -> None:
    parties = {
        user: row["usPoliticalAffiliation"]
        for user, row in demographics.items()
        if row["usPoliticalAffiliation"] in {"Democrat", "Republican", "Independent"}
    }
    result = bridging(encode_judgements(study_judgements), parties)
    assert set(result.groups) == {"Democrat", "Republican", "Independent"}
    assert len(result.edges) == 69
    assert all(0 < e.minimum <= e.consensus < 1 for e in result.edges)
    assert len(result.bridged_by_context) == 11 and result.ungrouped > 0
    assert result.plain.winner == 289


def test_kmeans_is_seeded_and_labels_by_first_appearance() -> None:
    rng = np.random.default_rng(3)
    points = np.concatenate(
        [rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2)), rng.normal(-5, 0.1, (20, 2))]
    )
    labels = kmeans(points, 3, seed=11)
    assert labels.tolist() == [0] * 20 + [1] * 20 + [2] * 20
    assert np.array_equal(kmeans(points, 3, seed=11), labels)
    with pytest.raises(InvalidInputError):
        kmeans(points, 0)


@pytest.mark.parametrize("n_people", [12, 120])  # the dense and the sparse SVD
def test_opinion_clusters_find_planted_camps(n_people: int) -> None:
    rng = np.random.default_rng(5)
    rows = []
    stories = [(f"v{i}", f"v{i + 1}") for i in range(0, 120, 2)]
    for person in range(n_people):
        camp = person % 2
        for s in rng.choice(len(stories), size=8, replace=False).tolist():
            a, b = stories[s]
            agrees = (s % 2 == camp) != (rng.random() < 0.1)
            rows.append(Judgement(person, a, b, "When asked", "upgrade" if agrees else "no_upgrade"))
    arrays = encode_judgements(rows)
    clusters = opinion_clusters(arrays, 2, seed=1)
    assert opinion_clusters(arrays, 2, seed=1) == clusters
    by_camp = [{clusters[p] for p in range(n_people) if p % 2 == camp} for camp in (0, 1)]
    assert all(len(c) == 1 for c in by_camp) and by_camp[0] != by_camp[1]
    assert clusters[0] == 0  # ids follow the participants' order


def test_opinion_clusters_need_enough_participants() -> None:
    rows = [Judgement(1, "a", "b", "c", "upgrade")]
    with pytest.raises(InvalidInputError):
        opinion_clusters(encode_judgements(rows), 2)
    assert opinion_clusters(encode_judgements(rows * 1 + [Judgement(2, "a", "b", "c", "no_upgrade")]), 2) == {
        1: 0,
        2: 1,
    }
