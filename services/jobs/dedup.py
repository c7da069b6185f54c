"""The dedup job: link every submitted card of a deliberation to a canonical value (DOMAIN.md §5).

Scope: a deliberation. Cards of all its questions are deduplicated together (a value is a way of choosing,
not an answer to one question; the moral graph links values across questions through contexts), and never
across deliberations. ``question_id`` narrows which cards a run processes; the existing values they may join
still come from the whole deliberation.

Idempotent and resumable: only submitted cards without a canonical value are processed, in batches; each
batch is decided by the model *outside* any transaction and then committed in its own one (with its
decisions in the moderation log, action ``dedup_batch``), so a crash loses at most the batch in flight and a
rerun continues where the last one stopped. A run that finds nothing to do makes no model call.

Failures: a batch whose partition stays invalid after its retry (:class:`~interviews.dedup.PartitionError`)
is skipped: nothing of it is committed, a ``dedup_batch_failed`` event records its cards and the error, the
summary counts it (:attr:`DedupSummary.failures`) and the run goes on with the next batch. Its cards stay
pending, so the next run tries them again; every run visits each of its batches once, so it always ends.
Any other model error (the endpoint down, a timeout) stops the run after the batches before it were
committed; run again to continue. The facilitator's review of the result is
:mod:`services.facilitator.values`.
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

from errors import InvalidInput
from interviews import dedup as core
from interviews import dedup_candidates as candidates
from interviews.limits import DEDUP_BATCH
from services.jobs.dedup_batches import BatchFailure, RunContext, commit_batch, record_failure, value_text
from services.runtime.model_clients import model_id
from storage import repo_deliberations, repo_values
from storage.db import session_scope
from storage.tables import utcnow

DEFAULT_BATCH = DEDUP_BATCH
#: New cards joined to an existing value are shown the closest this many values each.
NEIGHBOURS = 5
#: Values farther than this (cosine distance) from every card of a batch are not offered to the model.
MAX_CANONICAL_DISTANCE = 0.5
#: A partition that breaks the rules is sent back this many times before its batch is skipped.
PARTITION_RETRIES = 1


@dataclass(frozen=True)
class BatchReport:
    """One dedup batch, passed to ``on_batch`` as soon as it is committed (or has failed)."""

    number: int
    of: int
    cards: int
    created: int
    joined: int
    skipped: int
    failed: int = 0  # cards of a batch whose partition stayed invalid: left pending for the next run
    error: str = ""
    calls: int = 0  # chat-model calls the batch took (its partition's tries)


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
    failures: tuple[BatchFailure, ...] = ()

    @property
    def failed_batches(self) -> int:
        return len(self.failures)

    @property
    def failed_cards(self) -> int:
        return sum(len(f.card_ids) for f in self.failures)


def new_run_id() -> str:
    """``dedup-YYYYmmddTHHMMSS-xxxxxx`` (UTC, plus 24 random bits)."""
    return f"dedup-{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def pending_count(engine: Engine, *, deliberation_id: int, question_id: int | None = None) -> int:
    """How many submitted cards await dedup."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return repo_values.count_pending_cards(
            session, deliberation_id=deliberation_id, question_id=question_id
        )


def _embed(embeddings: Embeddings, items: Sequence[core.ValueText]) -> np.ndarray:
    if not items:
        return np.zeros((0, 1))
    texts = [candidates.embedding_text(i.title, i.description, i.policies) for i in items]
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float64)


def _offered(near: list[list[int]], limit: int) -> list[int]:
    """The union of per-card candidate lists, round-robin by rank (each card's closest first), capped.

    >>> _offered([[1, 2, 3], [4, 2]], 3)
    [1, 4, 2]
    """
    result: list[int] = []
    for rank in range(max((len(n) for n in near), default=0)):
        for near_card in near:
            if rank < len(near_card) and near_card[rank] not in result:
                result.append(near_card[rank])
    return result[:limit]


