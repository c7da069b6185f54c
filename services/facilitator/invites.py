"""Facilitator actions on a deliberation's invites and the people who came: list the per-person links with
what became of each, as a table or CSV, withdraw unused ones, count each cohort, and list who started and
who finished (panel ids included). Making invites is
:func:`services.facilitator.deliberations.create_invites`.

An invite's status: ``unused`` (nobody opened it), ``opened`` (its person opened it but has not consented:
not a participant yet), ``started`` (its person consented), ``finished`` (its person reached the end: the
survey), ``revoked`` (withdrawn before anyone used it: the link says so). The CSV is
:mod:`exports.invites_csv`.
Imports no model library (``tests/test_cli_imports.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine

from errors import InvalidInput
from exports import invites_csv as csv_export
from interviews.text_rules import ascii_safe, check_text
from interviews.vocabulary import ParticipantStage
from services.facilitator.deliberations import check_base_url, invite_url, record
from storage import repo_deliberations
from storage.db import session_scope
from storage.tables import Participant

InviteStatus = Literal["unused", "opened", "started", "finished", "revoked"]
#: The columns of the invite CSV, in order.
CSV_COLUMNS = csv_export.COLUMNS


class InviteRow(BaseModel):
    """One per-person invite and what became of it."""

    id: int
    code: str
    link: str
    cohort: str | None = None
    status: InviteStatus
    created_at: datetime
    opened: datetime | None = None  # its person first opened the link
    started: datetime | None = None  # its person consented (a participant from then on)
    finished: datetime | None = None
    revoked: datetime | None = None
    participant_id: int | None = None
    external_id: str | None = None


class CohortCount(BaseModel):
    """A cohort (``None``: invites and people in no cohort) with its counts."""

    name: str | None
    invites: int = 0
    unused: int = 0
    revoked: int = 0
    #: People in the cohort who opened a link, who consented (started: participants), who finished.
    visited: int = 0
    started: int = 0
    finished: int = 0


class PersonRow(BaseModel):
    """Someone who opened a link: who (panel id), how (invite or open link), how far they got."""

    participant_id: int
    external_id: str | None = None
    cohort: str | None = None
    via: Literal["invite", "open link"]
    stage: str
    visited: datetime
    consented: datetime | None = None
    finished: datetime | None = None
    last_seen: datetime


def _finished(person: Participant | None, survey_at: datetime | None) -> datetime | None:
    """When ``person`` finished (their last survey answer; else last seen), None while they have not."""
    if person is None or person.stage != ParticipantStage.DONE:
        return None
    return survey_at or person.last_seen_at


def list_invites(engine: Engine, *, deliberation_id: int, base_url: str) -> list[InviteRow]:
    """Every per-person invite of the deliberation, oldest first, with its link and status."""
    base_url = check_base_url(base_url)
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        rows = []
        for invite, cohort, person, survey_at in repo_deliberations.invite_rows(
            session, deliberation_id=deliberation_id
        ):
            finished = _finished(person, survey_at)
            consented = person.consented_at if person is not None else None
            status: InviteStatus = (
                "finished"
                if finished is not None
                else "started"
                if consented is not None
                else "opened"
                if invite.participant_id is not None
                else "revoked"
                if invite.revoked_at is not None
                else "unused"
            )
            assert invite.id is not None
            rows.append(
                InviteRow(
                    id=invite.id,
                    code=invite.code,
                    link=invite_url(base_url, invite.code),
                    cohort=cohort,
                    status=status,
                    created_at=invite.created_at,
                    opened=invite.used_at,
                    started=consented,
                    finished=finished,
                    revoked=invite.revoked_at,
                    participant_id=invite.participant_id,
                    external_id=person.external_id if person is not None else None,
                )
            )
        return rows


def invites_csv(rows: Iterable[InviteRow]) -> str:
    """The invites as CSV (:mod:`exports.invites_csv`: link, code, cohort, status, opened, started,
    finished; formula-looking cells defused)."""
    return csv_export.invites_csv(
        csv_export.InviteLine(
            link=r.link,
            code=r.code,
            cohort=r.cohort,
            status=r.status,
            opened=r.opened,
            started=r.started,
            finished=r.finished,
        )
        for r in rows
    )


def cohort_counts(engine: Engine, *, deliberation_id: int) -> list[CohortCount]:
    """Each cohort (and, as ``None``, the invites and people in none) with its invites (unused, revoked)
    and its people: who opened a link, who consented (started) and who finished; named cohorts first."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        counts: dict[str | None, CohortCount] = {
            c.name: CohortCount(name=c.name)
            for c in repo_deliberations.list_cohorts(session, deliberation_id=deliberation_id)
        }
        for invite, cohort, _, _ in repo_deliberations.invite_rows(session, deliberation_id=deliberation_id):
            row = counts.setdefault(cohort, CohortCount(name=cohort))
            row.invites += 1
            row.unused += invite.participant_id is None and invite.revoked_at is None
            row.revoked += invite.participant_id is None and invite.revoked_at is not None
        for person, cohort, _, survey_at in repo_deliberations.participant_rows(
            session, deliberation_id=deliberation_id
        ):
            row = counts.setdefault(cohort, CohortCount(name=cohort))
            row.visited += 1
            row.started += person.consented_at is not None
            row.finished += _finished(person, survey_at) is not None
        return sorted(counts.values(), key=lambda c: (c.name is None, c.name or ""))


