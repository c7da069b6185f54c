"""The continuous pipeline: after each submitted card, link it to a canonical value and write the upgrade
stories of the value's new pairs, so the next participant can vote on it and judge stories about it
(DOMAIN.md §3 steps 5 and 6, §5, §6).

One job per submitted card (:func:`submit`, on the side-job pool that used to mine contexts only), in
three steps, each the existing job that a facilitator can also run by hand:

1. mine the card's contexts (:func:`services.jobs.contexts.mine_for_card`);
2. deduplicate the deliberation's pending cards (:func:`services.jobs.dedup.dedup`: this card and any that
   an earlier, stopped job left);
3. for the values those cards joined, plan the new pairs with the other values of each context they are in
   (:func:`interviews.pipeline.plan_new_pairs`: at most ``pipeline_pairs_per_value`` pairs per value) and
   write and judge both stories of each (:func:`services.jobs.stories.generate_stories` with ``pairs=``),
   in the one run of the deliberation, :func:`run_id_of` (``pipeline-<deliberation id>``); pairs another
   job started and did not finish are resumed first.

Bounded. Two settings of the deliberation (:class:`storage.schemas.DeliberationConfig`) cap it over the
deliberation's whole life: ``pipeline_max_pairs`` (distinct pairs in the pipeline's run) and
``pipeline_max_calls`` (chat-model calls its jobs made: mining, dedup partitions, stories and their judge;
embeddings are not counted). Before each call a job checks what is left (a dedup batch may take two
calls, a pair up to four, :func:`interviews.pipeline.pair_cost`) and stops when it would go over, saying
so in the log and in its moderation event. Every job that did something, or stopped, is one
``pipeline_run`` event (actor ``pipeline``) with its counts; the calls used are the sum of those events.

Idempotent and resumable. Every step skips what is done (a mined card is flagged, a linked card is no
longer pending, a story exists once per run), so a rerun after a stop (a model error, a crash, a cap)
continues where it stopped: :func:`catch_up` (``cli.py pipeline ID``) runs the three steps for the whole
deliberation, and ``cli.py mine-contexts``, ``cli.py dedup ID`` and ``cli.py stories ID --run
pipeline-ID`` each redo one of them by hand. A malformed model answer skips its card, batch or story (the
next run retries it); any other model error stops the job, keeping what it did, and is raised.

Concurrency. Jobs of one deliberation run one at a time in a process (a lock per deliberation), and
:func:`working` tells a page that one is queued or running. Across processes each step stays correct on
its own (the card's row lock, pending cards checked again before a batch commits, a story's unique key),
but two processes may each spend up to the caps' remainder at the same moment. Model calls never run
inside a database transaction.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from errors import InvalidInput, StudioError, one_line
from interviews.pipeline import Pair, pair_cost, pair_key, plan_new_pairs
from providers.errors import ModelOutputError
from services.jobs import contexts, dedup, stories
from services.runtime.background import BackgroundJobs
from storage import repo_deliberations, repo_interviews, repo_judgements, repo_values
from storage.db import session_scope
from storage.repo_judgements import StoryState
from storage.schemas import DeliberationConfig, ModerationEventCreate

log = logging.getLogger(__name__)

ACTOR = "pipeline"
EVENT = "pipeline_run"
#: The most model calls one dedup batch takes (its partition and the retries).
BATCH_CALLS = dedup.PARTITION_RETRIES + 1


def run_id_of(deliberation_id: int) -> str:
    """The one story run of a deliberation's pipeline.

    >>> run_id_of(12)
    'pipeline-12'
    """
    return f"pipeline-{deliberation_id}"


# --- one at a time per deliberation, and whether one is queued or running -----------------------------

_guard = threading.Lock()
_locks: dict[int, threading.Lock] = {}
_active: Counter[int] = Counter()


def _lock_of(deliberation_id: int) -> threading.Lock:
    with _guard:
        return _locks.setdefault(deliberation_id, threading.Lock())


def _enter(deliberation_id: int) -> None:
    with _guard:
        _active[deliberation_id] += 1


def _leave(deliberation_id: int) -> None:
    with _guard:
        _active[deliberation_id] -= 1
        if _active[deliberation_id] <= 0:
            del _active[deliberation_id]


@contextlib.contextmanager
def running(deliberation_id: int) -> Iterator[None]:
    """Count as a pipeline job of the deliberation while inside (:func:`working` is true)."""
    _enter(deliberation_id)
    try:
        yield
    finally:
        _leave(deliberation_id)


def working(deliberation_id: int) -> bool:
    """Whether a pipeline job of the deliberation is queued or running in this process."""
    with _guard:
        return _active[deliberation_id] > 0


def submit(
    jobs: BackgroundJobs,
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    card_id: int,
    deliberation_id: int,
) -> Future[PipelineReport]:
    """Queue :func:`after_card` on the side-job pool; the deliberation counts as :func:`working` from now
    until the job ends (a failure is logged by the pool, never raised to the page)."""
    _enter(deliberation_id)

    def job() -> PipelineReport:
        try:
            return after_card(engine, model, embeddings, card_id=card_id)
        finally:
            _leave(deliberation_id)

    try:
        return jobs.submit(f"the pipeline after card {card_id}", job)
    except BaseException:
        _leave(deliberation_id)
        raise


# --- what a job did ----------------------------------------------------------------------------------


@dataclass
class PipelineReport:
    """What one job did. ``calls``: chat-model calls it made; ``capped``: the caps it reached
    (``pipeline_max_calls``, ``pipeline_max_pairs``); ``stopped``: why it ended early ("" when it did all
    it could); ``errors``: malformed answers it skipped (the next run retries them)."""

    deliberation_id: int
    run_id: str
    card_id: int | None = None
    cards_mined: int = 0
    contexts_added: int = 0
    cards_linked: int = 0
    values: list[int] = field(default_factory=list)
    pairs: int = 0
    new_pairs: int = 0
    written: int = 0
    judged: int = 0
    shown: int = 0
    calls: int = 0
    capped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""
    event_id: int | None = None

    @property
    def did_something(self) -> bool:
        return bool(self.calls or self.cards_linked or self.stopped or self.capped)


@dataclass(frozen=True)
class PipelineStatus:
    """Where a deliberation's pipeline stands: what its caps allow and what is left to do."""

    deliberation_id: int
    run_id: str
    working: bool
    calls_used: int
    max_calls: int
    pairs_used: int
    max_pairs: int
    pairs_per_value: int
    unmined_cards: int
    pending_cards: int

    @property
    def calls_capped(self) -> bool:
        return self.calls_used >= self.max_calls


