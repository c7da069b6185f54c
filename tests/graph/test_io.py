"""MAI moral-graph JSON (read, write, errors) and GraphML export."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from graph import (
    Judgement,
    MoralGraphFormatError,
    Thresholds,
    aggregate,
    build_graph,
    graphml_safe,
    moral_graph_document,
    read_moral_graph,
    to_digraph,
    write_graphml,
    write_moral_graph,
)


def small_graph() -> nx.DiGraph:
    rows = [Judgement(p, 1, 2, "When asked", "upgrade") for p in range(3)]
    rows += [Judgement(p, 3, 2, "When in doubt", "upgrade") for p in range(2)]
    values = {
        v: {"title": f"Value {v}", "evaluationCriteria": ["MOMENTS when", "CHOICES that"]} for v in (1, 2, 3)
    }
    return build_graph(rows, Thresholds(min_wiser=2), value_attributes=values)


def test_json_round_trip_through_a_file(tmp_path: Path) -> None:
    G = small_graph()
    path = tmp_path / "graph.json"
    write_moral_graph(G, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["thresholds"] == Thresholds(min_wiser=2).as_dict()
    assert document["skipped"]["duplicate"] == 0
    assert document["values"][0] == {
        "id": 1,
        "title": "Value 1",
        "evaluationCriteria": ["MOMENTS when", "CHOICES that"],
    }
    H = read_moral_graph(path)
    assert nx.utils.graphs_equal(G, H)
    assert dict(H.edges[1, 2]) == dict(G.edges[1, 2])


def test_the_published_file_round_trips(published: dict[str, Any]) -> None:
    G = read_moral_graph(published)
    assert (G.number_of_nodes(), G.number_of_edges()) == (60, 69)
    assert len({c for _, _, cs in G.edges(data="contexts") for c in cs}) == 11
    buffer = io.StringIO()
    write_moral_graph(G, buffer, metadata=False)
    again = json.loads(buffer.getvalue())
    assert again["values"] == published["values"]
    key = lambda e: (e["sourceValueId"], e["wiserValueId"])  # noqa: E731
    assert sorted(again["edges"], key=key) == sorted(published["edges"], key=key)


def test_nan_likelihoods_are_written_as_null() -> None:
    G = to_digraph(aggregate([Judgement(1, "a", "b", "c", "no_upgrade")]).pairs)
    assert math.isnan(G["b"]["a"]["wiserLikelihood"])
    document = moral_graph_document(G)
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text)["edges"][1]["summary"]["wiserLikelihood"] is None
    assert "thresholds" not in document  # untrimmed: no thresholds to report
    assert math.isnan(read_moral_graph(json.loads(text))["b"]["a"]["wiserLikelihood"])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "top level"),
        ({"values": []}, "lists"),
        ({"values": [{"title": "no id"}], "edges": []}, "no usable id"),
        ({"values": [{"id": 1}, {"id": 1}], "edges": []}, "repeats id"),
        ({"values": [{"id": 1}], "edges": [{"sourceValueId": 1}]}, "lacks"),
        ({"values": [{"id": 1}], "edges": ["x"]}, "not an object"),
        ({"values": [{"id": 1}], "edges": [], "thresholds": {"min_wiser": -1}}, "thresholds"),
        ({"values": [{"id": 1}], "edges": [], "thresholds": {"nonsense": 1}}, "thresholds"),
    ],
)
def test_malformed_documents_are_named(document: Any, message: str) -> None:
    with pytest.raises(MoralGraphFormatError, match=message):
        read_moral_graph(document)


def edge(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sourceValueId": 1,
        "wiserValueId": 2,
        "contexts": ["c"],
        "counts": {
            "markedWiser": 2,
            "markedNotWiser": 0,
            "markedLessWise": 0,
            "markedUnsure": 0,
            "impressions": 2,
        },
        "summary": {"wiserLikelihood": 1.0, "entropy": 1.0},
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (edge(wiserValueId=9), "not in values"),
        (edge(contexts="c"), "contexts"),
        (edge(counts={**edge()["counts"], "markedWiser": -1}), "non-negative"),
        (edge(counts={**edge()["counts"], "markedWiser": 1.5}), "non-negative"),
        (edge(summary={"wiserLikelihood": "high", "entropy": 1.0}), "numbers"),
    ],
)
def test_malformed_edges_are_named(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(MoralGraphFormatError, match=message):
        read_moral_graph({"values": [{"id": 1}, {"id": 2}], "edges": [bad]})
    with pytest.raises(MoralGraphFormatError, match="repeats the pair"):
        read_moral_graph({"values": [{"id": 1}, {"id": 2}], "edges": [edge(), edge()]})


def test_invalid_json_text_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(MoralGraphFormatError, match="invalid JSON"):
        read_moral_graph(path)


def test_graphml_export_is_safe_and_readable(tmp_path: Path) -> None:
    G = small_graph()
    safe = graphml_safe(G)
    assert safe.graph["thresholds.min_wiser"] == 2 and "skipped.duplicate" in safe.graph
    assert json.loads(safe.nodes[1]["evaluationCriteria"]) == ["MOMENTS when", "CHOICES that"]
    assert isinstance(G.nodes[1]["evaluationCriteria"], list)  # the input is untouched
    path = tmp_path / "graph.graphml"
    write_graphml(G, path)
    back = nx.read_graphml(path)
    assert back.number_of_edges() == G.number_of_edges()
    assert json.loads(back["1"]["2"]["contexts"]) == ["When asked"]
    assert back["1"]["2"]["markedWiser"] == 3 and back.graph["thresholds.max_entropy"] == 1.69


def test_graphml_of_the_published_graph(published: dict[str, Any], tmp_path: Path) -> None:
    G = read_moral_graph(published)
    write_graphml(G, tmp_path / "published.graphml")
    back = nx.read_graphml(tmp_path / "published.graphml")
    assert (back.number_of_nodes(), back.number_of_edges()) == (60, 69)
