"""Job runs: a facilitator's long work (dedup, contexts, stories, grading, a graph build, an import) as a
persisted run, so a reload, a second tab or another app process shows its progress and its log.

A run is a ``JobRun`` row: kind, arguments, who started it, status (queued → running → succeeded or
failed), progress (``done`` of ``total``), the last :data:`LOG_LINES` log lines, a result and an error.
:func:`start` stores a queued run and hands it to the process's side-job pool (the console);
:func:`run_here` runs it in the calling thread (the command line). What each kind does is
:mod:`services.jobs.run_kinds`.

Safe to run twice: one run of a kind is active on a deliberation at a time, whatever its arguments
(generating contexts: one per question; :attr:`~services.jobs.run_kinds.Kind.same`), so starting it while
such a run is queued or running returns that run (:class:`Started` says so) instead of a second one; and the
work underneath is idempotent (dedup takes only pending cards, the console's stories continue the
deliberation's one story run, mined cards are flagged), so a rerun continues.

Failure: a run that raises ends ``failed`` with the error's one line; a run whose every batch failed ends
``failed`` too (the command line exits non-zero). A run whose process stopped (the server restarted) cannot
say so itself: while a run is queued or running its process writes a heartbeat every
:data:`HEARTBEAT_S` seconds, and a run whose heartbeat is older than :data:`STALE_S` is shown as failed
("stopped with its process") when read; starting the same job again marks it so and starts afresh. The
heartbeat of a run goes on while its process executes it (only the end of :func:`execute` stops it), and the
end of a run changes it only while it is still ``running`` (a run marked stopped meanwhile stays so).

This module loads no model library (``cli.py jobs list`` reads runs without langchain): the models come
from :class:`Models`, whose factories are called only by the kinds that need one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from errors import InvalidInput, StudioError, one_line
from interviews.vocabulary import JobKind, JobStatus
from storage import repo_deliberations, repo_jobs
from storage.db import session_scope
from storage.schemas_console import JobRunCreate, JobRunPublic
from storage.tables import JobRun, utcnow

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from services.jobs.run_kinds import Kind
    from services.runtime.background import BackgroundJobs
    from settings import Settings

log = logging.getLogger(__name__)

#: A run keeps its last this many log lines (older ones are dropped, the count of them is kept).
LOG_LINES = 500
#: A log line longer than this is cut (it may hold a model's text).
LINE_CHARS = 1000
#: How often a process writes the heartbeat of its queued and running runs.
HEARTBEAT_S = 20.0
#: A queued or running run whose heartbeat is older than this was left by a stopped process.
STALE_S = 180.0
#: After this many failed heartbeats in a row a process stops beating for the runs it only holds queued
#: (those it executes it beats until they end) and logs the failure again only every this many beats.
BEAT_TRIES = 3
STOPPED = "stopped with its process (no heartbeat for several minutes); start it again to continue"


@dataclass(frozen=True)
class Models:
    """Where a run gets its models: each factory is called only by a kind that needs it (a build or an
    import starts no model)."""

    chat: Callable[[], BaseChatModel]
    embeddings: Callable[[], Embeddings]

    @classmethod
    def configured(cls, settings: Settings, engine: Engine) -> Models:
        """The configured models (:mod:`services.runtime.model_clients`), built when first asked for."""

        def chat() -> BaseChatModel:
            from services.runtime import model_clients

            return model_clients.chat_model(settings, engine)

        def embeddings() -> Embeddings:
            from services.runtime import model_clients

            return model_clients.embeddings(settings, engine)

        return cls(chat, embeddings)


@dataclass(frozen=True)
class Outcome:
    """What a kind returns: its result, and an error line when the run failed though nothing raised
    (every batch failed); ``deliberation_id`` names the deliberation an import made."""

    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    deliberation_id: int | None = None


class Progress:
    """What a running kind reports; each call is one short transaction on the run's row."""

    def __init__(
        self, engine: Engine, run_id: int, on_line: Callable[[str], None] | None = None, *, actor: str = ""
    ) -> None:
        self.engine, self.run_id, self.on_line = engine, run_id, on_line
        self.actor = actor  # who started the run: what the run's own records are attributed to

    @property
    def job_run(self) -> str:
        """The name the run's model calls are recorded with (``LLMCall.job_run``)."""
        return job_run_name(self.run_id)

    def update(
        self,
        line: str | None = None,
        *,
        done: int | None = None,
        total: int | None = None,
        step: int = 0,
        echo: bool = True,
    ) -> None:
        """Append ``line`` to the log; set ``done``/``total``, or add ``step`` to ``done``. ``echo=False``
        keeps a line from ``on_line`` (the command line prints its own header and summary)."""
        if line is not None and echo and self.on_line is not None:
            self.on_line(line)
        with session_scope(self.engine) as session:
            run = repo_jobs.get_run(session, run_id=self.run_id)
            if line is not None:
                run.log = _appended(run.log, line)
            if total is not None:
                run.total = max(0, total)
            if done is not None:
                run.done = max(0, done)
            run.done += step
            run.heartbeat_at = utcnow()
            session.add(run)

    def line(self, text: str) -> None:
        self.update(text)