class _Capped(Exception):
    """A cap would be exceeded by the next call: the job stops (internal; never leaves this module)."""

    def __init__(self, setting: str) -> None:
        super().__init__(setting)
        self.setting = setting


Progress = Callable[[str], None]


class _Job:
    """One run of the steps, with its budget and its report."""

    def __init__(
        self,
        engine: Engine,
        model: BaseChatModel,
        embeddings: Embeddings,
        deliberation_id: int,
        config: DeliberationConfig,
        on_step: Progress | None,
    ) -> None:
        self.engine, self.model, self.embeddings = engine, model, embeddings
        self.deliberation_id, self.config = deliberation_id, config
        self.run_id = run_id_of(deliberation_id)
        self.report = PipelineReport(deliberation_id, self.run_id)
        self.say = on_step or (lambda _line: None)
        self.calls_before = calls_used(engine, deliberation_id=deliberation_id)

    @property
    def calls_left(self) -> int:
        return self.config.pipeline_max_calls - self.calls_before - self.report.calls

    def need(self, calls: int) -> None:
        if self.calls_left < calls:
            raise _Capped("pipeline_max_calls")

    # step 1 -----------------------------------------------------------------------------------------

    def mine(self, card_ids: list[int]) -> None:
        for card_id in card_ids:
            self.need(1)
            try:
                added = contexts.mine_for_card(self.engine, self.model, card_id=card_id)
            except ModelOutputError as exc:
                self.report.calls += 1
                self.report.errors.append(f"contexts of card {card_id}: {one_line(exc)}")
                self.say(f"card {card_id}: mining failed ({one_line(exc)})")
                continue
            except InvalidInput:  # hidden or withdrawn since it was listed: nothing to mine
                continue
            self.report.calls += 1
            self.report.cards_mined += 1
            self.report.contexts_added += len(added)
            self.say(f"card {card_id}: {len(added)} contexts added")

    # step 2 -----------------------------------------------------------------------------------------

    def deduplicate(self) -> list[int]:
        """Link the pending cards; the values the cards linked now joined."""
        with session_scope(self.engine) as session:
            pending = [
                c.id
                for c in repo_values.pending_cards(session, deliberation_id=self.deliberation_id)
                if c.id is not None
            ]
        if not pending:
            return []
        self.need(BATCH_CALLS)

        def batch_done(b: dedup.BatchReport) -> None:
            self.report.calls += b.calls
            self.say(
                f"dedup batch {b.number}/{b.of}: "
                + (f"failed ({b.error})" if b.failed else f"{b.cards} cards, {b.created} new values")
            )
            if b.number < b.of:
                self.need(BATCH_CALLS)  # the next batch: stop here when it could go over

        try:
            summary = dedup.dedup(
                self.engine,
                self.model,
                self.embeddings,
                deliberation_id=self.deliberation_id,
                on_batch=batch_done,
            )
            self.report.errors.extend(f"dedup batch {f.number}: {f.error}" for f in summary.failures)
        finally:
            with session_scope(self.engine) as session:
                linked = repo_values.cards_by_id(session, card_ids=pending)
                joined = [c.canonical_value_id for c in linked.values() if c.canonical_value_id is not None]
            self.report.cards_linked += len(joined)
        return sorted(set(joined))

    # step 3 -----------------------------------------------------------------------------------------

    def write_stories(self, values: list[int]) -> None:
        with session_scope(self.engine) as session:
            by_context = repo_values.values_by_context(session, deliberation_id=self.deliberation_id)
            states = repo_judgements.story_states(session, deliberation_id=self.deliberation_id)
        covered = {pair_key(s.from_value_id, s.to_value_id, s.context_id) for s in states}
        progress = _pipeline_pairs(states, self.run_id)
        plan = [p for p, (written, judged) in sorted(progress.items()) if judged < 2]  # resumed first
        pairs_left = self.config.pipeline_max_pairs - len(progress)
        for value in values:
            self.report.values.append(value)
            for pair in plan_new_pairs(
                by_context, value=value, covered=covered, per_value=self.config.pipeline_pairs_per_value
            ):
                if pairs_left <= 0:
                    if "pipeline_max_pairs" not in self.report.capped:
                        self.report.capped.append("pipeline_max_pairs")
                    break
                plan.append(pair)
                covered.add(pair)
                pairs_left -= 1
                self.report.new_pairs += 1
        for pair in plan:
            written, judged = progress.get(pair, (0, 0))
            self.need(pair_cost(written=written, judged=judged))
            self.report.pairs += 1
            self.one_pair(pair)

    def one_pair(self, pair: Pair) -> None:
        def story_done(o: stories.StoryOutcome) -> None:
            if o.status in ("written", "judged", "failed"):
                self.report.calls += 1
            if o.status == "written":
                self.report.written += 1
            elif o.status == "judged":
                self.report.judged += 1
                self.report.shown += o.shown
            elif o.status == "failed":
                self.report.errors.append(f"story {o.from_value_id} -> {o.to_value_id}: {o.error}")
            if o.status != "written":
                shown = " (shown)" if o.shown else ""
                self.say(
                    f"story {o.from_value_id} -> {o.to_value_id} in context {o.context_id}: {o.status}{shown}"
                )

        try:
            stories.generate_stories(
                self.engine,
                self.model,
                deliberation_id=self.deliberation_id,
                run_id=self.run_id,
                pairs=[pair],
                on_story=story_done,
            )
        except InvalidInput as exc:  # a value merged away or a context gone since the plan was made
            self.say(f"pair {pair}: skipped ({one_line(exc)})")

    # the whole job ----------------------------------------------------------------------------------

    def run(self, steps: Callable[[], None]) -> PipelineReport:
        failure: StudioError | None = None
        try:
            steps()
        except _Capped as capped:
            self.report.capped.append(capped.setting)
            self.report.stopped = (
                f"the deliberation's cap of {self.config.pipeline_max_calls} model calls "
                f"(pipeline_max_calls) is reached"
            )
        except StudioError as exc:  # the model or the database said no: keep what was done, say so, raise
            self.report.calls += 1  # the call that failed (a database error counts as one: an upper bound)
            self.report.stopped = f"stopped by an error: {one_line(exc)}"
            failure = exc
        finally:
            self._record()
        if failure is not None:
            raise failure
        return self.report

    def _record(self) -> None:
        report = self.report
        if not report.did_something:
            return
        reason = report.stopped
        if "pipeline_max_pairs" in report.capped:
            pairs = f"the cap of {self.config.pipeline_max_pairs} pairs (pipeline_max_pairs) is reached"
            reason = f"{reason}; {pairs}" if reason else pairs
        if reason:
            log.warning("pipeline of deliberation %s: %s", self.deliberation_id, reason)
        details = details_of(report)
        try:
            with session_scope(self.engine) as session:
                event = repo_values.add_moderation_event(
                    session,
                    data=ModerationEventCreate(
                        deliberation_id=self.deliberation_id,
                        actor=ACTOR,
                        action=EVENT,
                        target_type="deliberation",
                        target_id=self.deliberation_id,
                        reason=reason,
                        details=details,
                    ),
                )
                report.event_id = event.id
        except StudioError as exc:
            log.warning(
                "pipeline of deliberation %s: its event was not recorded: %s",
                self.deliberation_id,
                one_line(exc),
            )


