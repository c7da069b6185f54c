"""graph.RankParams: the one definition of the ranking parameters, and the defaults every ranking uses."""

from __future__ import annotations

import inspect

import pytest

import graph
from graph import DEFAULT_RANK, InvalidInputError, RankParams


@pytest.mark.parametrize(
    "function",
    [
        graph.pagerank,
        graph.pagerank_arrays,
        graph.pagerank_reference,
        graph.rank_graph,
        graph.rank_pairs,
        graph.rank_contexts,
        graph.rank_blocks,
        graph.bootstrap_rankings,
        graph.bridging,
        graph.diff_graphs,
    ],
    ids=lambda f: f.__name__,
)
def test_every_ranking_function_defaults_to_the_one_definition(function: object) -> None:
    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    names = {"alpha", "variant", "max_iter", "tol", "top"} & set(parameters)
    assert "alpha" in names
    assert {n: parameters[n].default for n in names} == {n: getattr(DEFAULT_RANK, n) for n in names}


def test_a_ranking_reports_the_parameters_it_used() -> None:
    rows = [graph.Judgement(p, "a", "b", "c", "upgrade") for p in range(3)]
    ranking = graph.rank_graph(graph.build_graph(rows), alpha=0.5)
    assert (ranking.alpha, ranking.variant) == (0.5, DEFAULT_RANK.variant)
    assert graph.rank_graph(graph.build_graph(rows)).alpha == DEFAULT_RANK.alpha == 0.85


def test_as_dict_round_trips_and_old_snapshots_read_with_defaults() -> None:
    params = RankParams(alpha=0.7, variant="mai", max_iter=50, tol=1e-8, top=5)
    assert RankParams.from_dict(params.as_dict()) == params
    assert DEFAULT_RANK.as_dict() == {
        "ranking": "pagerank",
        "alpha": 0.85,
        "variant": "networkx",
        "max_iter": 100,
        "tol": 1e-6,
        "top": 3,
    }
    # what snapshots stored before the parameters had one home
    assert RankParams.from_dict({"ranking": "pagerank", "variant": "networkx", "alpha": 0.85}) == DEFAULT_RANK


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.5}, "alpha"),
        ({"variant": "other"}, "variant"),
        ({"max_iter": -1}, "max_iter"),
        ({"top": 1.5}, "top"),
        ({"tol": 0.0}, "tol"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        RankParams(**kwargs)  # type: ignore[arg-type]


def test_from_dict_refuses_unknown_names_and_rankings() -> None:
    with pytest.raises(InvalidInputError, match="unknown ranking parameters"):
        RankParams.from_dict({"damping": 0.85})
    with pytest.raises(InvalidInputError, match="unknown ranking 'hits'"):
        RankParams.from_dict({"ranking": "hits"})