def job_run_name(run_id: int) -> str:
    """``job-<id>``: how the model calls of run ``run_id`` are recorded.

    >>> job_run_name(12)
    'job-12'
    """
    return f"job-{run_id}"


def _appended(lines: list[str], line: str) -> list[str]:
    """``lines`` with ``line`` (cut to :data:`LINE_CHARS`) at the end, the last :data:`LOG_LINES` kept.

    >>> _appended(["a"], "b")
    ['a', 'b']
    """
    text = line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…"
    return [*list(lines or [])[-(LOG_LINES - 1) :], text]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_stale(run: JobRun | JobRunPublic, *, now: datetime | None = None) -> bool:
    """Whether a queued or running run's process stopped (its heartbeat is older than :data:`STALE_S`)."""
    if run.status not in repo_jobs.ACTIVE:
        return False
    last = _aware(run.heartbeat_at) or _aware(run.created_at)
    return last is not None and (now or utcnow()) - last > timedelta(seconds=STALE_S)


def public(run: JobRun, *, now: datetime | None = None) -> JobRunPublic:
    """The run as front ends show it: a run left by a stopped process reads as failed."""
    shown = JobRunPublic.model_validate(run)
    if is_stale(run, now=now):
        return shown.model_copy(update={"status": JobStatus.FAILED.value, "error": STOPPED})
    return shown


def get_run(engine: Engine, *, run_id: int) -> JobRunPublic:
    with session_scope(engine) as session:
        return public(repo_jobs.get_run(session, run_id=run_id))


def list_runs(
    engine: Engine, *, deliberation_id: int | None = None, kind: str | None = None, limit: int = 50
) -> list[JobRunPublic]:
    """The latest runs (of one deliberation, of one kind, when given), newest first."""
    with session_scope(engine) as session:
        now = utcnow()
        rows = repo_jobs.list_runs(
            session, deliberation_id=deliberation_id, kinds=[kind] if kind else None, limit=limit
        )
        return [public(r, now=now) for r in rows]


def stale_before(now: datetime | None = None) -> datetime:
    """A queued or running run whose heartbeat is older than this was left by a stopped process."""
    return (now or utcnow()) - timedelta(seconds=STALE_S)


@dataclass(frozen=True)
class Started:
    """What starting a job gave: the run, and whether it is new (False: the same job was queued or running
    already, and ``run`` is that one)."""

    run: JobRunPublic
    created: bool


def any_active(runs: list[JobRunPublic]) -> bool:
    """Whether one of ``runs`` is still queued or running (a page refreshes while so)."""
    return any(r.status in repo_jobs.ACTIVE for r in runs)


