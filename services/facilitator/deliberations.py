"""Facilitator actions: set up deliberations and invite people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import ascii_safe, check_strings, check_text
from interviews.vocabulary import DeliberationStatus, values_of
from services.facilitator.seed_rows import missing_seeds
from settings import base_url_problem
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
    """Create a deliberation with its questions; raises :class:`InvalidInput` on a bad field (a text over
    its cap, a NUL or a lone surrogate anywhere, a setting out of bounds)."""
    if not questions:
        raise InvalidInput("A deliberation needs at least one question.")
    check_text(title, what="The title")
    for i, question in enumerate(questions, 1):
        check_text(question, what=f"Question {i}")
    check_text(welcome_text, what="The welcome text")
    check_text(consent_text, what="The consent text")
    check_strings(config or {}, what="The settings")
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


def list_deliberations(engine: Engine) -> list[DeliberationPublic]:
    with session_scope(engine) as session:
        return [_public(session, d) for d in repo_deliberations.list_deliberations(session)]


def get_deliberation(engine: Engine, *, deliberation_id: int) -> DeliberationPublic:
    with session_scope(engine) as session:
        return _public(session, repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id))


def set_status(engine: Engine, *, deliberation_id: int, status: str) -> DeliberationPublic:
    """Open, close or archive a deliberation (closed ones accept no new participants). Opening one whose
    settings ask for seeds (``seeds_required``) is refused until every question has that many."""
    if status not in values_of(DeliberationStatus):
        raise InvalidInput(f"A status is one of {', '.join(DeliberationStatus)} (got {status!r}).")
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        required = DeliberationConfig.stored(deliberation.config).seeds_required
        opening = status == DeliberationStatus.OPEN and deliberation.status != status
        short = missing_seeds(session, deliberation_id=deliberation_id, required=required) if opening else []
        if short:
            which = ", ".join(f"question {q} has {n}" for q, n in short)
            raise InvalidInput(
                f"Deliberation {deliberation_id} needs {required} seed value{'s' if required != 1 else ''} "
                f"on each question before it opens ({which}): add them first (seed add or seed generate)."
            )
        deliberation.status, deliberation.updated_at = status, utcnow()
        session.add(deliberation)
        return _public(session, deliberation)


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash when links may start with it (:func:`settings.base_url_problem`:
    http(s) only, a host, no credentials, query or fragment), else :class:`InvalidInput`.

    >>> check_base_url("https://studio.example.org/")
    'https://studio.example.org'
    >>> check_base_url("javascript:alert(1)//")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The base URL of links must be an http:// or https:// address ...
    """
    problem = base_url_problem(base_url)
    if problem is not None:
        shown = ascii_safe(base_url if len(base_url) <= 80 else base_url[:80] + "...")
        raise InvalidInput(f"The base URL of links {problem} (got {shown!r}).")
    return base_url.rstrip("/")


def open_link(engine: Engine, *, deliberation_id: int, base_url: str) -> str:
    """The deliberation's open join link (anyone with it can take part; ``&pid=`` adds a panel id)."""
    base_url = check_base_url(base_url)
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
    base_url = check_base_url(base_url)
    cohort_name = check_text((cohort or "").strip(), what="The cohort name") or None
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
