"""Facilitator actions: set up deliberations, change their status and invite people.

Editing, duplicating and deleting are in :mod:`services.facilitator.deliberation_edits`; listing and
withdrawing invites in :mod:`services.facilitator.invites`; a question's contexts in
:mod:`services.facilitator.question_contexts`. Every change is a moderation event naming its ``actor``.

A deliberation's texts and settings are checked by one function, :func:`checked` (its settings by
:func:`services.facilitator.settings_json.check_config`), whichever front end they come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import ascii_safe, check_text
from interviews.vocabulary import DeliberationStatus, values_of
from services.facilitator import audit
from services.facilitator.seed_rows import missing_seeds
from services.facilitator.settings_json import check_config
from settings import base_url_problem
from storage import repo_deliberations
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
#: The actor of changes made by the project itself (tests, the demo, imports) rather than a person.
SYSTEM_ACTOR = "system"


def checked(
    *,
    title: str,
    questions: list[str],
    welcome_text: str = "",
    consent_text: str = "",
    config: dict[str, Any] | None = None,
) -> DeliberationCreate:
    """A deliberation's texts and settings checked as new input, the one way for every front end (the
    console's forms, the CLI, the settings JSON): at least one question, every text under its cap with no
    NUL or lone surrogate, every setting in bounds (a choice question needs options, ...). Raises
    :class:`InvalidInput` with one line naming each field to fix."""
    if not questions:
        raise InvalidInput("A deliberation needs at least one question.")
    check_text(title, what="The title")
    for i, question in enumerate(questions, 1):
        check_text(question, what=f"Question {i}")
    check_text(welcome_text, what="The welcome text")
    check_text(consent_text, what="The consent text")
    settings = check_config(config or {})
    try:
        return DeliberationCreate(
            title=title,
            questions=questions,
            welcome_text=welcome_text,
            consent_text=consent_text,
            config=settings,
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


def create_deliberation(
    engine: Engine,
    *,
    title: str,
    questions: list[str],
    welcome_text: str = "",
    consent_text: str = "",
    config: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> DeliberationPublic:
    """Create a draft deliberation with its questions (:func:`checked`); logged ``deliberation_create``."""
    data = checked(
        title=title, questions=questions, welcome_text=welcome_text, consent_text=consent_text, config=config
    )
    with session_scope(engine) as session:
        deliberation = repo_deliberations.create_deliberation(session, data=data)
        assert deliberation.id is not None
        record(
            session,
            deliberation_id=deliberation.id,
            actor=actor,
            action="deliberation_create",
            details={"title": deliberation.title, "questions": len(data.questions)},
        )
        return public(session, deliberation)


def list_deliberations(engine: Engine) -> list[DeliberationPublic]:
    with session_scope(engine) as session:
        every = repo_deliberations.list_deliberations(session)
        counts = repo_deliberations.people_counts(session, deliberation_ids=[d.id for d in every if d.id])
        return [public(session, d, counts=counts) for d in every]


def get_deliberation(engine: Engine, *, deliberation_id: int) -> DeliberationPublic:
    with session_scope(engine) as session:
        return public(session, repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id))


def set_status(
    engine: Engine, *, deliberation_id: int, status: str, actor: str = SYSTEM_ACTOR
) -> DeliberationPublic:
    """Move a deliberation to ``status``: only an ``open`` one takes participants (a draft is being set up;
    closed and archived ones have ended, though people already in finish what they started). Opening one
    whose settings ask for seeds (``seeds_required``) is refused until every question has that many; going
    back to ``draft`` only while nobody has opened a link. Logged ``deliberation_status``; the same status
    again changes nothing."""
    if status not in values_of(DeliberationStatus):
        raise InvalidInput(
            f"A status is one of {', '.join(DeliberationStatus)} (got {ascii_safe(status)!r})."
        )
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        before = deliberation.status
        if before == status:
            return public(session, deliberation)
        if status == DeliberationStatus.OPEN:
            required = DeliberationConfig.stored(deliberation.config).seeds_required
            short = missing_seeds(session, deliberation_id=deliberation_id, required=required)
            if short:
                which = ", ".join(f"question {q} has {n}" for q, n in short)
                raise InvalidInput(
                    f"Deliberation {deliberation_id} needs {required} seed "
                    f"value{'s' if required != 1 else ''} on each question before it opens ({which}): "
                    "add them first (seed add or seed generate)."
                )
        if status == DeliberationStatus.DRAFT:
            visitors, _ = repo_deliberations.people_counts(session, deliberation_ids=[deliberation_id])[
                deliberation_id
            ]
            if visitors:
                raise InvalidInput(
                    f"Deliberation {deliberation_id} cannot go back to draft: {visitors} "
                    f"{'person has' if visitors == 1 else 'people have'} joined it; close it instead."
                )
        deliberation.status, deliberation.updated_at = status, utcnow()
        session.add(deliberation)
        record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="deliberation_status",
            details={"before": before, "after": status},
        )
        return public(session, deliberation)


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
    """The deliberation's open join link (anyone with it can take part while it is open; ``&pid=`` adds a
    panel id)."""
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


def not_open_warning(deliberation_id: int, status: str) -> str:
    """Why invites of a deliberation that is not open need confirming (the console and the CLI say it)."""
    when = "once it opens" if status == DeliberationStatus.DRAFT else "only if it opens again"
    return f"Deliberation {deliberation_id} is {status}: its invite links work {when}."


def create_invites(
    engine: Engine,
    *,
    deliberation_id: int,
    count: int,
    base_url: str,
    cohort: str | None = None,
    actor: str = SYSTEM_ACTOR,
    force: bool = False,
) -> list[InviteLink]:
    """Create ``count`` single-use invite links (optionally in a named cohort); logged ``invites_create``.

    For a deliberation that is not open (its links do not work yet, or no longer) they are made only with
    ``force`` (the console's "Create them anyway", the CLI's ``--force``)."""
    if not 1 <= count <= MAX_INVITES_PER_CALL:
        raise InvalidInput(f"count must be between 1 and {MAX_INVITES_PER_CALL} (got {count}).")
    base_url = check_base_url(base_url)
    cohort_name = check_text((cohort or "").strip(), what="The cohort name") or None
    try:
        named = CohortCreate(deliberation_id=deliberation_id, name=cohort_name) if cohort_name else None
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        if deliberation.status != DeliberationStatus.OPEN and not force:
            raise InvalidInput(
                f"{not_open_warning(deliberation_id, deliberation.status)} Confirm to create them anyway "
                "(--force on the command line)."
            )
        cohort_id = None
        if named is not None:
            cohort_id = repo_deliberations.get_or_create_cohort(session, data=named).id
        invites = repo_deliberations.create_invites(
            session, data=InviteCreate(deliberation_id=deliberation_id, cohort_id=cohort_id), count=count
        )
        record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="invites_create",
            details={"count": count, "cohort": cohort_name, "status": deliberation.status, "forced": force},
        )
        return [
            InviteLink(
                invite=InvitePublic.model_validate(invite, update={"cohort": cohort_name}),
                url=invite_url(base_url, invite.code),
            )
            for invite in invites
        ]


def record(
    session: Any,
    *,
    deliberation_id: int,
    actor: str,
    action: str,
    details: dict[str, Any],
    target_type: str = "deliberation",
    target_id: int | None = None,
    reason: str = "",
) -> int:
    """Write one moderation event of a facilitator's change (:func:`services.facilitator.audit.record`);
    its id."""
    event = audit.record(
        session,
        deliberation_id=deliberation_id,
        actor=actor or SYSTEM_ACTOR,
        action=action,
        target_type=target_type,
        target_id=deliberation_id if target_id is None and target_type == "deliberation" else target_id,
        reason=reason,
        details=details,
    )
    assert event.id is not None
    return event.id


def public(
    session: Any, deliberation: Deliberation, *, counts: dict[int, tuple[int, int]] | None = None
) -> DeliberationPublic:
    """A deliberation as the front ends see it: its questions, visitors and participants (consented)."""
    assert deliberation.id is not None
    questions = [
        QuestionPublic.model_validate(q)
        for q in repo_deliberations.list_questions(session, deliberation_id=deliberation.id)
    ]
    if counts is None or deliberation.id not in counts:
        counts = repo_deliberations.people_counts(session, deliberation_ids=[deliberation.id])
    visitors, consented = counts[deliberation.id]
    return DeliberationPublic.model_validate(
        deliberation,
        update={"questions": questions, "participant_count": consented, "visitors": visitors},
    )
