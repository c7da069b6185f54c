"""The three ways of building the moral graph that the benchmark times, each returning what it found.

* :func:`fast_build`: what the product runs (``graph.encode_columns`` → ``aggregate_arrays`` → ``trim`` →
  ``rank_contexts`` + winners → ``rank_pairs`` for the whole graph), from integer id columns.
* :func:`reference_build`: the slow, obvious way: ``graph.aggregate_reference`` (plain Python loops), then
  one networkx DiGraph per context (and one for the whole graph) ranked by ``graph.pagerank_reference``
  (pure-Python PageRank).
* :func:`populate_sqlite`, :func:`raw_read`, :func:`db_build`: the same judgements in a fresh SQLite
  database made by ``storage.db.init_db``; a plain ``sqlite3`` read of the rows beside what
  ``services.research.graphs.build_snapshot`` does up to its export work
  (``repo_judgements.judgement_matrix``, ``repo_values.canonical_value_ids``,
  ``repo_deliberations.list_contexts``, :func:`fast_build`, then ``repo_values.get_canonical_values`` for
  the values the result shows).

All return winners as ``{context id: value id or None}`` so that the paths can be compared.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import numpy as np
from sqlalchemy import Engine, insert
from sqlmodel import SQLModel

import graph
from bench.graph.data import ANSWER_NAMES, Synthetic
from graph.rank import TIE_DECIMALS
from storage import repo_deliberations, repo_judgements, repo_values
from storage.db import init_db, session_scope
from storage.tables import CanonicalValue, Context, Deliberation, EdgeHypothesis, Judgement, Participant

Columns = Sequence[np.ndarray]


@dataclass
class BuildResult:
    """Winners per context, the overall winner, edge counts and seconds per stage."""

    winners: dict[Hashable, Hashable | None]
    overall_winner: Hashable | None
    n_edges: int  # edges of the trimmed whole graph
    context_edges: dict[Hashable, int]  # edges of each context's trimmed graph
    stages: dict[str, float] = field(default_factory=dict)
    # what the fast build found, kept for the database path (None / empty for the reference)
    trimmed: graph.PairCounts | None = field(default=None, repr=False)
    rankings: Mapping[Hashable, graph.Ranking] = field(default_factory=dict, repr=False)
    shown_values: int | None = None  # value rows loaded by the database path (the values shown)

    @property
    def seconds(self) -> float:
        return sum(self.stages.values())


def fast_build(
    columns: Columns,
    value_ids: Sequence[Hashable],
    context_ids: Sequence[Hashable],
    thresholds: graph.Thresholds,
) -> BuildResult:
    """Encode, aggregate, trim, rank every context and the whole graph (the product's fast path)."""
    clock = time.perf_counter
    t0 = clock()
    arrays = graph.encode_columns(*columns, values=value_ids, contexts=context_ids)
    t1 = clock()
    aggregation = graph.aggregate_arrays(arrays)
    t2 = clock()
    edges = graph.trim(aggregation.pairs, thresholds)
    t3 = clock()
    per_context = graph.rank_contexts(aggregation.by_context, thresholds)
    t4 = clock()
    winners = {c: r.winner for c, r in per_context.items()}
    context_edges = {c: r.n_edges for c, r in per_context.items()}
    t5 = clock()
    overall = graph.rank_pairs(edges, thresholds)
    t6 = clock()
    return BuildResult(
        winners=winners,
        overall_winner=overall.winner,
        n_edges=len(edges),
        context_edges=context_edges,
        trimmed=edges,
        rankings=per_context,
        stages={
            "encode": t1 - t0,
            "aggregate": t2 - t1,
            "trim": t3 - t2,
            "rank contexts": t4 - t3,
            "winners": t5 - t4,
            "rank whole graph": t6 - t5,
        },
    )


def _digraph(pairs: Iterable[graph.PairStats]) -> nx.DiGraph[Hashable]:
    G: nx.DiGraph[Hashable] = nx.DiGraph()
    for p in pairs:
        G.add_edge(
            p.source,
            p.target,
            contexts=list(p.contexts),
            markedWiser=p.wiser,
            markedNotWiser=p.not_wiser,
            markedLessWise=p.less_wise,
            markedUnsure=p.unsure,
            impressions=p.impressions,
            wiserLikelihood=p.wiser_likelihood,
            entropy=p.entropy,
        )
    return G


def _winner(G: nx.DiGraph[Hashable], position: dict[Hashable, int]) -> Hashable | None:
    """Top value by pure-Python PageRank; ties (to TIE_DECIMALS) go to the value listed first."""
    weights = {(u, v): attrs["wiserLikelihood"] for u, v, attrs in G.edges(data=True)}
    scores = graph.pagerank_reference(weights, list(G))
    if not scores:
        return None
    return min(scores, key=lambda v: (-round(scores[v], TIE_DECIMALS), position[v]))


def reference_build(
    rows: Sequence[graph.Judgement],
    value_ids: Sequence[Hashable],
    context_ids: Sequence[Hashable],
    thresholds: graph.Thresholds,
) -> BuildResult:
    """The same work with the reference implementation: dict aggregation, a networkx graph per context."""
    clock = time.perf_counter
    position = {v: i for i, v in enumerate(value_ids)}

    def keeps(p: graph.PairStats) -> bool:
        return thresholds.keeps(wiser=p.wiser, likelihood=p.wiser_likelihood, entropy=p.entropy)

    t0 = clock()
    reference = graph.aggregate_reference(rows, values=value_ids)
    t1 = clock()
    winners: dict[Hashable, Hashable | None] = {}
    context_edges: dict[Hashable, int] = {}
    for c in context_ids:
        G = _digraph(p for p in reference.by_context.get(c, []) if keeps(p))
        winners[c] = _winner(G, position)
        context_edges[c] = G.number_of_edges()
    t2 = clock()
    whole = _digraph(p for p in reference.pairs if keeps(p))
    overall = _winner(whole, position)
    t3 = clock()
    return BuildResult(
        winners=winners,
        overall_winner=overall,
        n_edges=whole.number_of_edges(),
        context_edges=context_edges,
        stages={"aggregate": t1 - t0, "graphs + rank contexts": t2 - t1, "rank whole graph": t3 - t2},
    )


def mismatches(a: BuildResult, b: BuildResult) -> int:
    """Contexts (and the whole graph) whose winners differ."""
    keys = set(a.winners) | set(b.winners)
    differ = sum(a.winners.get(k) != b.winners.get(k) for k in keys)
    return differ + (a.overall_winner != b.overall_winner)


# --- the database path -------------------------------------------------------------------------------

CHUNK = 50_000
DELIBERATION_ID = 1


def _insert(engine: Engine, table: type[SQLModel], rows: Iterable[dict[str, object]]) -> None:
    """Insert rows into ``table``'s table in chunks, one transaction each (SQLAlchemy core executemany)."""
    chunk: list[dict[str, object]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            with engine.begin() as connection:
                connection.execute(insert(table), chunk)
            chunk = []
    if chunk:
        with engine.begin() as connection:
            connection.execute(insert(table), chunk)


def populate_sqlite(path: Path, data: Synthetic) -> Engine:
    """A fresh SQLite database at ``path`` (``storage.db.init_db``) holding the synthetic deliberation.

    Foreign keys are enforced (``PRAGMA foreign_keys = ON``), so the deliberation, its canonical values,
    contexts, participants and hypotheses are written first, with the ids the synthetic data uses.
    """
    engine = init_db(f"sqlite:///{path}")
    now = datetime(2026, 11, 24, tzinfo=UTC)
    d = DELIBERATION_ID
    _insert(
        engine,
        Deliberation,
        [
            {
                "id": d,
                "title": "bench",
                "welcome_text": "",
                "consent_text": "",
                "status": "open",
                "config": {},
                "open_join_code": None,
                "external_ref": None,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    _insert(
        engine,
        CanonicalValue,
        (
            {
                "id": v,
                "deliberation_id": d,
                "title": f"Value {v}",
                "description": "",
                "policies": [],
                "dedup_run": None,
                "external_ref": None,
                "created_at": now,
                "updated_at": now,
            }
            for v in data.value_ids
        ),
    )
    _insert(
        engine,
        Context,
        (
            {
                "id": c,
                "deliberation_id": d,
                "text": f"When facing situation {c}",
                "source": "generated",
                "external_ref": None,
                "created_at": now,
            }
            for c in data.context_ids
        ),
    )
    _insert(
        engine,
        Participant,
        (
            {
                "id": p,
                "deliberation_id": d,
                "token": f"bench-{p}",
                "external_id": None,
                "cohort_id": None,
                "stage": "done",
                "consented_at": now,
                "demographics": {},
                "created_at": now,
                "last_seen_at": now,
            }
            for p in range(1, data.n_participants + 1)
        ),
    )
    hypotheses = zip(
        data.hyp_source.tolist(), data.hyp_target.tolist(), data.hyp_context.tolist(), strict=True
    )
    _insert(
        engine,
        EdgeHypothesis,
        (
            {
                "id": h,
                "deliberation_id": d,
                "from_value_id": a,
                "to_value_id": b,
                "context_id": c,
                "story": "",
                "run_id": "bench",
                "prompt_hash": "",
                "model_id": "",
                "judge_scores": None,
                "shown": True,
                "created_at": now,
            }
            for h, (a, b, c) in enumerate(hypotheses, start=1)
        ),
    )
    columns = [data.participant, data.hypothesis, data.source, data.target, data.context, data.answer]
    judgements = zip(*(c.tolist() for c in columns), strict=True)
    _insert(
        engine,
        Judgement,
        (
            {
                "id": i,
                "deliberation_id": d,
                "participant_id": p,
                "hypothesis_id": h,
                "from_value_id": a,
                "to_value_id": b,
                "context_id": c,
                "answer": ANSWER_NAMES[t],
                "reason": None,
                "created_at": now + timedelta(seconds=i),
            }
            for i, (p, h, a, b, c, t) in enumerate(judgements, start=1)
        ),
    )
    engine.dispose()  # close the pooled connections, then fold the WAL into the database file
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return engine


RAW_SQL = (
    "SELECT participant_id, from_value_id, to_value_id, context_id, answer FROM judgement "
    "WHERE deliberation_id = ? ORDER BY id"
)
#: The same rows with the answer coded by SQL's CASE, as ``repo_judgements.judgement_matrix``'s query
#: asks for them.
CODED_SQL = RAW_SQL.replace(
    "answer FROM",
    "CASE WHEN (answer = 'upgrade') THEN 0 WHEN (answer = 'no_upgrade') THEN 1 "
    "WHEN (answer = 'not_sure') THEN 2 ELSE -1 END FROM",
)


def raw_read(path: Path, deliberation_id: int = DELIBERATION_ID, *, sql: str = RAW_SQL) -> tuple[float, int]:
    """Seconds to fetch the rows ``judgement_matrix`` reads with plain ``sqlite3`` (tuples), and their count.

    The connection is opened before the clock starts; the rows stay Python tuples (no conversion).
    """
    connection = sqlite3.connect(path)
    try:
        start = time.perf_counter()
        rows = connection.execute(sql, (deliberation_id,)).fetchall()
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    return seconds, len(rows)


def shown_value_ids(result: BuildResult) -> list[int]:
    """The values ``services.research.graphs.build_snapshot`` loads rows for: those on a trimmed edge of the
    whole graph, and each context's winner and runner-ups. In id order.
    """
    trimmed = result.trimmed
    assert trimmed is not None, "only the fast build keeps its trimmed edges"
    shown = {trimmed.values[i] for i in np.unique(np.concatenate([trimmed.source, trimmed.target]))}
    shown |= {v for r in result.rankings.values() for v in (r.winner, *r.runner_ups) if v is not None}
    return sorted(int(v) for v in shown)


def db_build(
    engine: Engine, thresholds: graph.Thresholds, deliberation_id: int = DELIBERATION_ID
) -> BuildResult:
    """What ``services.research.graphs.build_snapshot`` does before its export work, stage by stage.

    One session reads ``repo_judgements.judgement_matrix`` (the driver's cursor straight into numpy),
    ``repo_values.canonical_value_ids`` (ids only) and ``repo_deliberations.list_contexts``; then
    :func:`fast_build`; then a second session loads ``repo_values.get_canonical_values`` for the values
    the result shows. (The deliberation row and its thresholds, one row, are not timed; the networkx
    graph and the export document are not built.)
    """
    clock = time.perf_counter
    t0 = clock()
    with session_scope(engine) as session:
        matrix = repo_judgements.judgement_matrix(session, deliberation_id=deliberation_id)
        t1 = clock()
        value_ids = repo_values.canonical_value_ids(session, deliberation_id=deliberation_id)
        t2 = clock()
        contexts = {
            c.id: c.text for c in repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
        }
    t3 = clock()  # the session's commit and close count with list_contexts
    result = fast_build(tuple(matrix.T), value_ids, list(contexts), thresholds)
    t4 = clock()
    with session_scope(engine) as session:
        values = list(repo_values.canonical_values_by_id(session, ids=shown_value_ids(result)).values())
    t5 = clock()
    result.shown_values = len(values)
    result.stages = {
        "judgement_matrix": t1 - t0,
        "canonical_value_ids": t2 - t1,
        "list_contexts": t3 - t2,
        **result.stages,
        "get_canonical_values": t5 - t4,
    }
    return result
