"""Side jobs: they run off the page's thread, their failures are logged and never raised."""

from __future__ import annotations

import logging
import threading

import pytest

from errors import InvalidInput
from services.runtime.background import BackgroundJobs


@pytest.fixture
def jobs():
    pool = BackgroundJobs(workers=2)
    yield pool
    pool.shutdown()


def test_a_job_runs_on_another_thread_and_wait_sees_it_end(jobs: BackgroundJobs) -> None:
    started, release = threading.Event(), threading.Event()

    def job() -> str:
        started.set()
        release.wait(10)
        return threading.current_thread().name

    future = jobs.submit("waiting", job)
    assert started.wait(10)
    assert jobs.wait(timeout_s=0.05) is False  # still running: the caller was not kept waiting
    release.set()
    assert jobs.wait(timeout_s=10) is True
    assert future.result().startswith("background-job") and future.result() != threading.current_thread().name


def test_a_user_error_is_one_log_line(jobs: BackgroundJobs, caplog: pytest.LogCaptureFixture) -> None:
    def refuse() -> None:
        raise InvalidInput("Values card 7 is not\nsubmitted.")

    with caplog.at_level(logging.WARNING, logger="services.runtime.background"):
        jobs.submit("mining contexts for card 7", refuse)
        assert jobs.wait(timeout_s=10)
    [record] = caplog.records
    assert record.getMessage() == "mining contexts for card 7 failed: Values card 7 is not submitted."
    assert record.levelno == logging.WARNING and record.exc_info is None


def test_a_bug_keeps_its_traceback(jobs: BackgroundJobs, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise KeyError("oops")

    with caplog.at_level(logging.WARNING, logger="services.runtime.background"):
        jobs.submit("a broken job", broken)
        assert jobs.wait(timeout_s=10)
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.getMessage() == "a broken job failed"
