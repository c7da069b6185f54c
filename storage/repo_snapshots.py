"""Repository functions for graph snapshots: each build of a deliberation's moral graph, newest last.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.schemas import GraphSnapshotCreate
from storage.tables import (
    GraphSnapshot,
)


def add_graph_snapshot(session: Session, *, data: GraphSnapshotCreate) -> GraphSnapshot:
    snapshot = GraphSnapshot.model_validate(data)
    session.add(snapshot)
    session.flush()
    return snapshot


def latest_graph_snapshot(session: Session, *, deliberation_id: int) -> GraphSnapshot | None:
    statement = (
        select(GraphSnapshot)
        .where(GraphSnapshot.deliberation_id == deliberation_id)
        .order_by(col(GraphSnapshot.created_at).desc(), col(GraphSnapshot.id).desc())
    )
    return session.exec(statement).first()
