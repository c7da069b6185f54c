"""Schemas of the facilitator console's rows: accounts, sign-in attempts and job runs
(``XCreate`` in, ``XPublic`` out; the tables are in :mod:`storage.tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from storage.tables import FacilitatorAccountBase, JobRunBase, SignInAttemptBase


class FacilitatorAccountCreate(FacilitatorAccountBase):
    pass


class FacilitatorAccountPublic(SQLModel):
    """An account as the console lists it (never its password hash)."""

    id: int
    name: str
    has_password: bool
    session_version: int
    created_at: datetime
    disabled_at: datetime | None = None
    last_signin_at: datetime | None = None


class SignInAttemptCreate(SignInAttemptBase):
    pass


class SignInAttemptPublic(SignInAttemptBase):
    id: int
    created_at: datetime


class JobRunCreate(JobRunBase):
    pass


class JobRunPublic(JobRunBase):
    """A job run as the console and the CLI show it."""

    id: int
    status: str
    done: int
    total: int
    log: list[str]
    result: dict[str, Any]
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
