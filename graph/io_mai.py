"""Read and write MAI's moral-graph JSON: ``{values: [...], edges: [...]}`` (DOMAIN.md §8).

A value is ``{id, title, instructionsShort, instructionsDetailed, evaluationCriteria[], ...}`` (node
``id``, every other key a node attribute); an edge is ``{sourceValueId, wiserValueId, contexts[],
counts{markedWiser, markedNotWiser, markedLessWise, markedUnsure, impressions},
summary{wiserLikelihood, entropy}}``. Writing adds ``thresholds`` (and ``skipped``) from ``G.graph`` so
every export names the trimming rule; readers of MAI's schema ignore the extra keys. A NaN likelihood is
written as ``null`` (JSON has no NaN) and read back as NaN. This module is the generic part (any graph, node
attributes as they are); the studio's document (value rows as MAI values, context labels, rankings,
provenance) is built on it by :mod:`exports.mai_json`.

Examples
--------
>>> import networkx as nx
>>> G = nx.DiGraph(thresholds={"min_wiser": 2, "min_likelihood": 0.33, "max_entropy": 1.69})
>>> G.add_node(1, title="Honesty")
>>> G.add_node(2, title="Care")
>>> G.add_edge(1, 2, markedWiser=3, markedNotWiser=0, markedLessWise=0, markedUnsure=1,
...            impressions=4, wiserLikelihood=0.75, entropy=1.4056390622295665, contexts=["When asked"])
>>> doc = moral_graph_document(G)
>>> doc["edges"][0]["counts"]["markedWiser"], sorted(doc)
(3, ['edges', 'thresholds', 'values'])
>>> H = read_moral_graph(doc)
>>> list(H.edges(data="wiserLikelihood")), H.nodes[1]["title"], H.graph["thresholds"]["min_wiser"]
([(1, 2, 0.75)], 'Honesty', 2)
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import IO, Any

import networkx as nx

from graph.errors import InvalidInputError, MoralGraphFormatError
from graph.model import PairStats, Thresholds

COUNT_KEYS: tuple[str, ...] = (
    "markedWiser",
    "markedNotWiser",
    "markedLessWise",
    "markedUnsure",
    "impressions",
)
SUMMARY_KEYS: tuple[str, ...] = ("wiserLikelihood", "entropy")


def _number(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def mai_edge(stats: PairStats) -> dict[str, Any]:
    """One :class:`~graph.model.PairStats` as a MAI edge record (MAI's key order).

    >>> from graph.model import PairStats
    >>> mai_edge(PairStats(167, 174, ("When making decisions",), 3, 0, 0, 1, 4, 0.75, 1.4))["summary"]
    {'wiserLikelihood': 0.75, 'entropy': 1.4}
    """
    counts = (stats.wiser, stats.not_wiser, stats.less_wise, stats.unsure, stats.impressions)
    return {
        "sourceValueId": stats.source,
        "wiserValueId": stats.target,
        "contexts": list(stats.contexts),
        "counts": dict(zip(COUNT_KEYS, counts, strict=True)),
        "summary": {"wiserLikelihood": _number(stats.wiser_likelihood), "entropy": _number(stats.entropy)},
    }


def moral_graph_document(G: nx.DiGraph[Hashable], *, metadata: bool = True) -> dict[str, Any]:
    """The MAI JSON document of a moral graph (nodes: values; edges with MAI's attribute names).

    ``metadata`` adds ``thresholds`` and ``skipped`` from ``G.graph`` when they are set.
    """
    values = [{"id": node, **attrs} for node, attrs in G.nodes(data=True)]
    edges = []
    for u, v, attrs in G.edges(data=True):
        missing = [k for k in (*COUNT_KEYS, *SUMMARY_KEYS, "contexts") if k not in attrs]
        if missing:
            raise InvalidInputError(f"edge {u!r} -> {v!r} lacks {missing}")
        edges.append(
            {
                "sourceValueId": u,
                "wiserValueId": v,
                "contexts": list(attrs["contexts"]),
                "counts": {k: attrs[k] for k in COUNT_KEYS},
                "summary": {k: _number(attrs[k]) for k in SUMMARY_KEYS},
            }
        )
    document: dict[str, Any] = {"values": values, "edges": edges}
    if metadata:
        for key in ("thresholds", "skipped"):
            if G.graph.get(key) is not None:
                document[key] = dict(G.graph[key])
    return document


def moral_graph_text(document: Mapping[str, Any]) -> str:
    """A moral-graph document as the JSON text every export writes (indented, UTF-8, no NaN, a final
    newline).

    >>> moral_graph_text({"values": [{"id": 1, "title": "Soin"}], "edges": []}).splitlines()[3]
    '      "id": 1,'
    """
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_moral_graph(G: nx.DiGraph[Hashable], path: str | Path | IO[str], *, metadata: bool = True) -> None:
    """Write :func:`moral_graph_document` as JSON (:func:`moral_graph_text`) to a path or a text file."""
    text = moral_graph_text(moral_graph_document(G, metadata=metadata))
    if isinstance(path, str | Path):
        Path(path).write_text(text, encoding="utf-8")
    else:
        path.write(text)


def _fail(message: str) -> MoralGraphFormatError:
    return MoralGraphFormatError(f"not a moral-graph document: {message}")


def _edge(G: nx.DiGraph[Hashable], i: int, edge: Any) -> None:
    if not isinstance(edge, Mapping):
        raise _fail(f"edges[{i}] is not an object")
    try:
        u, v, contexts = edge["sourceValueId"], edge["wiserValueId"], edge["contexts"]
        counts, summary = edge["counts"], edge["summary"]
        attrs: dict[str, Any] = {k: counts[k] for k in COUNT_KEYS}
        attrs.update({k: math.nan if summary[k] is None else summary[k] for k in SUMMARY_KEYS})
    except (KeyError, TypeError) as exc:
        raise _fail(f"edges[{i}] lacks {exc}") from exc
    if u not in G or v not in G:
        raise _fail(f"edges[{i}] names a value that is not in values: {u!r} -> {v!r}")
    if not isinstance(contexts, list) or not all(isinstance(c, Hashable) for c in contexts):
        raise _fail(f"edges[{i}].contexts is not a list")
    if any(isinstance(attrs[k], bool) or not isinstance(attrs[k], int) or attrs[k] < 0 for k in COUNT_KEYS):
        raise _fail(f"edges[{i}].counts must be non-negative integers")
    if any(isinstance(attrs[k], bool) or not isinstance(attrs[k], int | float) for k in SUMMARY_KEYS):
        raise _fail(f"edges[{i}].summary must hold numbers")
    if G.has_edge(u, v):
        raise _fail(f"edges[{i}] repeats the pair {u!r} -> {v!r}")
    G.add_edge(u, v, contexts=list(contexts), **attrs)


def read_moral_graph(source: str | Path | IO[str] | Mapping[str, Any]) -> nx.DiGraph[Hashable]:
    """A moral graph from MAI's JSON (a path, a text file or an already parsed document).

    Raises
    ------
    MoralGraphFormatError
        When the document does not follow the schema (each problem named).
    """
    document: Any = source
    try:
        if isinstance(source, str | Path):
            document = json.loads(Path(source).read_text(encoding="utf-8"))
        elif hasattr(source, "read"):
            document = json.load(source)
    except json.JSONDecodeError as exc:
        raise _fail(f"invalid JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise _fail("the top level is not an object")
    if not isinstance(document.get("values"), list) or not isinstance(document.get("edges"), list):
        raise _fail("it needs lists 'values' and 'edges'")
    G: nx.DiGraph[Hashable] = nx.DiGraph()
    thresholds = document.get("thresholds")
    try:
        G.graph["thresholds"] = None if thresholds is None else Thresholds.from_dict(thresholds).as_dict()
    except (InvalidInputError, TypeError) as exc:
        raise _fail(f"bad thresholds ({exc})") from exc
    if isinstance(document.get("skipped"), Mapping):
        G.graph["skipped"] = dict(document["skipped"])
    for i, value in enumerate(document["values"]):
        if not isinstance(value, Mapping) or "id" not in value or not isinstance(value["id"], Hashable):
            raise _fail(f"values[{i}] has no usable id")
        if value["id"] in G:
            raise _fail(f"values[{i}] repeats id {value['id']!r}")
        G.add_node(value["id"], **{k: x for k, x in value.items() if k != "id"})
    for i, edge in enumerate(document["edges"]):
        _edge(G, i, edge)
    return G
