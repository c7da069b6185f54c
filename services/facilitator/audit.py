"""The one writer of moderation events (:class:`~storage.tables.ModerationEvent`): who did what to which
target, why, and the details (``before``/``after``...). Each caller's action is in its own module; this
only writes the row, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from storage import repo_values
from storage.db import Session
from storage.schemas import ModerationEventCreate
from storage.tables import ModerationEvent


def record(
    session: Session,
    *,
    deliberation_id: int | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: int | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> ModerationEvent:
    """Write one moderation event (``deliberation_id`` None: the console's own log); the stored event, its
    id set."""
    event = repo_values.add_moderation_event(
        session,
        data=ModerationEventCreate(
            deliberation_id=deliberation_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            details=details or {},
        ),
    )
    assert event.id is not None
    return event
