"""Repository functions for facilitator accounts, sign-in attempts and the app's own secrets.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). Rows are
created from their ``XCreate`` schemas (``data=``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.schemas_console import FacilitatorAccountCreate, SignInAttemptCreate
from storage.tables import AppSecret, FacilitatorAccount, SignInAttempt, utcnow


def add_account(session: Session, *, data: FacilitatorAccountCreate) -> FacilitatorAccount:
    account = FacilitatorAccount.model_validate(data)
    session.add(account)
    session.flush()
    return account


def account_by_name(session: Session, *, name: str) -> FacilitatorAccount | None:
    return session.exec(select(FacilitatorAccount).where(FacilitatorAccount.name == name)).first()


def list_accounts(session: Session) -> list[FacilitatorAccount]:
    return list(session.exec(select(FacilitatorAccount).order_by(col(FacilitatorAccount.name))).all())


def count_usable_accounts(session: Session) -> int:
    """Accounts that can sign in with a password: enabled, with a password hash."""
    statement = (
        select(func.count())
        .select_from(FacilitatorAccount)
        .where(
            col(FacilitatorAccount.disabled_at).is_(None), col(FacilitatorAccount.password_hash).is_not(None)
        )
    )
    return int(session.exec(statement).one())


def add_attempt(session: Session, *, data: SignInAttemptCreate, at: datetime | None = None) -> SignInAttempt:
    attempt = SignInAttempt.model_validate(data)
    if at is not None:
        attempt.created_at = at
    session.add(attempt)
    session.flush()
    return attempt


#: Namespace of the sign-in's transaction-scoped advisory locks on PostgreSQL (the two-key form).
SIGN_IN_LOCK_SPACE = 72_317_012


def lock_sign_in(session: Session, *, keys: Iterable[str]) -> None:
    """Serialise sign-in attempts that share one of ``keys`` until this transaction ends: on PostgreSQL a
    ``pg_advisory_xact_lock`` per key, taken in one order (no deadlock); on SQLite every transaction is
    ``BEGIN IMMEDIATE`` and holds the write lock already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    hashes = {
        int.from_bytes(hashlib.sha256(k.encode("utf-8", "replace")).digest()[:4], "big", signed=True)
        for k in keys
    }
    for number in sorted(hashes):
        session.exec(select(func.pg_advisory_xact_lock(SIGN_IN_LOCK_SPACE, number)))


def failure_run(
    session: Session,
    *,
    since: datetime,
    failures: Collection[str],
    forgiven_by: Collection[str],
    account_name: str | None = None,
    client: str | None = None,
) -> tuple[int, datetime | None]:
    """The failures (a reason in ``failures``) of one key (``account_name``, ``client`` or both) since
    ``since`` and since the key's last successful attempt, less those a later row on the same account with
    a reason in ``forgiven_by`` forgives (an unlock): how many, and when the latest was. Counted in SQL."""
    key: list[Any] = []
    if account_name is not None:
        key.append(col(SignInAttempt.account_name) == account_name)
    if client is not None:
        key.append(col(SignInAttempt.client) == client)
    recent = col(SignInAttempt.created_at) >= since
    last_ok = (
        select(func.coalesce(func.max(SignInAttempt.id), 0))
        .where(recent, col(SignInAttempt.ok).is_(True), *key)
        .scalar_subquery()
    )
    later = aliased(SignInAttempt)
    forgiven = (
        select(later.id)
        .where(
            col(later.account_name) == col(SignInAttempt.account_name),
            col(later.reason).in_(list(forgiven_by)),
            col(later.id) > col(SignInAttempt.id),
        )
        .exists()
    )
    statement = select(func.count(), func.max(SignInAttempt.created_at)).where(
        recent,
        col(SignInAttempt.reason).in_(list(failures)),
        col(SignInAttempt.id) > last_ok,
        ~forgiven,
        *key,
    )
    count, latest = session.exec(statement).one()
    return int(count or 0), latest


def set_attempt(session: Session, *, attempt_id: int, ok: bool, reason: str) -> None:
    """Record how a provisional attempt ended."""
    attempt = session.get(SignInAttempt, attempt_id)
    if attempt is None:
        return
    attempt.ok, attempt.reason = ok, reason
    session.add(attempt)
    session.flush()


def recent_attempts(session: Session, *, limit: int) -> list[SignInAttempt]:
    """The newest ``limit`` attempts, newest first."""
    statement = (
        select(SignInAttempt)
        .order_by(col(SignInAttempt.created_at).desc(), col(SignInAttempt.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def get_or_create_secret(session: Session, *, name: str, make: str) -> str:
    """The secret called ``name``; the first caller stores ``make``, every later one (in any process)
    reads what was stored first: two processes racing both end with the same value."""
    found = session.get(AppSecret, name)
    if found is not None:
        return found.value
    try:
        with session.begin_nested():
            session.add(AppSecret(name=name, value=make, created_at=utcnow()))
            session.flush()
    except IntegrityError:  # another process stored it meanwhile: theirs wins
        pass
    stored = session.exec(select(AppSecret.value).where(AppSecret.name == name)).one()
    return stored
