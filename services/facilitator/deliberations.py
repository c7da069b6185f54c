"""Facilitator actions: set up deliberations and invite people."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.vocabulary import DeliberationStatus, values_of
from storage import repo_deliberations, repo_participants
from storage.db import session_scope
from storage.schemas import (
    CohortCreate,
    DeliberationConfig,
    DeliberationCreate,
    DeliberationPublic,
    InviteCreate,
    InvitePublic,
    QuestionPublic,
)
from storage.tables import Deliberation, utcnow

MAX_INVITES_PER_CALL = 10_000


def create_deliberation(
    engine: Engine,
    *,
    title: str,
    questions: list[str],
    welcome_text: str = "",
    consent_text: str = "",
    config: dict[str, Any] | None = None,
) -> DeliberationPublic:
    """Create a deliberation with its questions; raises :class:`InvalidInput` on a bad field."""
    if not questions:
        raise InvalidInput("A deliberation needs at least one question.")
    try:
        data = DeliberationCreate(
            title=title,
            questions=questions,
            welcome_text=welcome_text,
            consent_text=consent_text,
            config=config or {},
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        deliberation = repo_deliberations.create_deliberation(session, data=data)
        return _public(session, deliberation)


def read_config_file(path: Path) -> dict[str, Any]:
    """A deliberation's settings from a JSON file, checked (one clear line for a bad file or field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "The settings") -> dict[str, Any]:
    """A deliberation's settings from JSON text (empty text: the defaults), checked field by field.

    >>> parse_config('{"stories_to_judge": 5}')["stories_to_judge"]
    5
    >>> parse_config("[1]")
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The settings should hold a JSON object of settings.
    """
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{source} should hold a JSON object of settings.")
    try:
        return DeliberationConfig.model_validate(data).model_dump()
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


def list_deliberations(engine: Engine) -> list[DeliberationPublic]:
    with session_scope(engine) as session:
        return [_public(session, d) for d in repo_deliberations.list_deliberations(session)]


def get_deliberation(engine: Engine, *, deliberation_id: int) -> DeliberationPublic:
    with session_scope(engine) as session:
        return _public(session, repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id))


def set_status(engine: Engine, *, deliberation_id: int, status: str) -> DeliberationPublic:
    """Open, close or archive a deliberation (closed ones accept no new participants)."""
    if status not in values_of(DeliberationStatus):
        raise InvalidInput(f"A status is one of {', '.join(DeliberationStatus)} (got {status!r}).")
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        deliberation.status, deliberation.updated_at = status, utcnow()
        session.add(deliberation)
        return _public(session, deliberation)


def open_link(engine: Engine, *, deliberation_id: int, base_url: str) -> str:
    """The deliberation's open join link (anyone with it can take part; ``&pid=`` adds a panel id)."""
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        code = repo_deliberations.set_open_join_code(session, deliberation=deliberation)
    return f"{base_url.rstrip('/')}/join?code={code}"


@dataclass(frozen=True)
class InviteLink:
    invite: InvitePublic
    url: str


def invite_url(base_url: str, code: str) -> str:
    """The link a person opens to join with invite ``code``."""
    return f"{base_url.rstrip('/')}/join?invite={code}"


def create_invites(
    engine: Engine, *, deliberation_id: int, count: int, base_url: str, cohort: str | None = None
) -> list[InviteLink]:
    """Create ``count`` single-use invite links (optionally in a named cohort)."""
    if not 1 <= count <= MAX_INVITES_PER_CALL:
        raise InvalidInput(f"count must be between 1 and {MAX_INVITES_PER_CALL} (got {count}).")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        raise InvalidInput(f"The base URL of invite links must be an http(s) URL (got {base_url!r}).")
    cohort_name = (cohort or "").strip() or None
    try:
        named = CohortCreate(deliberation_id=deliberation_id, name=cohort_name) if cohort_name else None
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        cohort_id = None
        if named is not None:
            repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
            cohort_id = repo_deliberations.get_or_create_cohort(session, data=named).id
        invites = repo_deliberations.create_invites(
            session, data=InviteCreate(deliberation_id=deliberation_id, cohort_id=cohort_id), count=count
        )
        return [
            InviteLink(
                invite=InvitePublic.model_validate(invite, update={"cohort": cohort_name}),
                url=invite_url(base_url, invite.code),
            )
            for invite in invites
        ]


def _public(session: Any, deliberation: Deliberation) -> DeliberationPublic:
    assert deliberation.id is not None
    questions = [
        QuestionPublic.model_validate(q)
        for q in repo_deliberations.list_questions(session, deliberation_id=deliberation.id)
    ]
    return DeliberationPublic.model_validate(
        deliberation,
        update={
            "questions": questions,
            "participant_count": repo_participants.count_participants(
                session, deliberation_id=deliberation.id
            ),
        },
    )
