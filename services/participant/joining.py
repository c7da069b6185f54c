"""Joining a deliberation: invite or open links, consent, demographics, the participant's home.

A participant is identified by the random token in their URL only; everything else lives in the database,
so a reload, another device or a server restart resumes where the person was.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import answers
from interviews.text_rules import text_problem
from interviews.vocabulary import DeliberationStatus, ParticipantStage
from storage import repo_deliberations, repo_participants
from storage.db import Session, session_scope
from storage.schemas import (
    DeliberationConfig,
    DemographicQuestion,
    ParticipantCreate,
    ParticipantPublic,
    QuestionPublic,
)
from storage.tables import Participant, utcnow

#: Only an open deliberation takes new participants (a draft is being set up; closed and archived ones have
#: ended); someone already in it resumes through their link whatever its status.
JOINABLE = (DeliberationStatus.OPEN,)
MAX_TEXT_ANSWER = answers.MAX_TEXT_ANSWER  # the longest text answer to a demographics question
#: The longest panel id (``&pid=``) a link may carry; a longer one is refused, never cut.
MAX_PANEL_ID = 200
INVALID_LINK = "This participant link is not valid. Please use the link you were given."


class ParticipantHome(BaseModel):
    """What the join and question pages show: the person, their deliberation and its questions."""

    participant: ParticipantPublic
    deliberation_id: int
    title: str
    welcome_text: str
    consent_text: str
    status: str
    demographics: list[DemographicQuestion] = Field(default_factory=list)
    questions: list[QuestionPublic] = Field(default_factory=list)


def _closed(status: str) -> InvalidInput:
    if status == DeliberationStatus.DRAFT:
        return InvalidInput(
            "This deliberation has not opened yet. Please come back when the organisers open it."
        )
    return InvalidInput(f"This deliberation is {status} and no longer takes part in new contributions.")


def join(
    engine: Engine, *, invite: str | None = None, code: str | None = None, external_id: str | None = None
) -> ParticipantPublic:
    """Join (or resume) through a per-person ``invite`` code or a deliberation's open join ``code``.

    A per-person invite always leads to the same participant, so the link works again on another device;
    an open link makes a new participant per visit unless ``external_id`` (a panel id such as Prolific's)
    names one already there. Two first visits at once (a double click) make one participant.
    """
    external = (external_id or "").strip() or None
    if external is not None and (text_problem(external) is not None or len(external) > MAX_PANEL_ID):
        raise InvalidInput(f"The panel id in this link is not valid (at most {MAX_PANEL_ID} characters).")
    if (invite and text_problem(invite)) or (code and text_problem(code)):  # never a valid code: say so
        raise InvalidInput("This link is not valid. Please check that you copied all of it.")
    with session_scope(engine) as session:
        if invite:
            found = repo_deliberations.get_invite(session, code=invite.strip(), lock=True)
            if found is None:
                raise InvalidInput("This invite link is not valid. Please check that you copied all of it.")
            if found.revoked_at is not None:
                raise InvalidInput("This invite link was withdrawn by the organisers.")
            deliberation = repo_deliberations.get_deliberation(session, deliberation_id=found.deliberation_id)
            if found.participant_id is not None:
                return _public(
                    repo_participants.get_participant(session, participant_id=found.participant_id)
                )
            if deliberation.status not in JOINABLE:
                raise _closed(deliberation.status)
            participant = repo_participants.get_or_create_participant(
                session,
                data=ParticipantCreate(
                    deliberation_id=found.deliberation_id, external_id=external, cohort_id=found.cohort_id
                ),
            )
            found.participant_id, found.used_at = participant.id, utcnow()
            session.add(found)
            return _public(participant)
        if code:
            by_code = repo_deliberations.get_deliberation_by_join_code(session, code=code.strip())
            if by_code is None:
                raise InvalidInput("This link is not valid. Please check that you copied all of it.")
            assert by_code.id is not None
            if external is not None:
                existing = repo_participants.get_participant_by_external_id(
                    session, deliberation_id=by_code.id, external_id=external
                )
                if existing is not None:
                    return _public(existing)
            if by_code.status not in JOINABLE:
                raise _closed(by_code.status)
            return _public(
                repo_participants.get_or_create_participant(
                    session, data=ParticipantCreate(deliberation_id=by_code.id, external_id=external)
                )
            )
    raise InvalidInput("This link is incomplete. Please use the link you were given.")


def _public(participant: Participant) -> ParticipantPublic:
    return ParticipantPublic.model_validate(participant)


def participant_for_token(session: Session, token: str, *, lock: bool = False) -> Participant:
    """The participant of a URL token (``lock``: see
    :func:`storage.repo_participants.get_participant_by_token`); a missing or unknown token is
    :class:`InvalidInput` with the one message every page shows for it.
    """
    usable = bool(token) and isinstance(token, str) and text_problem(token) is None  # NUL: never a token
    participant = (
        repo_participants.get_participant_by_token(session, token=token, lock=lock) if usable else None
    )
    if participant is None:
        raise InvalidInput(INVALID_LINK)
    return participant


def home(engine: Engine, *, token: str) -> ParticipantHome:
    """The participant with their deliberation's texts, demographics questions and questions."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        repo_participants.touch_participant(session, participant=participant)
        deliberation = repo_deliberations.get_deliberation(
            session, deliberation_id=participant.deliberation_id
        )
        config = DeliberationConfig.stored(deliberation.config)
        return ParticipantHome(
            participant=_public(participant),
            deliberation_id=participant.deliberation_id,
            title=deliberation.title,
            welcome_text=deliberation.welcome_text,
            consent_text=deliberation.consent_text,
            status=deliberation.status,
            demographics=config.demographics,
            questions=[
                QuestionPublic.model_validate(q)
                for q in repo_deliberations.list_questions(
                    session, deliberation_id=participant.deliberation_id
                )
            ],
        )


def consent(engine: Engine, *, token: str, demographics: dict[str, Any]) -> ParticipantPublic:
    """Record consent and the demographics answers (checked against the deliberation's questions).

    Calling it again updates the answers; the consent time stays the first one.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        deliberation = repo_deliberations.get_deliberation(
            session, deliberation_id=participant.deliberation_id
        )
        questions = DeliberationConfig.stored(deliberation.config).demographics
        if participant.consented_at is None and deliberation.status not in JOINABLE:
            raise _closed(deliberation.status)
        participant.demographics = answers.clean_demographics(questions, demographics)
        if participant.consented_at is None:
            participant.consented_at = utcnow()
        if participant.stage == ParticipantStage.JOINED:
            participant.stage = ParticipantStage.CONSENTED.value
        session.add(participant)
        session.flush()
        return _public(participant)