def list_people(engine: Engine, *, deliberation_id: int) -> list[PersonRow]:
    """Everyone who opened a link of the deliberation, oldest first: panel id, cohort, invite or open link,
    stage, and when they came, consented (started) and finished."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        people = []
        for person, cohort, by_invite, survey_at in repo_deliberations.participant_rows(
            session, deliberation_id=deliberation_id
        ):
            assert person.id is not None
            people.append(
                PersonRow(
                    participant_id=person.id,
                    external_id=person.external_id,
                    cohort=cohort,
                    via="invite" if by_invite else "open link",
                    stage=person.stage,
                    visited=person.created_at,
                    consented=person.consented_at,
                    finished=_finished(person, survey_at),
                    last_seen=person.last_seen_at,
                )
            )
        return people


def revoke_invites(
    engine: Engine,
    *,
    deliberation_id: int,
    actor: str,
    code: str | None = None,
    cohort: str | None = None,
    all_unused: bool = False,
) -> int:
    """Withdraw unused invites: the one of ``code``, those of ``cohort``, or (``all_unused``) every one;
    exactly one of the three. A withdrawn link says so when opened; a link someone already used stays theirs
    (a code already used is refused, saying so). Logged ``invites_revoke``; returns how many."""
    if sum((code is not None, cohort is not None, all_unused)) != 1:
        raise InvalidInput(
            "Withdraw one invite (its code), a cohort's unused invites, or all unused invites."
        )
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        cohort_id = None
        if cohort is not None:
            name = check_text(cohort.strip(), what="The cohort name")
            found = repo_deliberations.get_cohort(session, deliberation_id=deliberation_id, name=name)
            if found is None:
                raise InvalidInput(f"Deliberation {deliberation_id} has no cohort {ascii_safe(name)!r}.")
            cohort_id = found.id
        if code is not None:
            code = check_text(code.strip(), what="The invite code")
            invite = repo_deliberations.get_invite(session, code=code)
            if invite is None or invite.deliberation_id != deliberation_id:
                raise InvalidInput(f"Deliberation {deliberation_id} has no invite with that code.")
            if invite.participant_id is not None:
                raise InvalidInput(
                    f"That invite was already used (participant {invite.participant_id}): it stays theirs."
                )
            if invite.revoked_at is not None:
                return 0
        unused = repo_deliberations.unused_invites(
            session, deliberation_id=deliberation_id, code=code, cohort_id=cohort_id
        )
        n = repo_deliberations.revoke_invites(session, invites=unused)
        if n:
            record(
                session,
                deliberation_id=deliberation_id,
                actor=actor,
                action="invites_revoke",
                target_type="invite",
                target_id=unused[0].id if code is not None else None,
                details={"count": n, "code": code, "cohort": cohort, "all_unused": all_unused},
            )
        return n
