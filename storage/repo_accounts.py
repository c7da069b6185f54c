"""Repository functions for facilitator accounts, sign-in attempts and the app's own secrets.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). Rows are
created from their ``XCreate`` schemas (``data=``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
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


def rate_attempts(
    session: Session, *, account_name: str, client: str, since: datetime
) -> tuple[list[SignInAttempt], list[SignInAttempt]]:
    """The attempts on ``account_name`` and those from ``client`` since ``since``, each oldest first."""

    def since_then(*where: Any) -> list[SignInAttempt]:
        statement = (
            select(SignInAttempt)
            .where(col(SignInAttempt.created_at) >= since, *where)
            .order_by(col(SignInAttempt.created_at), col(SignInAttempt.id))
        )
        return list(session.exec(statement).all())

    return (
        since_then(SignInAttempt.account_name == account_name),
        since_then(SignInAttempt.client == client),
    )


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
