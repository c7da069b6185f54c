"""The continuous pipeline: after each submitted card, link it to a canonical value and write the upgrade
stories of the value's new pairs, so the next participant can vote on it and judge stories about it
(DOMAIN.md §3 steps 5 and 6, §5, §6).

A job per deliberation on the side-job pool (:func:`submit`), in three steps, each the existing job that a
facilitator can also run by hand:

1. mine the submitted card's contexts (:func:`services.jobs.contexts.mine_for_card`);
2. deduplicate the deliberation's pending cards (:func:`services.jobs.dedup.dedup`: this card and any that
   an earlier, stopped job left);
3. for the values those cards joined, plan the new pairs with the other values of each context they are in
   (:func:`interviews.pipeline.plan_new_pairs`: at most ``pipeline_pairs_per_value`` pairs per value) and
   write and judge both stories of each (:func:`services.jobs.stories.generate_stories` with ``pairs=``),
   in the one run of the deliberation, :func:`run_id_of` (``pipeline-<deliberation id>``); pairs another
   job started and did not finish are resumed first.

Bounded. Two settings of the deliberation (:class:`storage.schemas.DeliberationConfig`) cap its STORIES
over the deliberation's whole life: ``pipeline_max_pairs`` (distinct pairs in the pipeline's run) and
``pipeline_max_calls`` (chat-model calls of the pipeline: mining, dedup partitions, stories and their
judge; embeddings are not counted). Mining and dedup always run, cap or not: they are what makes a card
a value others vote on, and they cost at most one call per card and two per dedup batch. Before each pair
a job checks what the call cap leaves (a pair takes up to four calls, :func:`interviews.pipeline.pair_cost`)
and writes no more stories when the pair could go over. The calls are counted from the model calls'
own records: every call the pipeline makes carries ``job_run = pipeline-<id>`` in its accounting metadata,
so its :class:`~storage.tables.LLMCall` row says it is the pipeline's (:func:`calls_used`), including the
calls of a job killed half-way. Every job that did something, or stopped on an error, is one
``pipeline_run`` event (actor ``pipeline``) with its counts (the log, not the counter); a cap reached is
said once, in the log and as one ``pipeline_cap`` event per cap and limit (raise the setting and it is said
again when the new limit is reached).

Idempotent and resumable. Every step skips what is done (a mined card is flagged, a linked card is no
longer pending, a story exists once per run), so a rerun after a stop (a model error, a crash, a cap)
continues where it stopped: :func:`catch_up` (``cli.py pipeline ID``) runs the three steps for the whole
deliberation, and ``cli.py mine-contexts``, ``cli.py dedup ID`` and ``cli.py stories ID --run
pipeline-ID`` each redo one of them by hand. A malformed model answer skips its card, batch or story (the
next run retries it); any other model error stops the job, keeping what it did, and is raised.

Concurrency. At most one job per deliberation is queued or running on the pool: a card submitted while
one is joins it, and the job runs its steps once more for the cards that came meanwhile (dedup takes
every pending card anyway), so one busy deliberation never holds the pool's threads while others wait.
:func:`working` tells a page that a job is queued or running. A :func:`catch_up` in the same process waits
for the running job (a lock per deliberation). Across processes each step stays correct on its own (the
card's row lock, pending cards checked again before a batch commits, a story's unique key), but two
processes may each start a pair with what the call cap leaves at the same moment. Model calls never run
inside a database transaction.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
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
from storage import repo_deliberations, repo_interviews, repo_judgements, repo_llm_calls, repo_values
from storage.db import Session, session_scope
from storage.repo_judgements import StoryState
from storage.schemas import DeliberationConfig, ModerationEventCreate

log = logging.getLogger(__name__)

ACTOR = "pipeline"
EVENT = "pipeline_run"
#: The event that says once that a cap is reached (per setting and limit).
CAP_EVENT = "pipeline_cap"
#: The most model calls one dedup batch takes (its partition and the retries).
BATCH_CALLS = dedup.PARTITION_RETRIES + 1
CALLS_CAP, PAIRS_CAP = "pipeline_max_calls", "pipeline_max_pairs"


def run_id_of(deliberation_id: int) -> str:
    """The one story run of a deliberation's pipeline, and the ``job_run`` its model calls are recorded with.

    >>> run_id_of(12)
    'pipeline-12'
    """
    return f"pipeline-{deliberation_id}"


# --- one job per deliberation, and whether one is queued or running -----------------------------------

_guard = threading.Lock()
_locks: dict[int, threading.Lock] = {}
_active: Counter[int] = Counter()  # after_card / catch_up running in this process
_queued: dict[int, list[int]] = {}  # a pool job queued or running: the cards for its next round


def _lock_of(deliberation_id: int) -> threading.Lock:
    with _guard:
        return _locks.setdefault(deliberation_id, threading.Lock())


@contextlib.contextmanager
def running(deliberation_id: int) -> Iterator[None]:
    """Count as a pipeline job of the deliberation while inside (:func:`working` is true)."""
    with _guard:
        _active[deliberation_id] += 1
    try:
        yield
    finally:
        with _guard:
            _active[deliberation_id] -= 1
            if _active[deliberation_id] <= 0:
                del _active[deliberation_id]


def working(deliberation_id: int) -> bool:
    """Whether a pipeline job of the deliberation is queued or running in this process."""
    with _guard:
        return _active[deliberation_id] > 0 or deliberation_id in _queued


def submit(
    jobs: BackgroundJobs,
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    card_id: int,
    deliberation_id: int,
) -> Future[PipelineReport] | None:
    """The pipeline after ``card_id`` was submitted, on the side-job pool (a failure is logged by the pool,
    never raised to the page). When the deliberation has a job queued or running already the card joins
    it: that job runs its steps once more for the cards that came meanwhile, and None is returned (no
    second job waits in the pool). The deliberation counts as :func:`working` until its job ends."""
    with _guard:
        if deliberation_id in _queued:
            if card_id not in _queued[deliberation_id]:
                _queued[deliberation_id].append(card_id)
            return None
        _queued[deliberation_id] = []

    def job() -> PipelineReport:
        cards = [card_id]
        try:
            while True:
                report = after_cards(
                    engine, model, embeddings, deliberation_id=deliberation_id, card_ids=cards
                )
                with _guard:
                    cards = _queued[deliberation_id]
                    if not cards:
                        del _queued[deliberation_id]
                        return report
                    _queued[deliberation_id] = []
        except BaseException:
            with _guard:
                left = _queued.pop(deliberation_id, [])
            if left:
                log.warning(
                    "pipeline of deliberation %s: cards %s wait for the next submit or "
                    "python cli.py pipeline %s",
                    deliberation_id,
                    ", ".join(map(str, left)),
                    deliberation_id,
                )
            raise

    try:
        return jobs.submit(f"the pipeline after card {card_id}", job)
    except BaseException:
        with _guard:
            _queued.pop(deliberation_id, None)
        raise


# --- what a job did ----------------------------------------------------------------------------------


@dataclass
class PipelineReport:
    """What one job did. ``calls``: chat-model calls it made (its log; the cap counts the calls'
    records, :func:`calls_used`); ``capped``: the caps that held stories back (``pipeline_max_calls``,
    ``pipeline_max_pairs``), ``caps_reached`` those of them reached first now, with their limits;
    ``stopped``: the error that ended it early ("" when it did all it could); ``errors``: malformed
    answers it skipped (the next run retries them)."""

    deliberation_id: int
    run_id: str
    card_id: int | None = None
    cards: list[int] = field(default_factory=list)
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
    caps_reached: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""
    event_id: int | None = None

    @property
    def did_something(self) -> bool:
        return bool(self.calls or self.cards_linked or self.stopped or self.caps_reached)


@dataclass(frozen=True)
class PipelineStatus:
    """Where a deliberation's pipeline stands: what its caps allow and what is left to do
    (``pairs_to_write``: the pairs a catch-up would write now, within the caps)."""

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
    pairs_to_write: int = 0

    @property
    def calls_capped(self) -> bool:
        return self.calls_used >= self.max_calls

    @property
    def has_work(self) -> bool:
        """Whether a catch-up would ask a model anything now."""
        return bool(self.unmined_cards or self.pending_cards or self.pairs_to_write)


class _Capped(Exception):
    """The call cap would be exceeded by the next pair: no more stories (internal; never leaves here)."""


Progress = Callable[[str], None]


@dataclass(frozen=True)
class _Plan:
    """The pairs to write now: those the run started and did not finish first, then the new ones."""

    pairs: list[Pair]
    progress: dict[Pair, tuple[int, int]]
    new_pairs: int
    pairs_capped: bool


def _plan(session: Session, deliberation_id: int, config: DeliberationConfig, values: Sequence[int]) -> _Plan:
    run_id = run_id_of(deliberation_id)
    by_context = repo_values.values_by_context(session, deliberation_id=deliberation_id)
    states = repo_judgements.story_states(session, deliberation_id=deliberation_id)
    covered = {pair_key(s.from_value_id, s.to_value_id, s.context_id) for s in states}
    progress = _pipeline_pairs(states, run_id)
    plan = [p for p, (_written, judged) in sorted(progress.items()) if judged < 2]  # resumed first
    pairs_left = config.pipeline_max_pairs - len(progress)
    new, capped = 0, False
    for value in values:
        for pair in plan_new_pairs(
            by_context, value=value, covered=covered, per_value=config.pipeline_pairs_per_value
        ):
            if pairs_left <= 0:
                capped = True
                break
            plan.append(pair)
            covered.add(pair)
            pairs_left -= 1
            new += 1
    return _Plan(plan, progress, new, capped)


def _affordable(plan: _Plan, calls_left: int) -> int:
    """How many of the plan's pairs the calls left pay for, in order (the job stops at the first that
    could go over)."""
    n = 0
    for pair in plan.pairs:
        written, judged = plan.progress.get(pair, (0, 0))
        cost = pair_cost(written=written, judged=judged)
        if cost > calls_left:
            break
        calls_left -= cost
        n += 1
    return n


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

    def used(self) -> int:
        """The pipeline's calls so far: their own records (a killed job's calls included, and another
        process's), or this job's own count where its model records none (built without the accounting
        callback)."""
        return max(
            calls_used(self.engine, deliberation_id=self.deliberation_id),
            self.calls_before + self.report.calls,
        )

    def cap(self, setting: str) -> None:
        if setting not in self.report.capped:
            self.report.capped.append(setting)

    # step 1 -----------------------------------------------------------------------------------------

    def mine(self, card_ids: list[int]) -> None:
        for card_id in card_ids:
            try:
                added = contexts.mine_for_card(self.engine, self.model, card_id=card_id, job_run=self.run_id)
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

        def batch_done(b: dedup.BatchReport) -> None:
            self.report.calls += b.calls
            self.say(
                f"dedup batch {b.number}/{b.of}: "
                + (f"failed ({b.error})" if b.failed else f"{b.cards} cards, {b.created} new values")
            )

        try:
            summary = dedup.dedup(
                self.engine,
                self.model,
                self.embeddings,
                deliberation_id=self.deliberation_id,
                on_batch=batch_done,
                job_run=self.run_id,
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
            plan = _plan(session, self.deliberation_id, self.config, values)
        self.report.values.extend(values)
        self.report.new_pairs += plan.new_pairs
        if plan.pairs_capped:
            self.cap(PAIRS_CAP)
        for pair in plan.pairs:
            written, judged = plan.progress.get(pair, (0, 0))
            if self.config.pipeline_max_calls - self.used() < pair_cost(written=written, judged=judged):
                raise _Capped()
            self.report.pairs += 1
            self.one_pair(pair)

    def one_pair(self, pair: Pair) -> None:
        def story_done(o: stories.StoryOutcome) -> None:
            self.report.calls += o.calls
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
                job_run=self.run_id,
            )
        except InvalidInput as exc:  # a value merged away or a context gone since the plan was made
            self.say(f"pair {pair}: skipped ({one_line(exc)})")

    # the whole job ----------------------------------------------------------------------------------

    def run(self, steps: Callable[[], None]) -> PipelineReport:
        failure: StudioError | None = None
        try:
            steps()
        except _Capped:
            self.cap(CALLS_CAP)
        except StudioError as exc:  # the model or the database said no: keep what was done, say so, raise
            self.report.calls += 1  # the call that failed (a database error counts as one: an upper bound)
            self.report.stopped = f"stopped by an error: {one_line(exc)}"
            failure = exc
        finally:
            self._record()
        if failure is not None:
            raise failure
        return self.report

    def _cap_reason(self, setting: str) -> str:
        if setting == CALLS_CAP:
            return (
                f"the cap of {self.config.pipeline_max_calls} model calls (pipeline_max_calls) is reached: "
                "no more stories are written (cards are still mined and linked to values)"
            )
        return (
            f"the cap of {self.config.pipeline_max_pairs} pairs (pipeline_max_pairs) is reached: "
            "no new pairs get stories"
        )

    def _record(self) -> None:
        report = self.report
        limits = {CALLS_CAP: self.config.pipeline_max_calls, PAIRS_CAP: self.config.pipeline_max_pairs}
        try:
            used = self.used() if report.capped else 0
            with session_scope(self.engine) as session:
                said = _caps_said(session, self.deliberation_id)
                report.caps_reached = {s: limits[s] for s in report.capped if (s, limits[s]) not in said}
                if not report.did_something:
                    return
                reasons = [report.stopped] if report.stopped else []
                reasons += [self._cap_reason(s) for s in report.caps_reached]
                reason = "; ".join(reasons)
                if reason:
                    log.warning("pipeline of deliberation %s: %s", self.deliberation_id, reason)
                for setting, limit in report.caps_reached.items():
                    repo_values.add_moderation_event(
                        session,
                        data=self._event(
                            CAP_EVENT,
                            self._cap_reason(setting),
                            {"setting": setting, "limit": limit, "calls_used": used},
                        ),
                    )
                event = repo_values.add_moderation_event(
                    session, data=self._event(EVENT, reason, details_of(report))
                )
                report.event_id = event.id
        except StudioError as exc:
            log.warning(
                "pipeline of deliberation %s: its event was not recorded: %s",
                self.deliberation_id,
                one_line(exc),
            )

    def _event(self, action: str, reason: str, details: dict[str, Any]) -> ModerationEventCreate:
        return ModerationEventCreate(
            deliberation_id=self.deliberation_id,
            actor=ACTOR,
            action=action,
            target_type="deliberation",
            target_id=self.deliberation_id,
            reason=reason,
            details=details,
        )


def _caps_said(session: Session, deliberation_id: int) -> set[tuple[str, int]]:
    """The caps a ``pipeline_cap`` event said were reached, with the limit they were reached at."""
    events = repo_values.list_moderation_events(session, deliberation_id=deliberation_id, action=CAP_EVENT)
    return {
        (str(e.details.get("setting")), int(e.details.get("limit", -1))) for e in events if e.actor == ACTOR
    }


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
        deliberation_id = _deliberation_of(session, card_id)
    return after_cards(
        engine, model, embeddings, deliberation_id=deliberation_id, card_ids=[card_id], on_step=on_step
    )


def _deliberation_of(session: Session, card_id: int) -> int:
    card = repo_interviews.get_card(session, card_id=card_id)
    if card.question_id is None:
        raise InvalidInput(f"Values card {card_id} belongs to no question.")
    return repo_deliberations.get_question(session, question_id=card.question_id).deliberation_id


def after_cards(
    engine: Engine,
    model: BaseChatModel,
    embeddings: Embeddings,
    *,
    deliberation_id: int,
    card_ids: list[int],
    on_step: Progress | None = None,
) -> PipelineReport:
    """:func:`after_card` for several cards of ``deliberation_id`` at once (a round of :func:`submit`'s
    job: the cards submitted while its previous round ran); a card of another deliberation is refused."""
    with running(deliberation_id), _lock_of(deliberation_id):
        job = _Job(engine, model, embeddings, deliberation_id, _config(engine, deliberation_id), on_step)
        job.report.card_id, job.report.cards = card_ids[-1], list(card_ids)

        def steps() -> None:
            with session_scope(engine) as session:  # read under the lock: a card mined by the job before
                for card_id in card_ids:
                    if _deliberation_of(session, card_id) != deliberation_id:
                        raise InvalidInput(f"Values card {card_id} is not in deliberation {deliberation_id}.")
                unmined = [
                    c
                    for c in card_ids
                    if repo_interviews.MINED_FLAG
                    not in repo_interviews.get_card(session, card_id=c).quality_flags
                ]
            job.mine(unmined)
            joined = job.deduplicate()
            with session_scope(engine) as session:
                own = [repo_interviews.get_card(session, card_id=c).canonical_value_id for c in card_ids]
            job.write_stories(sorted({*joined, *(v for v in own if v is not None)}))

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
    """The chat-model calls the deliberation's pipeline made so far: the calls recorded with its job run
    (:func:`run_id_of`), failed ones included."""
    with session_scope(engine) as session:
        return repo_llm_calls.count_job_calls(session, job_run=run_id_of(deliberation_id))


def status(engine: Engine, *, deliberation_id: int) -> PipelineStatus:
    """Where the deliberation's pipeline stands (for the command line and the pages)."""
    config = _config(engine, deliberation_id)
    run_id = run_id_of(deliberation_id)
    used = calls_used(engine, deliberation_id=deliberation_id)
    with session_scope(engine) as session:
        pending = repo_values.count_pending_cards(session, deliberation_id=deliberation_id)
        values = repo_values.canonical_value_ids(session, deliberation_id=deliberation_id)
        plan = _plan(session, deliberation_id, config, values)
    return PipelineStatus(
        deliberation_id=deliberation_id,
        run_id=run_id,
        working=working(deliberation_id),
        calls_used=used,
        max_calls=config.pipeline_max_calls,
        pairs_used=len(plan.progress),
        max_pairs=config.pipeline_max_pairs,
        pairs_per_value=config.pipeline_pairs_per_value,
        unmined_cards=contexts.count_unmined(engine, deliberation_id=deliberation_id),
        pending_cards=pending,
        pairs_to_write=_affordable(plan, config.pipeline_max_calls - used),
    )


def details_of(report: PipelineReport) -> dict[str, Any]:
    """The report as its moderation event stores it."""
    return {k: v for k, v in asdict(report).items() if k not in ("event_id", "deliberation_id")}
