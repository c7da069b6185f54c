"""Repository functions for graph snapshots: each build of a deliberation's moral graph, newest last.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.tables import (
    GraphSnapshot,
)


def add_graph_snapshot(session: Session, *, snapshot: GraphSnapshot) -> GraphSnapshot:
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
