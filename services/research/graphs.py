"""Researcher jobs: build a deliberation's moral graph from its judgements and store it as a snapshot, export
it.

This module fetches rows and stores snapshots; ``graph`` builds and ranks, :mod:`exports.mai_json` writes the
document.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
from sqlalchemy import Engine

import graph
from errors import InvalidInput
from exports.mai_json import Provenance, ValueRecord, moral_graph_json, with_provenance
from services.research.formats import EXPORT_FORMATS
from services.runtime.version import APP_VERSION
from storage import repo_deliberations, repo_judgements, repo_snapshots, repo_values
from storage.db import Session, session_scope
from storage.schemas import DeliberationConfig, GraphSnapshotCreate


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


def build_snapshot(engine: Engine, *, deliberation_id: int) -> GraphSummary:
    """Aggregate every judgement of the deliberation with its thresholds, rank the whole graph and each
    context (with :data:`graph.DEFAULT_RANK`), and store the result as a new snapshot (the latest one is
    what exports use).
    """
    params = graph.DEFAULT_RANK
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        thresholds = graph.Thresholds(
            **DeliberationConfig.stored(deliberation.config).graph_thresholds.model_dump()
        )
        matrix = repo_judgements.judgement_matrix(session, deliberation_id=deliberation_id)
        # Values a facilitator hid are left out, with every judgement from or to them.
        value_ids = repo_values.canonical_value_ids(
            session, deliberation_id=deliberation_id, include_hidden=False
        )
        contexts: dict[Hashable, str] = {
            c.id: c.text for c in repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
        }

    arrays = graph.encode_columns(*matrix.T, values=value_ids, contexts=list(contexts))
    aggregation = graph.aggregate_arrays(arrays)
    trimmed = graph.trim(aggregation.pairs, thresholds)
    per_context = graph.rank_contexts(
        aggregation.by_context,
        thresholds,
        alpha=params.alpha,
        variant=params.variant,
        top=params.top,
        max_iter=params.max_iter,
        tol=params.tol,
    )
    # Only the values that appear in the result are loaded (a big deliberation has thousands).
    shown = {trimmed.values[i] for i in np.unique(np.concatenate([trimmed.source, trimmed.target]))}
    shown |= {v for r in per_context.values() for v in (r.winner, *r.runner_ups) if v is not None}
    with session_scope(engine) as session:
        values = [
            ValueRecord(
                id=value_id,
                title=v.title,
                description=v.description,
                policies=tuple(v.policies),
                created_at=v.created_at,
                updated_at=v.updated_at,
                external_ref=v.external_ref,
                seed=v.seed,
            )
            for value_id, v in repo_values.canonical_values_by_id(session, ids=shown).items()
        ]
    G = graph.to_digraph(trimmed, skipped=aggregation.skipped)
    overall = None
    if G.number_of_edges():
        overall = graph.rank_graph(
            G,
            alpha=params.alpha,
            variant=params.variant,
            top=params.top,
            max_iter=params.max_iter,
            tol=params.tol,
        )
    document = moral_graph_json(G, values, contexts=contexts, overall=overall, per_context=per_context)

    title: dict[Hashable, str] = {v.id: v.title for v in values}
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
    data = GraphSnapshotCreate(
        deliberation_id=deliberation_id,
        thresholds=thresholds.as_dict(),
        params=params.as_dict(),
        judgements=len(matrix),
        values=G.number_of_nodes(),
        edges=G.number_of_edges(),
        contexts=len({c for e in document["edges"] for c in e["contexts"]}),
        skipped={k: int(v) for k, v in aggregation.skipped.items() if v},
        result=document,
        app_version=APP_VERSION,
    )
    with session_scope(engine) as session:
        snapshot_id = repo_snapshots.add_graph_snapshot(session, data=data).id
    assert snapshot_id is not None
    return GraphSummary(
        deliberation_id=deliberation_id,
        snapshot_id=snapshot_id,
        judgements=data.judgements,
        values=data.values,
        edges=data.edges,
        contexts=data.contexts,
        thresholds=data.thresholds,
        skipped=data.skipped,
        per_context=results,
    )


#: Moderation that changes which values a graph build takes, or their words (``services.facilitator``:
#: moderation and values); an ``edit_card`` only when it rewrote its value too (``value_id`` in details).
GRAPH_CHANGES = ("hide_value", "unhide_value", "merge_values", "split_value")
EDIT_CARD = "edit_card"
#: The most ``edit_card`` events looked at for an export (newest first; they are a facilitator's hand edits).
MAX_EDITS = 1000


def changed_since(session: Session, *, deliberation_id: int, since: datetime) -> str | None:
    """The newest moderation after ``since`` that a graph built before it does not reflect (a value hidden,
    shown again, merged, split or reworded), as ``"<action> at <time>"``; None when there is none."""
    newer = [
        event
        for action in GRAPH_CHANGES
        for event in repo_values.list_moderation_events(
            session, deliberation_id=deliberation_id, action=action, limit=1
        )
        if event.created_at > since
    ]
    for event in repo_values.list_moderation_events(
        session, deliberation_id=deliberation_id, action=EDIT_CARD, limit=MAX_EDITS
    ):
        if event.created_at <= since:
            break
        if event.details.get("value_id") is not None:
            newer.append(event)
            break
    if not newer:
        return None
    last = max(newer, key=lambda e: e.created_at)
    return f"{last.action} at {last.created_at.isoformat(timespec='seconds')}"


def export_graph(engine: Engine, *, deliberation_id: int, fmt: str, out: Path) -> Path:
    """Write the latest graph of the deliberation (building it first when there is none) to ``out``.

    A snapshot older than a moderation that changes the graph (:data:`GRAPH_CHANGES`, or a card edit that
    rewrote its value) is refused: it would export hidden values, or miss shown ones; build it again."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        snapshot = repo_snapshots.latest_graph_snapshot(session, deliberation_id=deliberation_id)
        change = None
        if snapshot is not None:
            change = changed_since(session, deliberation_id=deliberation_id, since=snapshot.created_at)
    if snapshot is not None and change is not None:
        raise InvalidInput(
            f"Deliberation {deliberation_id}'s values changed after its latest graph (snapshot "
            f"{snapshot.id}, built {snapshot.created_at.isoformat(timespec='seconds')}; {change}): build "
            f"the graph again first (`python cli.py build {deliberation_id}`), then export."
        )
    if snapshot is None:
        build_snapshot(engine, deliberation_id=deliberation_id)
        with session_scope(engine) as session:
            snapshot = repo_snapshots.latest_graph_snapshot(session, deliberation_id=deliberation_id)
    assert snapshot is not None and snapshot.id is not None
    provenance = Provenance(
        deliberation_id=deliberation_id,
        snapshot_id=snapshot.id,
        built_at=snapshot.created_at,
        thresholds=graph.Thresholds.from_dict(snapshot.thresholds),
        params=graph.RankParams.from_dict(snapshot.params),
        judgements=snapshot.judgements,
        app_version=snapshot.app_version,
    )
    document = with_provenance(snapshot.result, provenance)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "mai-json":
            out.write_text(graph.moral_graph_text(document), encoding="utf-8")
        else:
            G: nx.DiGraph = graph.read_moral_graph({"values": document["values"], "edges": document["edges"]})
            G.graph.update({"provenance": json.dumps(document["provenance"])})
            graph.write_graphml(G, out)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {out}: {exc.strerror or exc}.") from exc
    return out