def dedup(
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    deliberation_id: int,
    question_id: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_distance: float = candidates.MAX_DISTANCE,
    run_id: str | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
    job_run: str | None = None,
    actor: str = "dedup",
) -> DedupSummary:
    """Link every submitted, not yet deduplicated card of the deliberation to a canonical value.

    Cards within ``max_distance`` (cosine) of each other are decided in the same batch; each batch of at
    most ``batch_size`` cards is one partition call to ``model`` (see :mod:`interviews.dedup`), shown the
    existing values nearest to its cards. New values get ``dedup_run = run_id``. A batch whose partition
    stays invalid is skipped and reported in ``failures``; other model errors propagate after the batches
    before them were committed (run again to continue). ``job_run`` goes with each call's accounting
    metadata (the job run that counts it, e.g. ``pipeline-12``); ``actor`` is who the batches' moderation
    events name (the facilitator who started a console job).
    """
    if not 1 <= batch_size <= core.MAX_BATCH:
        raise InvalidInput(f"batch_size must be between 1 and {core.MAX_BATCH} (got {batch_size}).")
    if not 0.0 <= max_distance <= 2.0:
        raise InvalidInput(f"max_distance is a cosine distance between 0 and 2 (got {max_distance}).")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        if question_id is not None:
            questions = {
                q.id for q in repo_deliberations.list_questions(session, deliberation_id=deliberation_id)
            }
            if question_id not in questions:
                raise InvalidInput(f"Question {question_id} is not part of deliberation {deliberation_id}.")
        cards = [
            value_text(c)
            for c in repo_values.pending_cards(
                session, deliberation_id=deliberation_id, question_id=question_id
            )
        ]
        canonicals = [
            value_text(v) for v in repo_values.list_canonical_values(session, deliberation_id=deliberation_id)
        ]
    run_id = run_id or new_run_id()
    prompt_ref = core.prompt_ref()
    summary = dict(processed=0, created=0, joined=0, skipped=0)
    if not cards:
        return DedupSummary(deliberation_id, run_id, 0, 0, 0, 0, 0, prompt_ref)

    card_vectors = _embed(embeddings, cards)
    canonical_vectors = _embed(embeddings, canonicals)
    position = {c.id: i for i, c in enumerate(cards)}
    batches = candidates.pack_batches(
        candidates.candidate_groups(card_vectors, [c.id for c in cards], max_distance=max_distance),
        batch_size,
    )
    metadata: dict[str, Any] = {"purpose": "dedup", "deliberation_id": deliberation_id}
    if job_run:
        metadata["job_run"] = job_run
    config: RunnableConfig = {"metadata": metadata}
    model_name = model_id(model)
    run = RunContext(engine, deliberation_id, run_id, model_name, actor)
    failures: list[BatchFailure] = []

    for number, batch in enumerate(batches, start=1):
        rows = [position[i] for i in batch]
        batch_cards = [cards[r] for r in rows]
        near = candidates.nearest_canonicals(
            card_vectors[rows],
            canonical_vectors,
            [v.id for v in canonicals],
            k=NEIGHBOURS,
            max_distance=MAX_CANONICAL_DISTANCE,
        )
        by_id = {v.id: v for v in canonicals}
        offered = [by_id[i] for i in _offered(near, core.MAX_CANONICALS)]
        try:
            result = core.partition_cards(
                model, batch_cards, offered, config=config, retries=PARTITION_RETRIES
            )
        except core.PartitionError as exc:  # skip this batch, go on with the next
            failure = record_failure(run, number=number, batch=batch, offered=offered, error=exc)
            failures.append(failure)
            if on_batch is not None:
                tries = PARTITION_RETRIES + 1
                on_batch(BatchReport(number, len(batches), 0, 0, 0, 0, len(batch), failure.error, tries))
            continue
        created, joined, skipped = commit_batch(
            run, number=number, batch=batch, batch_cards=batch_cards, offered=offered, result=result
        )
        # Committed: the new values become candidates for the next batches.
        for new_value, member_ids in created:
            canonicals.append(new_value)
            mean = card_vectors[[position[i] for i in member_ids]].mean(axis=0, keepdims=True)
            canonical_vectors = mean if len(canonical_vectors) == 0 else np.vstack([canonical_vectors, mean])
        done = len(batch) - skipped
        summary["processed"] += done
        summary["created"] += len(created)
        summary["joined"] += joined
        summary["skipped"] += skipped
        if on_batch is not None:
            on_batch(
                BatchReport(number, len(batches), done, len(created), joined, skipped, calls=result.attempts)
            )
    return DedupSummary(
        deliberation_id=deliberation_id,
        run_id=run_id,
        cards_processed=summary["processed"],
        canonicals_created=summary["created"],
        cards_joined=summary["joined"],
        cards_skipped=summary["skipped"],
        batches=len(batches),
        prompt_ref=prompt_ref,
        failures=tuple(failures),
    )