def _queue(
    engine: Engine, *, kind: str, deliberation_id: int | None, args: dict[str, Any], actor: str
) -> tuple[JobRunPublic, bool]:
    """The queued or running run of the same job (:attr:`Kind.same`), or a new queued one; and whether it is
    new."""
    from services.jobs import run_kinds

    spec = run_kinds.kind(kind)
    checked = spec.check(engine, deliberation_id, dict(args))
    wanted = spec.same(checked)
    actor = (actor or "").strip()[:100]
    with session_scope(engine) as session:
        repo_jobs.lock_starts(session)
        if deliberation_id is not None:  # deleted since it was checked (a delete takes the lock too)
            repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        now = utcnow()
        for active in repo_jobs.active_runs(session, kind=spec.kind.value, deliberation_id=deliberation_id):
            if is_stale(active, now=now):  # its process stopped: say so, then start afresh
                active.status, active.error, active.finished_at = JobStatus.FAILED.value, STOPPED, now
                session.add(active)
            elif _same(spec.same, active.args, wanted):
                return public(active, now=now), False
        run = repo_jobs.add_run(
            session,
            data=JobRunCreate(
                kind=spec.kind.value, deliberation_id=deliberation_id, args=checked, actor=actor
            ),
        )
        run.heartbeat_at = now
        session.flush()
        created = public(run, now=now)
    _BEATER.hold(engine, created.id)
    return created, True


def _same(same: Callable[[dict[str, Any]], Any], args: dict[str, Any], wanted: Any) -> bool:
    try:
        return bool(same(dict(args or {})) == wanted)
    except (KeyError, TypeError):  # arguments stored by an older version: not comparable, so the same job
        return True


def start(
    engine: Engine,
    jobs: BackgroundJobs,
    models: Models,
    *,
    kind: str | JobKind,
    deliberation_id: int | None,
    args: dict[str, Any],
    actor: str,
) -> Started:
    """Store a queued run of ``kind`` and run it on ``jobs`` (the console's pool); the arguments are checked
    first (:class:`InvalidInput`). When the same job is queued or running, that run is returned instead
    (``created`` False) and nothing is started."""
    run, created = _queue(engine, kind=str(kind), deliberation_id=deliberation_id, args=args, actor=actor)
    if created:
        jobs.submit(f"job run {run.id} ({run.kind})", execute, engine, models, run_id=run.id)
    return Started(run, created)


def run_here(
    engine: Engine,
    models: Models,
    *,
    kind: str | JobKind,
    deliberation_id: int | None,
    args: dict[str, Any],
    actor: str,
    on_line: Callable[[str], None] | None = None,
) -> JobRunPublic:
    """Store a run of ``kind`` and run it in this thread (the command line); ``on_line`` sees each log line
    as it is written. Returns the ended run. When the same job is already queued or running elsewhere,
    :class:`InvalidInput` says so (nothing is run twice)."""
    run, created = _queue(engine, kind=str(kind), deliberation_id=deliberation_id, args=args, actor=actor)
    if not created:
        raise InvalidInput(
            f"The same job is already {run.status} as run {run.id} (started by {run.actor or 'someone'}); "
            f"python cli.py jobs show {run.id} follows it."
        )
    return execute(engine, models, run_id=run.id, on_line=on_line)


def execute(
    engine: Engine, models: Models, *, run_id: int, on_line: Callable[[str], None] | None = None
) -> JobRunPublic:
    """Run the queued run ``run_id`` to its end and store how it ended; a run another worker took already
    is left alone. Errors end the run as failed (they are not raised: the run records them). Its heartbeat
    goes on until it ends here; the end is stored only while the run is still ``running`` (one marked
    stopped meanwhile, by a start that found no heartbeat, keeps that status)."""
    from services.jobs import run_kinds

    with session_scope(engine) as session:
        run = repo_jobs.get_run(session, run_id=run_id, lock=True)
        if run.status != JobStatus.QUEUED:
            _BEATER.unhold(run_id)  # ended (or stale) before a worker took it; one running is not ours
            return public(run)
        run.status, run.started_at, run.heartbeat_at = JobStatus.RUNNING.value, utcnow(), utcnow()
        session.add(run)
        kind, deliberation_id, args, actor = run.kind, run.deliberation_id, dict(run.args), run.actor
    _BEATER.executing(engine, run_id)
    try:
        return _execute(engine, models, run_kinds.kind(kind), run_id, deliberation_id, args, actor, on_line)
    finally:
        _BEATER.release(run_id)