def _pipeline_pairs(states: list[StoryState], run_id: str) -> dict[Pair, tuple[int, int]]:
    """The pipeline run's pairs with how many of their two stories are written and judged."""
    progress: dict[Pair, list[int]] = {}
    for s in states:
        if s.run_id == run_id:
            counts = progress.setdefault(pair_key(s.from_value_id, s.to_value_id, s.context_id), [0, 0])
            counts[0] += 1
            counts[1] += s.judged
    return {pair: (written, judged) for pair, (written, judged) in progress.items()}


def _config(engine: Engine, deliberation_id: int) -> DeliberationConfig:
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return DeliberationConfig.stored(deliberation.config)


def after_card(
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    card_id: int,
    on_step: Progress | None = None,
) -> PipelineReport:
    """The three steps after ``card_id`` was submitted (see the module notes): its contexts, the
    deliberation's pending cards, the stories of the values they joined. Waits for another job of the same
    deliberation in this process to end first."""
    with session_scope(engine) as session:
        card = repo_interviews.get_card(session, card_id=card_id)
        if card.question_id is None:
            raise InvalidInput(f"Values card {card_id} belongs to no question.")
        deliberation_id = repo_deliberations.get_question(
            session, question_id=card.question_id
        ).deliberation_id
        mined = repo_interviews.MINED_FLAG in card.quality_flags
    with running(deliberation_id), _lock_of(deliberation_id):
        job = _Job(engine, model, embeddings, deliberation_id, _config(engine, deliberation_id), on_step)
        job.report.card_id = card_id

        def steps() -> None:
            if not mined:
                job.mine([card_id])
            joined = job.deduplicate()
            with session_scope(engine) as session:
                own = repo_interviews.get_card(session, card_id=card_id).canonical_value_id
            job.write_stories(sorted({*joined, *([own] if own is not None else [])}))

        return job.run(steps)


