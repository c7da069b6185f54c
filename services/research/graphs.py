"""Researcher jobs: build a deliberation's moral graph from its judgements, store it, export it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
from sqlalchemy import Engine

import graph
from errors import InvalidInput
from services.runtime.version import APP_VERSION
from storage import repo_deliberations, repo_judgements, repo_snapshots, repo_values
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from storage.tables import GraphSnapshot

ExportFormat = Literal["mai-json", "graphml"]
EXPORT_FORMATS: tuple[str, ...] = ("mai-json", "graphml")


@dataclass(frozen=True)
class ContextResult:
    context: str
    winner: str | None  # the winning value's title
    support: str
    runner_ups: tuple[str, ...]
    edges: int


@dataclass(frozen=True)
class GraphSummary:
    deliberation_id: int
    snapshot_id: int
    judgements: int
    values: int
    edges: int
    contexts: int
    thresholds: dict[str, float]
    skipped: dict[str, int]
    per_context: tuple[ContextResult, ...]


def build_graph(engine: Engine, *, deliberation_id: int) -> GraphSummary:
    """Aggregate every judgement of the deliberation with its thresholds, rank the whole graph and each
    context, and store the result as a new snapshot (the latest one is what exports use).
    """
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        thresholds = graph.Thresholds(
            **DeliberationConfig.model_validate(deliberation.config).graph_thresholds.model_dump()
        )
        matrix = repo_judgements.judgement_matrix(session, deliberation_id=deliberation_id)
        value_ids = repo_values.canonical_value_ids(session, deliberation_id=deliberation_id)
        contexts = {
            c.id: c.text for c in repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
        }

    arrays = graph.encode_columns(*matrix.T, values=value_ids, contexts=list(contexts))
    aggregation = graph.aggregate_arrays(arrays)
    trimmed = graph.trim(aggregation.pairs, thresholds)
    per_context = graph.rank_contexts(aggregation.by_context, thresholds)
    # Only the values that appear in the result are loaded (a big deliberation has thousands).
    shown = {trimmed.values[i] for i in np.unique(np.concatenate([trimmed.source, trimmed.target]))}
    shown |= {v for r in per_context.values() for v in (r.winner, *r.runner_ups) if v is not None}
    with session_scope(engine) as session:
        values = list(repo_values.canonical_values_by_id(session, ids=shown).values())
    attributes = {
        v.id: {
            "title": v.title,
            "instructionsShort": v.description,
            "instructionsDetailed": "",
            "evaluationCriteria": list(v.policies),
            "createdAt": v.created_at.isoformat(),
            "updatedAt": v.updated_at.isoformat(),
            **({"externalRef": v.external_ref} if v.external_ref else {}),
        }
        for v in values
    }
    G = graph.to_digraph(trimmed, values=attributes, skipped=aggregation.skipped)
    overall = graph.rank_graph(G) if G.number_of_edges() else None

    document = graph.moral_graph_document(G)
    for edge in document["edges"]:
        edge["contexts"] = [contexts.get(c, str(c)) for c in edge["contexts"]]
    title = {v.id: v.title for v in values}
    results = tuple(
        ContextResult(
            context=contexts.get(c, str(c)),
            winner=title.get(r.winner) if r.winner is not None else None,
            support=str(r.support),
            runner_ups=tuple(title.get(v, str(v)) for v in r.runner_ups),
            edges=r.n_edges,
        )
        for c, r in per_context.items()
    )
    document["rankings"] = {
        "overall": _ranking_json(overall),
        "contexts": {contexts.get(c, str(c)): _ranking_json(r) for c, r in per_context.items()},
    }
    snapshot = GraphSnapshot(
        deliberation_id=deliberation_id,
        thresholds=thresholds.as_dict(),
        params={"ranking": "pagerank", "variant": "networkx", "alpha": 0.85},
        judgements=len(matrix),
        values=G.number_of_nodes(),
        edges=G.number_of_edges(),
        contexts=len({c for e in document["edges"] for c in e["contexts"]}),
        skipped={k: int(v) for k, v in aggregation.skipped.items() if v},
        result=document,
        app_version=APP_VERSION,
    )
    with session_scope(engine) as session:
        repo_snapshots.add_graph_snapshot(session, snapshot=snapshot)
    assert snapshot.id is not None
    return GraphSummary(
        deliberation_id=deliberation_id,
        snapshot_id=snapshot.id,
        judgements=snapshot.judgements,
        values=snapshot.values,
        edges=snapshot.edges,
        contexts=snapshot.contexts,
        thresholds=snapshot.thresholds,
        skipped=snapshot.skipped,
        per_context=results,
    )


def _ranking_json(ranking: graph.Ranking | None) -> dict[str, Any] | None:
    if ranking is None:
        return None
    return {
        "winner": ranking.winner,
        "runnerUps": list(ranking.runner_ups),
        "support": str(ranking.support),
        "z": _finite(ranking.z),
        "ratio": _finite(ranking.ratio),
        "scores": {str(k): v for k, v in ranking.scores.items()},
    }


def _finite(x: float) -> float | None:
    return x if x == x and abs(x) != float("inf") else None


def export_graph(engine: Engine, *, deliberation_id: int, fmt: str, out: Path) -> Path:
    """Write the latest graph of the deliberation (building it first when there is none) to ``out``."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        snapshot = repo_snapshots.latest_graph_snapshot(session, deliberation_id=deliberation_id)
    if snapshot is None:
        build_graph(engine, deliberation_id=deliberation_id)
        with session_scope(engine) as session:
            snapshot = repo_snapshots.latest_graph_snapshot(session, deliberation_id=deliberation_id)
    assert snapshot is not None and snapshot.id is not None
    document = dict(snapshot.result)
    document["provenance"] = {
        "deliberation_id": deliberation_id,
        "snapshot_id": snapshot.id,
        "built_at": snapshot.created_at.isoformat(),
        "thresholds": snapshot.thresholds,
        "params": snapshot.params,
        "judgements": snapshot.judgements,
        "app_version": snapshot.app_version,
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "mai-json":
            out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            G: nx.DiGraph = graph.read_moral_graph({"values": document["values"], "edges": document["edges"]})
            G.graph.update({"provenance": json.dumps(document["provenance"])})
            graph.write_graphml(G, out)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {out}: {exc.strerror or exc}.") from exc
    return out