def _execute(
    engine: Engine,
    models: Models,
    spec: Kind,
    run_id: int,
    deliberation_id: int | None,
    args: dict[str, Any],
    actor: str,
    on_line: Callable[[str], None] | None,
) -> JobRunPublic:
    progress = Progress(engine, run_id, on_line, actor=actor)
    outcome: Outcome
    try:
        outcome = spec.run(engine, models, progress, deliberation_id, args)
    except StudioError as exc:
        outcome = Outcome(error=one_line(exc))
    except Exception as exc:  # a bug: the traceback goes to the log, the run says what broke
        log.exception("job run %s (%s) failed", run_id, spec.kind.value)
        outcome = Outcome(error=f"an unexpected error ({type(exc).__name__}); the server log has the details")
    with session_scope(engine) as session:
        run = repo_jobs.get_run(session, run_id=run_id, lock=True)
        if run.status != JobStatus.RUNNING:  # marked stopped (or ended) meanwhile: that stays
            log.warning("job run %s ended while %s; its end is not stored", run_id, run.status)
            return public(run)
        run.status = (JobStatus.FAILED if outcome.error else JobStatus.SUCCEEDED).value
        run.error = outcome.error
        run.result = outcome.result
        if outcome.deliberation_id is not None:
            run.deliberation_id = outcome.deliberation_id
        if outcome.error:
            run.log = _appended(run.log, f"failed: {outcome.error}")
        run.finished_at = run.heartbeat_at = utcnow()
        session.add(run)
        session.flush()
        return public(run)


class _Beater:
    """One daemon thread per process writing the heartbeat of the runs this process holds: those it queued
    (until a worker takes them, or they end or go stale) and those it executes (until :func:`execute` ends
    them: :meth:`release`, never the thread itself)."""

    def __init__(self) -> None:
        self._queued: dict[int, Engine] = {}
        self._executing: dict[int, Engine] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failures: dict[int, int] = {}  # per engine: heartbeats failed in a row

    def hold(self, engine: Engine, run_id: int) -> None:
        """Beat for a run this process queued."""
        with self._lock:
            self._queued[run_id] = engine
            self._ensure_thread()

    def executing(self, engine: Engine, run_id: int) -> None:
        """Beat for a run this process executes, until :meth:`release`."""
        with self._lock:
            self._queued.pop(run_id, None)
            self._executing[run_id] = engine
            self._ensure_thread()

    def unhold(self, run_id: int) -> None:
        """Stop beating for a queued run that no worker here will execute."""
        with self._lock:
            self._queued.pop(run_id, None)

    def release(self, run_id: int) -> None:
        """The run ended here: stop beating for it."""
        with self._lock:
            self._queued.pop(run_id, None)
            self._executing.pop(run_id, None)

    def held(self) -> set[int]:
        with self._lock:
            return set(self._queued) | set(self._executing)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="job-heartbeat", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            threading.Event().wait(HEARTBEAT_S)
            self.beat_once()

    def beat_once(self) -> None:
        """Write one heartbeat for every run held (the thread does so every :data:`HEARTBEAT_S`)."""
        with self._lock:
            held = {**self._queued, **self._executing}
        by_engine: dict[int, tuple[Engine, list[int]]] = {}
        for run_id, engine in held.items():
            by_engine.setdefault(id(engine), (engine, []))[1].append(run_id)
        for engine, ids in by_engine.values():
            try:
                with session_scope(engine) as session:
                    alive = repo_jobs.beat(session, run_ids=ids, at=utcnow())
                with self._lock:  # a queued run that ended or went stale needs no beat; executing ones do
                    for run_id in set(ids) - alive:
                        self._queued.pop(run_id, None)
                self._failures.pop(id(engine), None)
            except Exception as exc:  # a database hiccup: the next beat tries again
                failures = self._failures[id(engine)] = self._failures.get(id(engine), 0) + 1
                if (failures - 1) % BEAT_TRIES == 0:
                    log.warning("could not write the heartbeat of job runs %s: %s", ids, one_line(exc))
                if failures >= BEAT_TRIES:  # the queued ones are given up; executing ones go on beating
                    with self._lock:
                        for run_id in ids:
                            self._queued.pop(run_id, None)


_BEATER = _Beater()
