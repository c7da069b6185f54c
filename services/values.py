"""Canonical values: deduplicate submitted cards (a resumable job); the facilitator's review, merge, split.

Dedup scope: a deliberation. Cards of all its questions are deduplicated together (a value is a way of
choosing, not an answer to one question; the moral graph links values across questions through contexts),
and never across deliberations. ``question_id`` narrows which cards a run processes; the existing values
they may join still come from the whole deliberation.

Dedup is idempotent and resumable: only submitted cards without a canonical value are processed, in
batches; each batch is decided by the model *outside* any transaction and then committed in its own one
(with its decisions in the moderation log, action ``dedup_batch``), so a crash loses at most the batch in
flight and a rerun continues where the last one stopped. A run that finds nothing to do makes no model call.

Merge and split are single transactions, each logged as a :class:`~storage.tables.ModerationEvent`, and
safe to repeat: merging values that an earlier merge into the same value already removed, or splitting off
the same cards again, is a no-op that says so (``already_done``); anything else inconsistent is a clear
:class:`~services.errors.InvalidInput`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from sqlalchemy import Engine

from interviews import dedup as core
from services.errors import InvalidInput
from storage import repo, repo_values
from storage.db import session_scope
from storage.errors import NotFound
from storage.schemas import CanonicalValuePublic, CardPublic, ModerationEventPublic
from storage.tables import CanonicalValue, ValuesCard, utcnow

DEFAULT_BATCH = 20
#: New cards joined to an existing value are shown the closest this many values each.
NEIGHBOURS = 5
#: Values farther than this (cosine distance) from every card of a batch are not offered to the model.
MAX_CANONICAL_DISTANCE = 0.5


@dataclass(frozen=True)
class BatchReport:
    """One committed dedup batch (passed to ``on_batch`` as soon as it is committed)."""

    number: int
    of: int
    cards: int
    created: int
    joined: int
    skipped: int


@dataclass(frozen=True)
class DedupSummary:
    deliberation_id: int
    run_id: str
    cards_processed: int  # cards now linked to a canonical value by this run
    canonicals_created: int
    cards_joined: int  # of those, cards joined to a value that existed before their batch
    cards_skipped: int  # cards another actor linked, or whose chosen value vanished, while the model ran
    batches: int
    prompt_ref: str


def new_run_id() -> str:
    """``dedup-YYYYmmddTHHMMSS-xxxxxx`` (UTC, plus 24 random bits)."""
    return f"dedup-{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _text(row: ValuesCard | CanonicalValue) -> core.ValueText:
    assert row.id is not None
    return core.ValueText(row.id, row.title, row.description, tuple(row.policies))


def _embed(embeddings: Embeddings, items: Sequence[core.ValueText]) -> np.ndarray:
    if not items:
        return np.zeros((0, 1))
    texts = [core.embedding_text(i.title, i.description, i.policies) for i in items]
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float64)


def _offered(near: list[list[int]], limit: int) -> list[int]:
    """The union of per-card candidate lists, round-robin by rank (each card's closest first), capped.

    >>> _offered([[1, 2, 3], [4, 2]], 3)
    [1, 4, 2]
    """
    result: list[int] = []
    for rank in range(max((len(n) for n in near), default=0)):
        for candidates in near:
            if rank < len(candidates) and candidates[rank] not in result:
                result.append(candidates[rank])
    return result[:limit]


def dedup(
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    deliberation_id: int,
    question_id: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_distance: float = core.MAX_DISTANCE,
    run_id: str | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> DedupSummary:
    """Link every submitted, not yet deduplicated card of the deliberation to a canonical value.

    Cards within ``max_distance`` (cosine) of each other are decided in the same batch; each batch of at
    most ``batch_size`` cards is one partition call to ``model`` (see :mod:`interviews.dedup`), shown the
    existing values nearest to its cards. New values get ``dedup_run = run_id``. Model errors propagate
    after the batches before them were committed; run again to continue.
    """
    if not 1 <= batch_size <= core.MAX_BATCH:
        raise InvalidInput(f"batch_size must be between 1 and {core.MAX_BATCH} (got {batch_size}).")
    if not 0.0 <= max_distance <= 2.0:
        raise InvalidInput(f"max_distance is a cosine distance between 0 and 2 (got {max_distance}).")
    with session_scope(engine) as session:
        repo.get_deliberation(session, deliberation_id=deliberation_id)
        if question_id is not None:
            questions = {q.id for q in repo.list_questions(session, deliberation_id=deliberation_id)}
            if question_id not in questions:
                raise InvalidInput(f"Question {question_id} is not part of deliberation {deliberation_id}.")
        cards = [
            _text(c)
            for c in repo_values.pending_cards(
                session, deliberation_id=deliberation_id, question_id=question_id
            )
        ]
        canonicals = [_text(v) for v in repo.list_canonical_values(session, deliberation_id=deliberation_id)]
    run_id = run_id or new_run_id()
    prompt_ref = core.prompt_ref()
    summary = dict(processed=0, created=0, joined=0, skipped=0)
    if not cards:
        return DedupSummary(deliberation_id, run_id, 0, 0, 0, 0, 0, prompt_ref)

    card_vectors = _embed(embeddings, cards)
    canonical_vectors = _embed(embeddings, canonicals)
    position = {c.id: i for i, c in enumerate(cards)}
    batches = core.pack_batches(
        core.candidate_groups(card_vectors, [c.id for c in cards], max_distance=max_distance), batch_size
    )
    config: RunnableConfig = {"metadata": {"purpose": "dedup", "deliberation_id": deliberation_id}}
    model_name = str(
        getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
    )

    for number, batch in enumerate(batches, start=1):
        rows = [position[i] for i in batch]
        batch_cards = [cards[r] for r in rows]
        near = core.nearest_canonicals(
            card_vectors[rows],
            canonical_vectors,
            [v.id for v in canonicals],
            k=NEIGHBOURS,
            max_distance=MAX_CANONICAL_DISTANCE,
        )
        by_id = {v.id: v for v in canonicals}
        offered = [by_id[i] for i in _offered(near, core.MAX_CANONICALS)]
        result = core.partition_cards(model, batch_cards, offered, config=config)
        created: list[tuple[core.ValueText, list[int]]] = []
        joined = skipped = 0
        log: list[dict[str, Any]] = []
        with session_scope(engine) as session:
            still = {
                c.id: c
                for c in repo_values.pending_cards(
                    session, deliberation_id=deliberation_id, card_ids=batch, lock=True
                )
            }
            live = repo_values.find_canonical_values(
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
                    deliberation_id=deliberation_id,
                    title=text.title.strip(),
                    description=text.description.strip(),
                    policies=[p.strip() for p in text.policies],
                    dedup_run=run_id,
                )
                assert value.id is not None
                repo_values.link_cards(session, cards=members, canonical_id=value.id)
                created.append((_text(value), [m.id for m in members if m.id is not None]))
                log.append(entry | {"new": value.id, "rewritten": decision.new_value is not None})
            repo_values.add_moderation_event(
                session,
                deliberation_id=deliberation_id,
                actor="dedup",
                action="dedup_batch",
                target_type="deliberation",
                target_id=deliberation_id,
                details={
                    "run_id": run_id,
                    "batch": number,
                    "prompt": result.prompt_ref,
                    "model": model_name,
                    "attempts": result.attempts,
                    "offered": [v.id for v in offered],
                    "groups": log,
                },
            )
        # Committed: the new values become candidates for the next batches.
        for value_text, member_ids in created:
            canonicals.append(value_text)
            mean = card_vectors[[position[i] for i in member_ids]].mean(axis=0, keepdims=True)
            canonical_vectors = mean if len(canonical_vectors) == 0 else np.vstack([canonical_vectors, mean])
        done = len(batch) - skipped
        summary["processed"] += done
        summary["created"] += len(created)
        summary["joined"] += joined
        summary["skipped"] += skipped
        if on_batch is not None:
            on_batch(BatchReport(number, len(batches), done, len(created), joined, skipped))
    return DedupSummary(
        deliberation_id=deliberation_id,
        run_id=run_id,
        cards_processed=summary["processed"],
        canonicals_created=summary["created"],
        cards_joined=summary["joined"],
        cards_skipped=summary["skipped"],
        batches=len(batches),
        prompt_ref=prompt_ref,
    )


def _representative(decision: core.Decision, cards: Sequence[core.ValueText]) -> core.ValueText:
    wanted = decision.representative_id if decision.representative_id is not None else decision.card_ids[0]
    return next(c for c in cards if c.id == wanted)


# --- review -----------------------------------------------------------------------------------------


def _card_public(card: ValuesCard) -> CardPublic:
    return CardPublic.model_validate(card, from_attributes=True)


def _value_public(value: CanonicalValue, cards: list[ValuesCard], votes: int) -> CanonicalValuePublic:
    return CanonicalValuePublic.model_validate(
        {
            **value.model_dump(),
            "cards": [_card_public(c) for c in cards],
            "votes": votes,
        }
    )


def list_values(
    engine: Engine, *, deliberation_id: int, question_id: int | None = None
) -> list[CanonicalValuePublic]:
    """The deliberation's canonical values with their member cards and vote counts, oldest first.

    With ``question_id``, only values that have a member card on that question.
    """
    with session_scope(engine) as session:
        repo.get_deliberation(session, deliberation_id=deliberation_id)
        values = repo.list_canonical_values(session, deliberation_id=deliberation_id)
        ids = [v.id for v in values if v.id is not None]
        members = repo_values.member_cards(session, canonical_ids=ids)
        votes = repo_values.vote_counts(session, canonical_ids=ids)
        return [
            _value_public(v, members[v.id], votes[v.id])
            for v in values
            if v.id is not None
            and (question_id is None or any(c.question_id == question_id for c in members[v.id]))
        ]


def get_value(engine: Engine, *, canonical_id: int) -> CanonicalValuePublic:
    with session_scope(engine) as session:
        value = repo_values.get_canonical_value(session, canonical_id=canonical_id)
        members = repo_values.member_cards(session, canonical_ids=[canonical_id])[canonical_id]
        votes = repo_values.vote_counts(session, canonical_ids=[canonical_id])[canonical_id]
        return _value_public(value, members, votes)


def pending_count(engine: Engine, *, deliberation_id: int, question_id: int | None = None) -> int:
    """How many submitted cards await dedup."""
    with session_scope(engine) as session:
        repo.get_deliberation(session, deliberation_id=deliberation_id)
        return repo_values.count_pending_cards(
            session, deliberation_id=deliberation_id, question_id=question_id
        )


def moderation_log(engine: Engine, *, deliberation_id: int, limit: int = 200) -> list[ModerationEventPublic]:
    """The deliberation's moderation log, newest first."""
    with session_scope(engine) as session:
        repo.get_deliberation(session, deliberation_id=deliberation_id)
        events = repo_values.list_moderation_events(session, deliberation_id=deliberation_id, limit=limit)
        return [ModerationEventPublic.model_validate(e, from_attributes=True) for e in events]


# --- merge and split --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSummary:
    keep_id: int
    merged_ids: tuple[int, ...]  # removed by this call
    already_merged: tuple[int, ...]  # removed into keep_id by an earlier merge: nothing to do
    counts: dict[str, int]
    event_id: int | None  # None when the call changed nothing

    @property
    def already_done(self) -> bool:
        return not self.merged_ids


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Give a reason: it is written to the moderation log.")
    return reason


def merge(
    engine: Engine,
    *,
    deliberation_id: int,
    keep_id: int,
    merge_ids: Sequence[int],
    reason: str,
    actor: str = "facilitator",
) -> MergeSummary:
    """Fold the values ``merge_ids`` into ``keep_id``: member cards, votes, impressions, upgrade stories and
    judgements move over (collisions keep one row, see :func:`storage.repo_values.merge_canonical_values`),
    the merged values are deleted and a ``merge_values`` event keeps a snapshot of everything removed.
    """
    reason = _reason(reason)
    wanted = list(dict.fromkeys(merge_ids))
    if not wanted:
        raise InvalidInput("Choose at least one value to merge.")
    if keep_id in wanted:
        raise InvalidInput(f"Value {keep_id} cannot be merged into itself.")
    with session_scope(engine) as session:
        repo.get_deliberation(session, deliberation_id=deliberation_id)
        try:
            repo_values.get_canonical_value(
                session, canonical_id=keep_id, deliberation_id=deliberation_id, lock=True
            )
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        found = repo_values.find_canonical_values(session, ids=wanted, lock=True)
        elsewhere = [i for i, v in found.items() if v.deliberation_id != deliberation_id]
        missing = [i for i in wanted if i not in found]
        earlier = set()
        for event in repo_values.list_moderation_events(
            session, deliberation_id=deliberation_id, action="merge_values", target_id=keep_id
        ):
            earlier.update(event.details.get("merged", []))
        unknown = sorted(set(elsewhere) | {i for i in missing if i not in earlier})
        if unknown:
            names = ", ".join(map(str, unknown))
            raise InvalidInput(f"There is no value {names} in deliberation {deliberation_id}.")
        merging = [i for i in wanted if i in found]
        already = tuple(i for i in wanted if i not in found)
        if not merging:
            return MergeSummary(keep_id, (), already, {}, None)
        outcome = repo_values.merge_canonical_values(session, keep_id=keep_id, merge_ids=merging)
        event = repo_values.add_moderation_event(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="merge_values",
            target_type="canonical_value",
            target_id=keep_id,
            reason=reason,
            details={"merged": merging, "counts": outcome.counts(), "removed": outcome.dropped},
        )
        return MergeSummary(keep_id, tuple(merging), already, outcome.counts(), event.id)


@dataclass(frozen=True)
class SplitSummary:
    canonical_id: int
    new_canonical_id: int
    card_ids: tuple[int, ...]
    event_id: int
    already_done: bool = False


def split(
    engine: Engine,
    *,
    canonical_id: int,
    card_ids: Sequence[int],
    reason: str,
    title: str | None = None,
    actor: str = "facilitator",
) -> SplitSummary:
    """Move some member cards of ``canonical_id`` to a new value (text from the first chosen card, titled
    ``title`` when given) and log a ``split_value`` event. Votes, impressions, stories and judgements stay
    with the original value: they were cast on its text.

    Repeating the same split is a no-op (``already_done``); splitting off all members, cards that are not
    members, or an unknown value is :class:`InvalidInput`.
    """
    reason = _reason(reason)
    chosen = list(dict.fromkeys(card_ids))
    if not chosen:
        raise InvalidInput("Choose at least one card to split off.")
    if title is not None:
        title = " ".join(title.split())
        if not 1 <= len(title) <= 200:
            raise InvalidInput("A value's title has 1 to 200 characters.")
    with session_scope(engine) as session:
        try:
            value = repo_values.get_canonical_value(session, canonical_id=canonical_id, lock=True)
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        members = repo_values.member_cards(session, canonical_ids=[canonical_id])[canonical_id]
        member_ids = {c.id for c in members}
        outside = [i for i in chosen if i not in member_ids]
        if outside:
            previous = _same_split(session, value.deliberation_id, canonical_id, chosen)
            if previous is not None:
                return previous
            names = ", ".join(map(str, outside))
            raise InvalidInput(f"Card(s) {names} are not members of value {canonical_id}.")
        if len(chosen) == len(members):
            raise InvalidInput(
                f"Splitting off every card of value {canonical_id} would leave it empty; choose fewer cards."
            )
        cards = repo_values.cards_by_id(session, card_ids=chosen, lock=True)
        first = cards[chosen[0]]
        new = repo_values.add_canonical_value(
            session,
            deliberation_id=value.deliberation_id,
            title=title or first.title,
            description=first.description,
            policies=first.policies,
            dedup_run=None,
        )
        assert new.id is not None
        repo_values.link_cards(session, cards=[cards[i] for i in chosen], canonical_id=new.id)
        value.updated_at = utcnow()
        session.add(value)
        event = repo_values.add_moderation_event(
            session,
            deliberation_id=value.deliberation_id,
            actor=actor,
            action="split_value",
            target_type="canonical_value",
            target_id=canonical_id,
            reason=reason,
            details={"new_value": new.id, "cards": chosen, "title": new.title},
        )
        assert event.id is not None
        return SplitSummary(canonical_id, new.id, tuple(chosen), event.id)


def _same_split(
    session: Any, deliberation_id: int, canonical_id: int, chosen: list[int]
) -> SplitSummary | None:
    """The earlier split of exactly these cards off ``canonical_id``, if they all still sit in its value."""
    for event in repo_values.list_moderation_events(
        session, deliberation_id=deliberation_id, action="split_value", target_id=canonical_id
    ):
        new_id = event.details.get("new_value")
        if sorted(event.details.get("cards", [])) != sorted(chosen) or new_id is None:
            continue
        now = repo_values.member_cards(session, canonical_ids=[new_id])[new_id]
        if set(chosen) <= {c.id for c in now}:
            assert event.id is not None
            return SplitSummary(canonical_id, new_id, tuple(chosen), event.id, already_done=True)
    return None
