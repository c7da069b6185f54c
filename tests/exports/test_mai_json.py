"""exports.mai_json: the MAI document of a built graph, and the provenance that names how it was built."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

import graph
from exports import Provenance, ValueRecord, mai_value, moral_graph_json, ranking_json, with_provenance

WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
LATER = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)
CONTEXTS = {10: "When asked for advice", 20: "When someone is grieving"}


def _judgements() -> list[graph.Judgement]:
    """Values 1, 2, 3 in contexts 10 and 20: 2 is wiser than 1 and 3 (context 10); 3 wiser than 1 (20)."""
    rows = [graph.Judgement(p, 1, 2, 10, "upgrade") for p in range(4)]
    rows += [graph.Judgement(p, 3, 2, 10, "upgrade") for p in range(3)]
    rows += [graph.Judgement(p, 1, 3, 20, "upgrade") for p in range(3)]
    rows += [graph.Judgement(9, 1, 3, 20, "not_sure")]
    return rows


def _records() -> list[ValueRecord]:
    return [
        ValueRecord(1, "Honesty", "Say what is true.", ("MOMENTS when", "CHOICES that"), WHEN, LATER),
        ValueRecord(2, "Care", "Look after people.", (), WHEN, WHEN, external_ref="174"),
        ValueRecord(3, "Courage", "Stand up.", ("ACTIONS",), WHEN, WHEN, external_ref=""),
    ]


def _build(
    thresholds: graph.Thresholds, params: graph.RankParams
) -> tuple[nx.DiGraph, graph.Ranking, dict[object, graph.Ranking]]:
    aggregation = graph.aggregate(_judgements())
    G = graph.to_digraph(graph.trim(aggregation.pairs, thresholds), skipped=aggregation.skipped)
    p = params
    overall = graph.rank_graph(G, alpha=p.alpha, variant=p.variant, top=p.top, max_iter=p.max_iter, tol=p.tol)
    per_context = graph.rank_contexts(
        aggregation.by_context, thresholds, alpha=p.alpha, variant=p.variant, top=p.top, max_iter=p.max_iter
    )
    return G, overall, per_context


def _document(thresholds: graph.Thresholds, params: graph.RankParams) -> tuple[nx.DiGraph, dict[str, Any]]:
    G, overall, per_context = _build(thresholds, params)
    return G, moral_graph_json(G, _records(), contexts=CONTEXTS, overall=overall, per_context=per_context)


def _provenance(thresholds: graph.Thresholds, params: graph.RankParams) -> Provenance:
    return Provenance(
        deliberation_id=3,
        snapshot_id=11,
        built_at=LATER,
        thresholds=thresholds,
        params=params,
        judgements=len(_judgements()),
        app_version="0.1.0+test",
    )


def test_values_are_written_as_mai_values_in_the_graphs_node_order() -> None:
    G, document = _document(graph.Thresholds(), graph.DEFAULT_RANK)
    assert list(document) == ["values", "edges", "thresholds", "skipped", "rankings"]
    assert [v["id"] for v in document["values"]] == list(G)
    honesty = next(v for v in document["values"] if v["id"] == 1)
    assert honesty == {
        "id": 1,
        "title": "Honesty",
        "instructionsShort": "Say what is true.",
        "instructionsDetailed": "",
        "evaluationCriteria": ["MOMENTS when", "CHOICES that"],
        "createdAt": "2024-05-01T12:30:00+00:00",
        "updatedAt": "2024-06-02T08:00:00+00:00",
    }
    by_id = {v["id"]: v for v in document["values"]}
    assert by_id[2]["externalRef"] == "174"
    assert "externalRef" not in by_id[3]  # an empty reference is not written
    assert mai_value(_records()[1]) == by_id[2]


def test_edges_name_their_contexts_by_text_and_keep_mais_counts() -> None:
    G, document = _document(graph.Thresholds(), graph.DEFAULT_RANK)
    edges = {(e["sourceValueId"], e["wiserValueId"]): e for e in document["edges"]}
    assert set(edges) == {(1, 2), (3, 2), (1, 3)}
    assert edges[(1, 2)]["contexts"] == ["When asked for advice"]
    assert edges[(1, 3)]["counts"] == {
        "markedWiser": 3,
        "markedNotWiser": 0,
        "markedLessWise": 0,
        "markedUnsure": 1,
        "impressions": 4,
    }
    assert edges[(1, 3)]["summary"]["wiserLikelihood"] == pytest.approx(0.75)
    # the generic part is graph.io_mai's: the same edges, contexts aside
    generic = graph.moral_graph_document(G)["edges"]
    assert [{**e, "contexts": None} for e in generic] == [{**e, "contexts": None} for e in document["edges"]]
    assert all(G.edges[u, v]["contexts"] in ([10], [20]) for u, v in G.edges)  # the graph is untouched


def test_an_unknown_context_or_value_is_written_as_it_is() -> None:
    G, overall, _ = _build(graph.Thresholds(), graph.DEFAULT_RANK)
    document = moral_graph_json(G, _records()[:1], contexts={10: "When asked"}, overall=overall)
    assert {c for e in document["edges"] for c in e["contexts"]} == {"When asked", "20"}
    assert {v["id"]: v for v in document["values"]}[2] == {"id": 2}
    assert document["rankings"]["contexts"] == {}


def test_rankings_carry_winner_runner_ups_support_and_scores() -> None:
    G, overall, per_context = _build(graph.Thresholds(), graph.DEFAULT_RANK)
    document = moral_graph_json(G, _records(), contexts=CONTEXTS, overall=overall, per_context=per_context)
    rankings = document["rankings"]
    assert rankings["overall"]["winner"] == overall.winner == 2
    assert rankings["overall"]["runnerUps"] == list(overall.runner_ups)
    assert rankings["overall"]["scores"] == {str(k): v for k, v in overall.scores.items()}
    assert set(rankings["contexts"]) == set(CONTEXTS.values())
    assert rankings["contexts"]["When asked for advice"]["winner"] == 2
    assert rankings["contexts"]["When someone is grieving"]["winner"] == 3
    assert moral_graph_json(nx.DiGraph(), [], contexts={}, overall=None)["rankings"]["overall"] is None
    insufficient = ranking_json(graph.rank_graph(nx.DiGraph()))
    assert insufficient is not None and insufficient["z"] is None and insufficient["ratio"] is None


def test_the_document_carries_the_thresholds_and_ranking_parameters_it_was_built_with() -> None:
    thresholds = graph.Thresholds(min_wiser=3, min_likelihood=0.5)
    params = graph.RankParams(alpha=0.6, max_iter=500, tol=1e-9, top=1)
    _, document = _document(thresholds, params)
    assert document["thresholds"] == thresholds.as_dict()
    assert len(document["rankings"]["overall"]["runnerUps"]) == 1  # top=1
    exported = with_provenance(document, _provenance(thresholds, params))
    assert list(exported) == [*document, "provenance"] and "provenance" not in document
    assert exported["provenance"] == {
        "deliberation_id": 3,
        "snapshot_id": 11,
        "built_at": "2024-06-02T08:00:00+00:00",
        "thresholds": {"min_wiser": 3, "min_likelihood": 0.5, "max_entropy": 1.69},
        "params": {
            "ranking": "pagerank",
            "alpha": 0.6,
            "variant": "networkx",
            "max_iter": 500,
            "tol": 1e-9,
            "top": 1,
        },
        "judgements": 11,
        "app_version": "0.1.0+test",
    }
    assert graph.RankParams.from_dict(exported["provenance"]["params"]) == params
    assert graph.Thresholds.from_dict(exported["provenance"]["thresholds"]) == thresholds


def test_changing_alpha_changes_the_scores_and_the_provenance() -> None:
    thresholds = graph.Thresholds()
    documents = {}
    for alpha in (graph.DEFAULT_RANK.alpha, 0.5):
        params = graph.RankParams(alpha=alpha)
        _, document = _document(thresholds, params)
        documents[alpha] = with_provenance(document, _provenance(thresholds, params))
    default, other = documents[graph.DEFAULT_RANK.alpha], documents[0.5]
    assert default["provenance"]["params"]["alpha"] == 0.85 and other["provenance"]["params"]["alpha"] == 0.5
    assert default["provenance"]["params"] == graph.DEFAULT_RANK.as_dict()
    assert default["rankings"]["overall"]["scores"] != other["rankings"]["overall"]["scores"]
    assert default["edges"] == other["edges"]  # ranking does not change the graph


def test_the_export_is_json_that_reads_back_as_the_same_graph() -> None:
    G, document = _document(graph.Thresholds(), graph.DEFAULT_RANK)
    provenance = _provenance(graph.Thresholds(), graph.DEFAULT_RANK)
    text = graph.moral_graph_text(with_provenance(document, provenance))
    assert text.endswith("}\n") and text.startswith('{\n  "values": [\n    {\n      "id": 1,')
    H = graph.read_moral_graph(json.loads(text))
    assert sorted(H.edges) == sorted(G.edges)
    assert H.nodes[1]["instructionsShort"] == "Say what is true."
    assert H.graph["thresholds"] == graph.Thresholds().as_dict()


def test_records_and_provenance_are_frozen_and_inputs_untouched() -> None:
    record = _records()[0]
    with pytest.raises(AttributeError):
        record.title = "Other"  # type: ignore[misc]
    provenance = _provenance(graph.Thresholds(), graph.DEFAULT_RANK)
    with pytest.raises(AttributeError):
        provenance.params = graph.RankParams(alpha=0.5)  # type: ignore[misc]
    _, document = _document(graph.Thresholds(), graph.DEFAULT_RANK)
    before = json.dumps(document)
    with_provenance(document, provenance)
    assert json.dumps(document) == before
