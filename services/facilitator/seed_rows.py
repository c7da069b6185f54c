"""Seed values read and removed (no model library is loaded: ``cli.py seed list`` and ``seed remove`` start
fast, see ``tests/test_cli_imports.py``); adding and generating them is :mod:`services.facilitator.seeds`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import check_text
from services.facilitator import audit
from storage import repo_deliberations, repo_seeds, repo_values
from storage.db import Session, session_scope
from storage.errors import NotFound
from storage.repo_interviews import MINED_FLAG
from storage.schemas import SeedPublic
from storage.tables import CanonicalValue, ValuesCard


def seed_public(session: Session, value: CanonicalValue, card: ValuesCard) -> SeedPublic:
    assert value.id is not None and card.id is not None and card.question_id is not None
    members = repo_values.member_cards(session, canonical_ids=[value.id])[value.id]
    return SeedPublic(
        id=value.id,
        deliberation_id=value.deliberation_id,
        question_id=card.question_id,
        card_id=card.id,
        title=value.title,
        description=value.description,
        policies=list(value.policies),
        contexts_mined=MINED_FLAG in card.quality_flags,
        members=sum(c.id != card.id for c in members),
        votes=repo_values.vote_counts(session, canonical_ids=[value.id])[value.id],
        created_at=value.created_at,
    )


def own_seed(session: Session, value_id: int) -> tuple[CanonicalValue, ValuesCard]:
    try:
        value = repo_values.get_canonical_value(session, canonical_id=value_id, lock=True)
    except NotFound as exc:
        raise InvalidInput(str(exc)) from exc
    if not value.seed:
        raise InvalidInput(f"Value {value_id} is not a seed value.")
    found = [
        (v, c)
        for v, c in repo_seeds.list_seeds(session, deliberation_id=value.deliberation_id)
        if v.id == value_id
    ]
    if not found:
        raise InvalidInput(f"Seed value {value_id} has lost its own card (a split moved it).")
    return found[0]


def list_seeds(engine: Engine, *, deliberation_id: int, question_id: int | None = None) -> list[SeedPublic]:
    """The deliberation's seeds (of one question when given), oldest first."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return [
            seed_public(session, v, c)
            for v, c in repo_seeds.list_seeds(
                session, deliberation_id=deliberation_id, question_id=question_id
            )
        ]


@dataclass(frozen=True)
class SeedRemoval:
    value_id: int
    title: str
    stories_removed: int
    event_id: int


def remove_seed(engine: Engine, *, value_id: int, reason: str = "", actor: str = "cli") -> SeedRemoval:
    """Delete a seed nobody has used yet (with its stories; logged ``remove_seed`` with its text).

    A seed that a participant's card joined, or that was shown, voted on or judged, stays: the refusal says
    what is attached (merge it into another value instead, ``values merge``, to keep what people did).
    """
    reason = " ".join(check_text(reason, what="The reason", limit=2000).split())
    with session_scope(engine) as session:
        value, card = own_seed(session, value_id)
        assert card.id is not None
        used = repo_seeds.attached(session, value_id=value_id, own_card_id=card.id)
        if used.anything:
            parts = [
                f"{n} {what}"
                for n, what in (
                    (used.cards, "participant cards"),
                    (used.impressions, "impressions"),
                    (used.votes, "votes"),
                    (used.judgements, "judgements"),
                )
                if n
            ]
            raise InvalidInput(
                f"Seed value {value_id} is in use ({', '.join(parts)}) and cannot be removed; "
                "merge it into another value instead to keep what people did."
            )
        title = value.title
        snapshot = {"title": title, "description": value.description, "policies": list(value.policies)}
        deliberation_id, question_id = value.deliberation_id, card.question_id
        stories = repo_seeds.delete_seed(session, value=value, card=card)
        event = audit.record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="remove_seed",
            target_type="canonical_value",
            target_id=value_id,
            reason=reason,
            details={"question_id": question_id, "stories_removed": stories, "value": snapshot},
        )
        assert event.id is not None
        return SeedRemoval(value_id, title, stories, event.id)


def missing_seeds(session: Session, *, deliberation_id: int, required: int) -> list[tuple[int, int]]:
    """The questions of the deliberation with fewer than ``required`` seeds: (question id, seeds)."""
    if required <= 0:
        return []
    counts = repo_seeds.seed_counts(session, deliberation_id=deliberation_id)
    return [
        (q.id, counts.get(q.id, 0))
        for q in repo_deliberations.list_questions(session, deliberation_id=deliberation_id)
        if q.id is not None and counts.get(q.id, 0) < required
    ]
