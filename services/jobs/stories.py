"""Upgrade stories as a facilitator job: write, judge and store edge hypotheses; list them for the judge page.

Which pairs. For each context of the deliberation, the canonical values of the submitted cards that
answered a question linked to that context (through ``QuestionContext``: a mined context is linked to
the question of the card it came from). Every unordered pair of those values in that context is a
candidate; contexts take turns so ``max_pairs`` spreads the stories over all of them
(:func:`interviews.stories.plan_pairs`). A caller may pass its own ``pairs`` instead, as
``(value_a, value_b, context_id)``; ``max_pairs`` caps only the planned ones.

What is stored. Each pair gives two stories, A→B and B→A, each an ``EdgeHypothesis`` row with the run id,
the story prompt's ref in ``prompt_hash``, the model in ``model_id``, the judge's scores (and the judge
prompt's ref) in ``judge_scores``, and ``shown`` = the story passed the judge. A story is stored as soon as
it is written (``shown=False``, no scores) and updated once judged, one transaction each.

Idempotent and resumable per run. The unique key (from, to, context, run) makes a story exist once per
run; a rerun with the same run id skips stories already written and judged, judges those written but not
judged, and writes the rest. A reply that breaks the output structure is counted as failed and the job goes
on (rerun to retry it); any other model error (endpoint down, bad key, timeout after retries) stops the job
with everything done so far kept.

Model calls never run inside a database transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import stories as core
from interviews.cards import CardDraft
from interviews.limits import STORY_PAIRS, STORY_PAIRS_MAX
from interviews.prompting import load_prompt
from interviews.text_rules import clean_model_text
from providers.errors import ModelOutputError
from services.runtime.model_clients import model_id
from storage import repo_deliberations, repo_judgements, repo_values
from storage.db import session_scope
from storage.schemas import EdgeHypothesisCreate, EdgeHypothesisPublic, StoryValuePublic
from storage.tables import CanonicalValue, Context, EdgeHypothesis, utcnow

DEFAULT_MAX_PAIRS = STORY_PAIRS
MAX_PAIRS = STORY_PAIRS_MAX
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True)
class StoryOutcome:
    """What happened to one story of the run (reported as the job goes, e.g. for a progress line)."""

    from_value_id: int
    to_value_id: int
    context_id: int
    status: str  # written | judged | skipped | failed
    shown: bool = False
    error: str | None = None
    calls: int = 0  # model calls made since the story's last outcome (a failed call included)


@dataclass(frozen=True)
class StoryRun:
    """A summary of one call: ``pairs`` planned (two stories each); stories ``written`` and ``judged`` by
    this call, ``skipped`` (already written and judged in this run), ``failed`` (broken model output; rerun
    to retry); and of the planned stories, how many are now ``shown`` and ``hidden``.
    """

    run_id: str
    pairs: int
    written: int
    judged: int
    skipped: int
    failed: int
    shown: int
    hidden: int
    errors: tuple[str, ...] = ()


def new_run_id() -> str:
    """A fresh run id: ``stories-YYYYMMDDTHHMMSS-<6 hex>``."""
    return f"stories-{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class _Known:
    id: int
    story: str
    judged: bool
    shown: bool


def generate_stories(
    engine: Engine,
    model: BaseChatModel,
    *,
    deliberation_id: int,
    run_id: str | None = None,
    pairs: Sequence[tuple[int, int, int]] | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    on_story: Callable[[StoryOutcome], None] | None = None,
    job_run: str | None = None,
) -> StoryRun:
    """Write and judge both stories of each pair of canonical values in a context (see the module notes).

    ``run_id`` None starts a new run (:func:`new_run_id`); an existing one resumes it. ``job_run`` goes
    with each call's accounting metadata (the job run that counts it, e.g. ``pipeline-12``).
    """
    run_id = new_run_id() if run_id is None else check_run_id(run_id)
    if not 1 <= max_pairs <= MAX_PAIRS:
        raise InvalidInput(f"max_pairs must be 1-{MAX_PAIRS} (not {max_pairs}).")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        if pairs is None:
            by_context = repo_values.values_by_context(session, deliberation_id=deliberation_id)
            planned = core.plan_pairs(by_context, max_pairs=max_pairs)
        else:
            planned = _check_pairs(pairs)
        values = repo_values.canonical_values_by_id(
            session, deliberation_id=deliberation_id, ids=[v for a, b, _ in planned for v in (a, b)]
        )
        contexts = repo_deliberations.contexts_by_id(
            session, deliberation_id=deliberation_id, ids=[c for _, _, c in planned]
        )
        known = {
            (h.from_value_id, h.to_value_id, h.context_id): _Known(
                h.id or 0, h.story, h.judge_scores is not None, h.shown
            )
            for h in repo_judgements.list_hypotheses(session, deliberation_id=deliberation_id, run_id=run_id)
        }
    _check_found(planned, values, contexts, deliberation_id)
    cards = {i: CardDraft.of(v) for i, v in values.items()}
    job = _Job(engine, model, deliberation_id, run_id, on_story, job_run)
    for a, b, context_id in planned:
        for f, t in ((a, b), (b, a)):
            job.one(
                known.get((f, t, context_id)),
                f,
                t,
                context_id,
                contexts[context_id].text,
                cards[f],
                cards[t],
            )
    return StoryRun(
        run_id=run_id,
        pairs=len(planned),
        written=job.written,
        judged=job.judged,
        skipped=job.skipped,
        failed=job.failed,
        shown=job.shown,
        hidden=2 * len(planned) - job.shown,
        errors=tuple(job.errors),
    )


class _Job:
    """The per-story steps of :func:`generate_stories` and their counters."""

    def __init__(
        self,
        engine: Engine,
        model: BaseChatModel,
        deliberation_id: int,
        run_id: str,
        on_story: Callable[[StoryOutcome], None] | None,
        job_run: str | None = None,
    ) -> None:
        self.engine, self.model, self.deliberation_id, self.run_id = engine, model, deliberation_id, run_id
        self.on_story = on_story
        self.model_id = model_id(model)
        self.story_ref = load_prompt("upgrade_story").ref
        self.judge_ref = load_prompt("story_judge").ref
        self.metadata: dict[str, Any] = {"deliberation_id": deliberation_id}
        if job_run:
            self.metadata["job_run"] = job_run
        self.written = self.judged = self.skipped = self.failed = self.shown = 0
        self.errors: list[str] = []

    def one(
        self,
        known: _Known | None,
        f: int,
        t: int,
        context_id: int,
        context: str,
        from_card: CardDraft,
        to_card: CardDraft,
    ) -> None:
        calls = 0  # made since the last report

        def report(status: str, shown: bool = False, error: str | None = None) -> None:
            nonlocal calls
            if self.on_story is not None:
                self.on_story(StoryOutcome(f, t, context_id, status, shown, error, calls))
            calls = 0

        if known is not None and known.judged:
            self.skipped += 1
            self.shown += known.shown
            report("skipped", known.shown)
            return
        try:
            if known is None:
                calls += 1
                story = core.write_story(
                    self.model, context=context, from_card=from_card, to_card=to_card, metadata=self.metadata
                )
                known = self._store(f, t, context_id, story)
                if known.judged:  # a concurrent run of the same id finished it first
                    self.skipped += 1
                    self.shown += known.shown
                    report("skipped", known.shown)
                    return
                report("written")
            calls += 1
            scores = core.judge_story(
                self.model,
                context=context,
                from_card=from_card,
                to_card=to_card,
                story=known.story,
                metadata=self.metadata,
            )
        except ModelOutputError as exc:
            self.failed += 1
            message = f"{from_card.title} → {to_card.title} ({context}): {exc}"
            self.errors.append(message)
            report("failed", error=str(exc))
            return
        shown = core.passes(scores)
        record = {**scores.as_record(), "judge_prompt": self.judge_ref, "judge_model": self.model_id}
        with session_scope(self.engine) as session:
            repo_judgements.set_judge_scores(session, hypothesis_id=known.id, scores=record, shown=shown)
        self.judged += 1
        self.shown += shown
        report("judged", shown)

    def _store(self, f: int, t: int, context_id: int, story: str) -> _Known:
        hypothesis = EdgeHypothesisCreate(
            deliberation_id=self.deliberation_id,
            from_value_id=f,
            to_value_id=t,
            context_id=context_id,
            story=clean_model_text(story),  # what the model wrote (interviews.text_rules)
            run_id=self.run_id,
            prompt_hash=self.story_ref,
            model_id=self.model_id,
            judge_scores=None,
            shown=False,  # until the judge passes it
        )
        with session_scope(self.engine) as session:
            stored, created = repo_judgements.add_hypothesis(session, data=hypothesis)
            known = _Known(stored.id or 0, stored.story, stored.judge_scores is not None, stored.shown)
        if created:
            self.written += 1
        return known


def list_stories(
    engine: Engine, *, deliberation_id: int, run_id: str | None = None, shown: bool | None = None
) -> list[EdgeHypothesisPublic]:
    """Every upgrade story of the deliberation (optionally one run's, shown or hidden ones), by id."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        rows = repo_judgements.list_hypotheses(
            session, deliberation_id=deliberation_id, run_id=run_id, shown=shown
        )
        return _public(session, deliberation_id, rows)


