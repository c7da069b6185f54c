"""GraphML export: a copy of the graph whose attributes GraphML can hold, written by networkx.

GraphML stores only scalars, so lists (``contexts``, ``evaluationCriteria``) become JSON strings, mappings
on the graph (``thresholds``, ``skipped``) become one attribute per key (``thresholds.min_wiser``), None is
left out and numpy scalars become Python numbers.

Examples
--------
>>> import io, networkx as nx
>>> G = nx.DiGraph(thresholds={"min_wiser": 2})
>>> G.add_edge(1, 2, contexts=["When asked"], wiserLikelihood=0.75)
>>> H = graphml_safe(G)
>>> H.graph, H[1][2]["contexts"]
({'thresholds.min_wiser': 2}, '["When asked"]')
>>> buffer = io.BytesIO()
>>> write_graphml(G, buffer)
>>> back = nx.read_graphml(io.BytesIO(buffer.getvalue()))
>>> back["1"]["2"]["wiserLikelihood"], back.graph["thresholds.min_wiser"]
(0.75, 2)
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import IO, Any

import networkx as nx
import numpy as np


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return json.dumps([_scalar(v) for v in items], ensure_ascii=False, default=str)
    if isinstance(value, Mapping):
        return json.dumps({str(k): _scalar(v) for k, v in value.items()}, ensure_ascii=False, default=str)
    return str(value)


def _safe(attrs: Mapping[str, Any], *, flatten: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if flatten and isinstance(value, Mapping):
            out.update({f"{key}.{k}": _scalar(v) for k, v in value.items() if v is not None})
        else:
            out[str(key)] = _scalar(value)
    return out


def graphml_safe(G: nx.DiGraph[Hashable]) -> nx.DiGraph[Hashable]:
    """A copy of ``G`` with GraphML-safe attributes (the input is not modified)."""
    H: nx.DiGraph[Hashable] = nx.DiGraph()
    H.graph.update(_safe(G.graph, flatten=True))
    H.add_nodes_from((node, _safe(attrs, flatten=False)) for node, attrs in G.nodes(data=True))
    H.add_edges_from((u, v, _safe(attrs, flatten=False)) for u, v, attrs in G.edges(data=True))
    return H


def write_graphml(G: nx.DiGraph[Hashable], path: str | Path | IO[bytes]) -> None:
    """Write ``G`` as GraphML (via :func:`graphml_safe` and :func:`networkx.write_graphml`)."""
    nx.write_graphml(graphml_safe(G), path)