def catch_up(
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    deliberation_id: int,
    on_step: Progress | None = None,
) -> PipelineReport:
    """The three steps for the whole deliberation (``cli.py pipeline ID``): every card whose contexts were
    never mined, every pending card, and the new pairs of every value (oldest first), within the caps."""
    with running(deliberation_id), _lock_of(deliberation_id):
        job = _Job(engine, model, embeddings, deliberation_id, _config(engine, deliberation_id), on_step)

        def steps() -> None:
            job.mine(contexts.unmined_card_ids(engine, deliberation_id=deliberation_id))
            job.deduplicate()
            with session_scope(engine) as session:
                values = repo_values.canonical_value_ids(session, deliberation_id=deliberation_id)
            job.write_stories(values)

        return job.run(steps)


def calls_used(engine: Engine, *, deliberation_id: int) -> int:
    """The chat-model calls the deliberation's pipeline jobs made so far (the sum of their events)."""
    with session_scope(engine) as session:
        events = repo_values.list_moderation_events(session, deliberation_id=deliberation_id, action=EVENT)
        return sum(int(e.details.get("calls", 0)) for e in events if e.actor == ACTOR)


def status(engine: Engine, *, deliberation_id: int) -> PipelineStatus:
    """Where the deliberation's pipeline stands (for the command line and the pages)."""
    config = _config(engine, deliberation_id)
    run_id = run_id_of(deliberation_id)
    with session_scope(engine) as session:
        states = repo_judgements.story_states(session, deliberation_id=deliberation_id)
        pending = repo_values.count_pending_cards(session, deliberation_id=deliberation_id)
    return PipelineStatus(
        deliberation_id=deliberation_id,
        run_id=run_id,
        working=working(deliberation_id),
        calls_used=calls_used(engine, deliberation_id=deliberation_id),
        max_calls=config.pipeline_max_calls,
        pairs_used=len(_pipeline_pairs(states, run_id)),
        max_pairs=config.pipeline_max_pairs,
        pairs_per_value=config.pipeline_pairs_per_value,
        unmined_cards=contexts.count_unmined(engine, deliberation_id=deliberation_id),
        pending_cards=pending,
    )


def details_of(report: PipelineReport) -> dict[str, Any]:
    """The report as its moderation event stores it."""
    return {k: v for k, v in asdict(report).items() if k not in ("event_id", "deliberation_id")}