def list_shown_stories(
    engine: Engine,
    *,
    deliberation_id: int,
    question_id: int | None = None,
    participant_id: int | None = None,
) -> list[EdgeHypothesisPublic]:
    """The stories participants may judge: shown (passed the judge, not hidden), the latest one per
    (from, to, context) across runs; only in contexts linked to ``question_id`` when given; without those
    ``participant_id`` already judged (same from, to and context, in any run) when given. Choosing which of
    them a participant sees is the judge page's rule.
    """
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        context_ids = (
            repo_deliberations.question_context_ids(session, question_id=question_id)
            if question_id is not None
            else None
        )
        rows = repo_judgements.list_hypotheses(
            session, deliberation_id=deliberation_id, shown=True, context_ids=context_ids
        )
        judged = (
            repo_judgements.judged_triples(session, participant_id=participant_id)
            if participant_id is not None
            else set()
        )
        latest: dict[tuple[int, int, int], EdgeHypothesis] = {}
        for h in rows:  # by id: a later run replaces an earlier one
            key = (h.from_value_id, h.to_value_id, h.context_id)
            if key not in judged:
                latest[key] = h
        return _public(session, deliberation_id, sorted(latest.values(), key=lambda h: h.id or 0))


def _public(session: Any, deliberation_id: int, rows: Sequence[EdgeHypothesis]) -> list[EdgeHypothesisPublic]:
    values = repo_values.canonical_values_by_id(
        session,
        deliberation_id=deliberation_id,
        ids=[v for h in rows for v in (h.from_value_id, h.to_value_id)],
    )
    contexts = repo_deliberations.contexts_by_id(
        session, deliberation_id=deliberation_id, ids=[h.context_id for h in rows]
    )
    return [
        EdgeHypothesisPublic(
            id=h.id or 0,
            deliberation_id=h.deliberation_id,
            run_id=h.run_id,
            context_id=h.context_id,
            context=contexts[h.context_id].text,
            from_value=StoryValuePublic.of(values[h.from_value_id]),
            to_value=StoryValuePublic.of(values[h.to_value_id]),
            story=h.story,
            shown=h.shown,
            judge_scores=h.judge_scores,
            prompt_hash=h.prompt_hash,
            model_id=h.model_id,
            created_at=h.created_at,
        )
        for h in rows
    ]


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is 1-64 letters, digits and ``. _ : -``; else :class:`InvalidInput`."""
    if not _RUN_ID.match(run_id):
        raise InvalidInput(
            f"A run id is 1-64 letters, digits and . _ : - (starting with a letter or digit), not {run_id!r}."
        )
    return run_id


def _check_pairs(pairs: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    checked: list[tuple[int, int, int]] = []
    seen: set[tuple[int, int, int]] = set()
    for pair in pairs:
        if len(pair) != 3:
            raise InvalidInput(f"A pair is (value_a, value_b, context_id), not {pair!r}.")
        a, b, c = (int(x) for x in pair)
        if a == b:
            raise InvalidInput(f"A pair needs two different values (got {a} twice).")
        key = (min(a, b), max(a, b), c)
        if key not in seen:
            seen.add(key)
            checked.append((a, b, c))
    return checked


def _check_found(
    planned: Sequence[tuple[int, int, int]],
    values: dict[int, CanonicalValue],
    contexts: dict[int, Context],
    deliberation_id: int,
) -> None:
    for a, b, c in planned:
        for v in (a, b):
            if v not in values:
                raise InvalidInput(f"Deliberation {deliberation_id} has no canonical value {v}.")
        if c not in contexts:
            raise InvalidInput(f"Deliberation {deliberation_id} has no context {c}.")
