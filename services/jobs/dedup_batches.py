"""Writing one dedup batch's outcome (for :mod:`services.jobs.dedup`): its decisions, or its failure.

Each is one transaction with its moderation event: ``dedup_batch`` (every group, joined or new, with the
model's reason) or ``dedup_batch_failed`` (the batch's cards, the error line and each broken rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from errors import one_line
from interviews import dedup as core
from interviews.text_rules import clean_model_text
from storage import repo_values
from storage.db import session_scope
from storage.schemas import CanonicalValueCreate, ModerationEventCreate
from storage.tables import CanonicalValue, ValuesCard


@dataclass(frozen=True)
class BatchFailure:
    """A batch skipped because the model's partition stayed invalid; its cards are still pending."""

    number: int
    card_ids: tuple[int, ...]
    error: str
    event_id: int  # the ``dedup_batch_failed`` moderation event


@dataclass(frozen=True)
class RunContext:
    """What every batch of one run shares."""

    engine: Engine
    deliberation_id: int
    run_id: str
    model_name: str
    actor: str = "dedup"  # who started the run (a console job: the facilitator), else the job's name

    def event(self, action: str, **details: Any) -> ModerationEventCreate:
        """A moderation event of this run (``dedup_batch`` or ``dedup_batch_failed``) with its details."""
        return ModerationEventCreate(
            deliberation_id=self.deliberation_id,
            actor=self.actor,
            action=action,
            target_type="deliberation",
            target_id=self.deliberation_id,
            details={"run_id": self.run_id, "model": self.model_name, **details},
        )


def value_text(row: ValuesCard | CanonicalValue) -> core.ValueText:
    assert row.id is not None
    return core.ValueText(row.id, row.title, row.description, tuple(row.policies))


def commit_batch(
    run: RunContext,
    *,
    number: int,
    batch: list[int],
    batch_cards: Sequence[core.ValueText],
    offered: Sequence[core.ValueText],
    result: core.PartitionResult,
) -> tuple[list[tuple[core.ValueText, list[int]]], int, int]:
    """Apply one batch's decisions in one transaction; ``(created values with their cards, joined, skipped)``.

    Cards that are no longer pending (linked by someone else while the model ran), and joins to a value that
    was merged away meanwhile, are skipped.
    """
    created: list[tuple[core.ValueText, list[int]]] = []
    joined = skipped = 0
    log: list[dict[str, Any]] = []
    with session_scope(run.engine) as session:
        still = {
            c.id: c
            for c in repo_values.pending_cards(
                session, deliberation_id=run.deliberation_id, card_ids=batch, lock=True
            )
        }
        live = repo_values.canonical_values_by_id(
            session, ids=[d.canonical_id for d in result.decisions if d.canonical_id is not None]
        )
        for decision in result.decisions:
            members = [still[i] for i in decision.card_ids if i in still]
            skipped += len(decision.card_ids) - len(members)
            entry: dict[str, Any] = {"cards": list(decision.card_ids), "reason": decision.reason}
            if decision.notes:
                entry["notes"] = list(decision.notes)
            if not members:
                log.append(entry | {"skipped": True})
                continue
            if decision.canonical_id is not None:
                if decision.canonical_id not in live:  # merged away while the model was thinking
                    skipped += len(members)
                    log.append(entry | {"join": decision.canonical_id, "skipped": True})
                    continue
                repo_values.link_cards(session, cards=members, canonical_id=decision.canonical_id)
                joined += len(members)
                log.append(entry | {"join": decision.canonical_id})
                continue
            text = decision.new_value or _representative(decision, batch_cards)
            value = repo_values.add_canonical_value(
                session,
                data=CanonicalValueCreate(
                    deliberation_id=run.deliberation_id,
                    title=clean_model_text(text.title).strip(),  # the model may have written it
                    description=clean_model_text(text.description).strip(),
                    policies=[clean_model_text(p).strip() for p in text.policies],
                    dedup_run=run.run_id,
                ),
            )
            assert value.id is not None
            repo_values.link_cards(session, cards=members, canonical_id=value.id)
            created.append((value_text(value), [m.id for m in members if m.id is not None]))
            log.append(entry | {"new": value.id, "rewritten": decision.new_value is not None})
        repo_values.add_moderation_event(
            session,
            data=run.event(
                "dedup_batch",
                batch=number,
                prompt=result.prompt_ref,
                attempts=result.attempts,
                offered=[v.id for v in offered],
                groups=log,
            ),
        )
    return created, joined, skipped


def record_failure(
    run: RunContext,
    *,
    number: int,
    batch: list[int],
    offered: Sequence[core.ValueText],
    error: core.PartitionError,
) -> BatchFailure:
    """Log a ``dedup_batch_failed`` event (the batch's cards, the error, each broken rule)."""
    line = one_line(error)
    with session_scope(run.engine) as session:
        event = repo_values.add_moderation_event(
            session,
            data=run.event(
                "dedup_batch_failed",
                batch=number,
                cards=list(batch),
                error=line,
                problems=list(error.problems),
                prompt=core.prompt_ref(),
                offered=[v.id for v in offered],
            ),
        )
        assert event.id is not None
        return BatchFailure(number, tuple(batch), line, event.id)


def _representative(decision: core.Decision, cards: Sequence[core.ValueText]) -> core.ValueText:
    wanted = decision.representative_id if decision.representative_id is not None else decision.card_ids[0]
    return next(c for c in cards if c.id == wanted)
