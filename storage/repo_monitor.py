"""Read-only queries of the facilitator's monitor: each visitor's times through a deliberation, its model
calls grouped, and its survey answers (the arithmetic over them is :mod:`interviews.funnel`).

Keyword-only, session first; a few grouped queries per refresh, whatever the number of visitors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from interviews.vocabulary import MessageRole, ParticipantStage
from storage.schemas import RECEIPT_KEYS
from storage.tables import (
    Impression,
    Interview,
    Judgement,
    LLMCall,
    Message,
    Participant,
    SurveyResponse,
    ValuesCard,
    Vote,
)


class JourneyRow(NamedTuple):
    """One visitor's stored times (the fields of :class:`interviews.funnel.Journey`)."""

    participant_id: int
    visited_at: datetime
    consented_at: datetime | None
    skipped: tuple[str, ...]
    interview_started_at: datetime | None
    first_message_at: datetime | None
    card_submitted_at: datetime | None
    first_shown_at: datetime | None
    votes: int
    last_vote_at: datetime | None
    judgements: int
    last_judged_at: datetime | None
    surveyed: bool
    last_survey_at: datetime | None


class CallGroupRow(NamedTuple):
    purpose: str
    model: str
    participant_id: int | None
    calls: int
    errors: int
    tokens_in: int
    tokens_out: int


def _people(deliberation_id: int) -> Any:
    return select(Participant.id).where(Participant.deliberation_id == deliberation_id)


def _by_participant(session: Session, statement: Any) -> dict[int, Any]:
    """``{participant_id: rest of the row}`` of a statement whose first column is the participant's id."""
    return {row[0]: row[1:] if len(row) > 2 else row[1] for row in session.exec(statement).all()}


def journeys(session: Session, *, deliberation_id: int) -> list[JourneyRow]:
    """Every visitor of the deliberation (consented or not) with the times of their steps, oldest first."""
    people = _people(deliberation_id)
    pid = col(Participant.id)
    visitors = session.exec(
        select(Participant).where(Participant.deliberation_id == deliberation_id).order_by(pid)
    ).all()
    interviews = _by_participant(
        session,
        select(Interview.participant_id, func.min(Interview.created_at))
        .where(col(Interview.participant_id).in_(people))
        .group_by(col(Interview.participant_id)),
    )
    messages = _by_participant(
        session,
        select(Interview.participant_id, func.min(Message.created_at))
        .join(Interview, col(Interview.id) == col(Message.interview_id))
        .where(col(Interview.participant_id).in_(people), Message.role == MessageRole.USER.value)
        .group_by(col(Interview.participant_id)),
    )
    cards = _by_participant(
        session,
        select(ValuesCard.participant_id, func.min(ValuesCard.submitted_at))
        .where(col(ValuesCard.participant_id).in_(people), col(ValuesCard.submitted_at).is_not(None))
        .group_by(col(ValuesCard.participant_id)),
    )
    shown = _by_participant(
        session,
        select(Impression.participant_id, func.min(Impression.created_at))
        .where(col(Impression.participant_id).in_(people))
        .group_by(col(Impression.participant_id)),
    )
    votes = _by_participant(
        session,
        select(Vote.participant_id, func.count(), func.max(Vote.created_at))
        .where(col(Vote.participant_id).in_(people))
        .group_by(col(Vote.participant_id)),
    )
    judged = _by_participant(
        session,
        select(Judgement.participant_id, func.count(), func.max(Judgement.created_at))
        .where(col(Judgement.participant_id).in_(people))
        .group_by(col(Judgement.participant_id)),
    )
    surveys = _by_participant(
        session,
        select(SurveyResponse.participant_id, func.max(SurveyResponse.created_at))
        .where(
            col(SurveyResponse.participant_id).in_(people),
            col(SurveyResponse.question_key).not_in(RECEIPT_KEYS),
        )
        .group_by(col(SurveyResponse.participant_id)),
    )
    rows = []
    for p in visitors:
        assert p.id is not None
        vote_count, last_vote = votes.get(p.id, (0, None))
        judgement_count, last_judged = judged.get(p.id, (0, None))
        rows.append(
            JourneyRow(
                participant_id=p.id,
                visited_at=p.created_at,
                consented_at=p.consented_at,
                skipped=tuple(p.skipped_steps or ()),
                interview_started_at=interviews.get(p.id),
                first_message_at=messages.get(p.id),
                card_submitted_at=cards.get(p.id),
                first_shown_at=shown.get(p.id),
                votes=int(vote_count),
                last_vote_at=last_vote,
                judgements=int(judgement_count),
                last_judged_at=last_judged,
                surveyed=p.id in surveys or p.stage == ParticipantStage.DONE.value,
                last_survey_at=surveys.get(p.id),
            )
        )
    return rows


def call_groups(session: Session, *, deliberation_id: int) -> list[CallGroupRow]:
    """The deliberation's model calls (its own, and any recorded for one of its visitors) summed by
    purpose, model and participant."""
    # sqlmodel's select() is typed for up to four columns; the Select it builds for several takes any number.
    statement: Select[str, str, int | None, int, int, int, int] = Select(
        col(LLMCall.purpose),
        col(LLMCall.model),
        col(LLMCall.participant_id),
        func.count(),
        func.count(col(LLMCall.error)),
        func.coalesce(func.sum(LLMCall.tokens_in), 0),
        func.coalesce(func.sum(LLMCall.tokens_out), 0),
    )
    statement = statement.where(
        or_(
            col(LLMCall.deliberation_id) == deliberation_id,
            col(LLMCall.participant_id).in_(_people(deliberation_id)),
        )
    ).group_by(col(LLMCall.purpose), col(LLMCall.model), col(LLMCall.participant_id))
    return [
        CallGroupRow(purpose, model, participant, int(calls), int(errors), int(t_in), int(t_out))
        for purpose, model, participant, calls, errors, t_in, t_out in session.exec(statement).all()
    ]


def survey_answers(session: Session, *, deliberation_id: int) -> Sequence[tuple[str, Any]]:
    """Every stored survey and receipt answer of the deliberation's visitors, as (key, answer)."""
    statement = (
        select(SurveyResponse.question_key, SurveyResponse.answer)
        .where(col(SurveyResponse.participant_id).in_(_people(deliberation_id)))
        .order_by(col(SurveyResponse.id))
    )
    return [(key, answer) for key, answer in session.exec(statement).all()]
