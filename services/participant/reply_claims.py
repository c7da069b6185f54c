"""The chat's reply protocol: one reply at a time per interview, written by the call that claims it.

A call that finds a participant's message waiting claims the reply under the interview's row lock, by
storing the reply row in status ``streaming`` with a claim key (:data:`KEY_PREFIX` + hex: a send's key,
:data:`services.participant.interviewing.SEND_KEY`, has no ``:``, so the two never meet). A second call
(another tab, a double request) sees the claim and calls no model.

The writer renews its claim by rewriting the row (its text so far, and ``created_at``: a claim's age is
the time since its last write, so no column of its own is needed): at the first piece, then every
:data:`HEARTBEAT_S` as pieces come, and from a heartbeat thread of its own every :data:`HEARTBEAT_S`
whatever the model does (a wait for the first piece, the SDK's retries, the service's backoff). A claim
left unrenewed for longer than :func:`stale_after_s` (its writer's process was killed) is taken over by
the next call: what it had written is kept as ``cut_off`` (or, empty, the row goes), and a new claim is
made; the old writer finds its key gone at its next write and stops without writing. The limit is long
enough that even a writer whose heartbeats all failed is not taken over within one model attempt.

A claim ends once: ``complete`` or ``cut_off`` (:meth:`Claim.finish`), or :meth:`Claim.close` when the
reply broke off (what was shown is kept as ``cut_off``). Polling tabs read a claim's age without a row
lock (:func:`claimed_elsewhere`) and lock only to take a stale or absent claim.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from interviews.text_rules import clean_model_text
from interviews.vocabulary import MessageRole, MessageStatus, Stage
from services.runtime.retrying import DEFAULT_RETRY, RetryPolicy
from settings import Settings
from storage import repo_interviews
from storage.db import Session, session_scope
from storage.schemas import MessageCreate

log = logging.getLogger(__name__)

#: How often a streaming reply writes its text so far, renewing its claim.
HEARTBEAT_S = 2.0
#: A claim's key starts with this; send keys cannot contain ``:``.
KEY_PREFIX = "reply:"
#: What a call gets that passes no limit of its own (tests); pages pass :func:`stale_after_s`.
DEFAULT_STALE_AFTER_S = 300.0


def stale_after_s(settings: Settings, retry: RetryPolicy = DEFAULT_RETRY) -> float:
    """How long a claim must go unrenewed before it is taken for dead: one model attempt at its slowest
    (``LLM_TIMEOUT_S`` x (``LLM_MAX_RETRIES`` + 1): the SDK's own tries), the service's whole backoff, and
    three heartbeats (so even ``LLM_TIMEOUT_S`` under :data:`HEARTBEAT_S` leaves a live claim alone).

    >>> from settings import load_settings
    >>> stale_after_s(load_settings(environ={"LLM_TIMEOUT_S": "1", "LLM_MAX_RETRIES": "0"}, secrets={}))
    8.5
    """
    backoff = sum(retry.backoff_s * 2**attempt for attempt in range(retry.attempts - 1))
    return settings.llm_timeout_s * (settings.llm_max_retries + 1) + backoff + 3 * HEARTBEAT_S


@dataclass
class Claim:
    """The reply row one call writes (status ``streaming`` until it ends), claimed with ``key``; ``text``
    is what was shown so far, ``open`` whether the row is still this call's to end. ``model_text`` (the
    model's own text, when what was shown differs) and ``shaping`` (what was done to it) are written with
    the row (:meth:`note_shaping`)."""

    engine: Engine
    interview_id: int
    message_id: int
    key: str
    text: str = ""
    open: bool = True
    model_text: str | None = None
    shaping: tuple[str, ...] = ()
    written: float = float("-inf")  # when the row was last written (monotonic): the first piece writes
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start_heartbeat(self) -> None:
        """Renew the claim every :data:`HEARTBEAT_S` from a daemon thread until it ends, pieces or not."""
        threading.Thread(target=self._beat, name=f"reply-claim-{self.message_id}", daemon=True).start()

    def note_shaping(self, model_text: str | None, shaping: Sequence[str]) -> None:
        """Note the model's own text (``None``: the participant read it as it is) and what the reply
        shaping did; every later write of the row stores them with its text."""
        self.model_text = None if model_text is None else clean_model_text(model_text)
        self.shaping = tuple(shaping)

    def renew(self, text: str) -> bool:
        """Note the (model-written) text so far and write it at the first piece, then every
        :data:`HEARTBEAT_S`, so a crash keeps what was shown; ``False`` when another call took it over."""
        self.text = clean_model_text(text)
        if time.monotonic() - self.written < HEARTBEAT_S:
            return self.open
        return self._write(self.text, MessageStatus.STREAMING)

    def finish(self, text: str, status: MessageStatus, *, state: Stage | None = None) -> None:
        """Store the reply as it ended: ``complete`` or ``cut_off`` (moving the stage to ``state``)."""
        self._stop.set()
        try:
            self._write(clean_model_text(text), status, state=state)
        finally:
            self.open = False

    def close(self, *, after: BaseException | None = None) -> None:
        """End a reply that broke off (an error, the page stopped reading): what was shown is kept as
        ``cut_off``; with nothing shown the row goes. Nothing when it was ended already.

        ``after``: the error that broke it off. When this write fails too, it is logged and ``after`` is
        left to propagate (the caller re-raises it), rather than hidden behind the second failure.
        """
        self._stop.set()
        if not self.open:
            return
        try:
            if self.text:
                self.finish(self.text, MessageStatus.CUT_OFF)
                return
            self.open = False
            with self._lock, session_scope(self.engine) as session:
                repo_interviews.get_interview(session, interview_id=self.interview_id, lock=True)
                repo_interviews.drop_claimed_reply(session, message_id=self.message_id, key=self.key)
        except Exception:
            self.open = False
            if after is None:
                raise
            log.exception("interview %s: reply %s could not be ended", self.interview_id, self.message_id)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if not self.open:
                return
            if time.monotonic() - self.written < HEARTBEAT_S / 2:
                continue  # a piece renewed it just now
            try:
                if not self._write(self.text, MessageStatus.STREAMING):
                    return
            except Exception:  # the database hiccuped: the next beat tries again
                log.warning("interview %s: heartbeat of reply %s failed", self.interview_id, self.message_id)

    def _write(self, text: str, status: MessageStatus, *, state: Stage | None = None) -> bool:
        with self._lock:
            if not self.open:
                return False
            self.written = time.monotonic()
            with session_scope(self.engine) as session:
                interview = repo_interviews.get_interview(session, interview_id=self.interview_id, lock=True)
                kept = repo_interviews.write_claimed_reply(
                    session,
                    message_id=self.message_id,
                    key=self.key,
                    content=text,
                    status=status.value,
                    model_text=self.model_text,
                    shaping=self.shaping,
                )
                if kept and state is not None:
                    repo_interviews.set_interview_state(session, interview=interview, state=state.value)
            if not kept:
                self.open = False  # taken over as stale by another call: the row is no longer ours
                self._stop.set()
            return kept


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def claimed_elsewhere(session: Session, *, interview_id: int, stale_after_s: float) -> bool:
    """Whether a live claim (one renewed within ``stale_after_s``) is on the interview's reply."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_after_s)
    claims = repo_interviews.streaming_replies(session, interview_id=interview_id)
    return any(_aware(claim.created_at) > cutoff for claim in claims)


def end_stale_claims(session: Session, *, interview_id: int) -> None:
    """Take over the interview's claims (the caller holds the row lock and found none live): each ends as
    ``cut_off`` with what it had written or, empty, goes."""
    for claim in repo_interviews.streaming_replies(session, interview_id=interview_id):
        since = _aware(claim.created_at).isoformat(timespec="seconds")
        log.warning("interview %s: reply %s stale since %s, taken over", interview_id, claim.id, since)
        repo_interviews.end_stale_reply(session, message=claim)


def claim_reply(session: Session, engine: Engine, *, interview_id: int) -> Claim:
    """Store the empty ``streaming`` reply row that claims the next reply (the caller holds the row
    lock); the claim's heartbeat starts with :meth:`Claim.start_heartbeat` once this session commits."""
    key = KEY_PREFIX + uuid.uuid4().hex
    data = MessageCreate(
        interview_id=interview_id,
        role=MessageRole.ASSISTANT,
        content="",
        status=MessageStatus.STREAMING,
        client_key=key,
    )
    row = repo_interviews.add_message(session, data=data)
    assert row.id is not None
    return Claim(engine, interview_id, row.id, key)
