"""Joining a deliberation: invite or open links, consent, demographics, the participant's home.

A participant is identified by the random token in their URL only; everything else lives in the database,
so a reload, another device or a server restart resumes where the person was.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from errors import InvalidInput
from services.participant.forms import Problem, clean_answers
from storage import repo_deliberations, repo_participants
from storage.db import session_scope
from storage.schemas import DeliberationConfig, DemographicQuestion, ParticipantPublic, QuestionPublic
from storage.tables import Participant, utcnow

JOINABLE = ("draft", "open")
MAX_TEXT_ANSWER = 500
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
    return InvalidInput(f"This deliberation is {status} and no longer takes part in new contributions.")


def join(
    engine: Engine, *, invite: str | None = None, code: str | None = None, external_id: str | None = None
) -> ParticipantPublic:
    """Join (or resume) through a per-person ``invite`` code or a deliberation's open join ``code``.

    A per-person invite always leads to the same participant, so the link works again on another device;
    an open link makes a new participant per visit unless ``external_id`` (a panel id such as Prolific's)
    names one already there. Two first visits at once (a double click) make one participant.
    """
    external = (external_id or "").strip()[:200] or None
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
                deliberation_id=found.deliberation_id,
                external_id=external,
                cohort_id=found.cohort_id,
            )
            found.participant_id, found.used_at = participant.id, utcnow()
            session.add(found)
            return _public(participant)
        if code:
            deliberation = repo_deliberations.get_deliberation_by_join_code(session, code=code.strip())
            if deliberation is None:
                raise InvalidInput("This link is not valid. Please check that you copied all of it.")
            assert deliberation.id is not None
            if external is not None:
                existing = repo_participants.get_participant_by_external_id(
                    session, deliberation_id=deliberation.id, external_id=external
                )
                if existing is not None:
                    return _public(existing)
            if deliberation.status not in JOINABLE:
                raise _closed(deliberation.status)
            return _public(
                repo_participants.get_or_create_participant(
                    session, deliberation_id=deliberation.id, external_id=external
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
    participant = (
        repo_participants.get_participant_by_token(session, token=token, lock=lock) if token else None
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
        config = DeliberationConfig.model_validate(deliberation.config)
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
        questions = DeliberationConfig.model_validate(deliberation.config).demographics
        if participant.consented_at is None and deliberation.status not in JOINABLE:
            raise _closed(deliberation.status)
        participant.demographics = clean_demographics(questions, demographics)
        if participant.consented_at is None:
            participant.consented_at = utcnow()
        if participant.stage == "joined":
            participant.stage = "consented"
        session.add(participant)
        session.flush()
        return _public(participant)


def clean_demographics(questions: list[DemographicQuestion], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers checked against the questions: required ones present, choices among the options,
    numbers numeric, texts short; blank answers to optional questions dropped.

    >>> q = [DemographicQuestion(key="age", label="Age", kind="number", required=True),
    ...      DemographicQuestion(key="party", label="Party", options=["Democrat", "Republican"])]
    >>> clean_demographics(q, {"age": "34", "party": ""})
    {'age': 34}
    >>> clean_demographics(q, {"party": "Whig"})
    Traceback (most recent call last):
    ...
    errors.InvalidInput: Please answer "Age". "Party" must be one of the listed options.
    """
    cleaned = clean_answers(questions, answers, _check_demographic)
    return {key: value for key, value in cleaned.items() if value is not None}


def _check_demographic(question: DemographicQuestion, value: Any) -> Any:
    if question.kind == "choice":
        if value not in question.options:
            raise Problem("must be one of the listed options")
        return value
    if question.kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise Problem("must be a number")
        return int(number) if number.is_integer() else number
    if len(str(value)) > MAX_TEXT_ANSWER:
        raise Problem(f"takes at most {MAX_TEXT_ANSWER} characters")
    return value
