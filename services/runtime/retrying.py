"""Retries with backoff for model calls that may succeed on a second try.

The ``openai`` SDK already retries HTTP 408/409/429/5xx and dropped connections (``LLM_MAX_RETRIES``);
this layer adds what it cannot know about: a timeout of the whole call, a reply that broke the requested
structure, or an empty reply. Authentication, bad requests and an unreachable endpoint are not retried:
another try cannot fix them, and the participant should see the message at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from providers.errors import ModelError, ModelOutputError, ModelTimeout

T = TypeVar("T")

#: Only what the SDK does not retry itself (it already retries 429 and 5xx ``LLM_MAX_RETRIES`` times).
RETRYABLE: tuple[type[ModelError], ...] = (ModelTimeout, ModelOutputError)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all, waiting ``backoff_s``, then twice that, ... between them."""

    attempts: int = 3
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> None:
        """Sleep before try number ``attempt + 1`` (``attempt`` counts from 0)."""
        self.sleep(self.backoff_s * (2**attempt))

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried on :data:`RETRYABLE` errors; the last error propagates.

        >>> calls = []
        >>> def flaky():
        ...     calls.append(1)
        ...     if len(calls) < 2:
        ...         raise ModelTimeout("slow")
        ...     return "ok"
        >>> RetryPolicy(sleep=lambda s: None).call(flaky), len(calls)
        ('ok', 2)
        """
        for attempt in range(self.attempts):
            try:
                return fn()
            except RETRYABLE:
                if attempt + 1 >= self.attempts:
                    raise
                self.wait(attempt)
        raise AssertionError("unreachable")  # pragma: no cover


DEFAULT_RETRY = RetryPolicy()
