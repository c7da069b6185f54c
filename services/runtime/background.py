"""Side jobs that must not keep a participant waiting: the continuous pipeline after a card is submitted
(:mod:`services.jobs.pipeline`: its contexts, dedup, the stories of its value's new pairs; at most one job
per deliberation at a time), or only the card's contexts when the pipeline is off (``PIPELINE=off``).

A small thread pool. A job's failure is logged (one line for a model or database error, the traceback for
anything else) and never reaches a page: jobs are best effort and safe to run again, and what a stopped
process leaves undone is rerun from the command line (``cli.py pipeline ID``; with the pipeline off,
``cli.py mine-contexts ID``).

>>> jobs = BackgroundJobs(workers=1)
>>> jobs.submit("adding", sum, [1, 2]).result()
3
>>> jobs.wait(timeout_s=5)
True
>>> jobs.shutdown()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any, ParamSpec, TypeVar

from errors import StudioError, one_line

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class BackgroundJobs:
    """Run callables on ``workers`` threads; :meth:`wait` for the ones still pending (tests, shutdown)."""

    def __init__(self, *, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="background-job")
        self._pending: set[Future[Any]] = set()  # jobs of any result type
        self._lock = threading.Lock()

    def submit(self, what: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start ``fn(*args, **kwargs)``; ``what`` names the job in the log line written if it fails."""
        future = self._pool.submit(_logged, what, fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._discard)
        return future

    def wait(self, *, timeout_s: float | None = None) -> bool:
        """Wait until every job submitted so far has ended; False if some still run after ``timeout_s``."""
        with self._lock:
            pending = set(self._pending)
        return not wait_for(pending, timeout=timeout_s).not_done

    def shutdown(self) -> None:
        """Finish the pending jobs, then stop the threads."""
        self._pool.shutdown(wait=True)

    def _discard(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)


def _logged(what: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the job and log its failure before the future ends (so a waiter sees the log line)."""
    try:
        return fn(*args, **kwargs)
    except StudioError as exc:  # the model or the database said no: one line is enough
        log.warning("%s failed: %s", what, one_line(exc))
        raise
    except Exception:  # a bug: keep the traceback
        log.exception("%s failed", what)
        raise
