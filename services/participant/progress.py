"""What the participant's steps after the interview share (voting, judging, the survey and receipt).

Every service of those steps takes the participant's URL token (an unknown one is :class:`InvalidInput`,
see :func:`services.participant.joining.participant_for_token`). Writes lock the participant's row
(PostgreSQL; SQLite serialises writers anyway), so a double click or a second tab is answered from what
the first request stored instead of doubling it. The stage only moves forward (:func:`advance_stage`):
going back a page and submitting again never resets it.
"""

from __future__ import annotations

from interviews.vocabulary import ParticipantStage
from storage import repo_deliberations, repo_participants
from storage.db import Session
from storage.schemas import DeliberationConfig
from storage.tables import Participant

_ORDER: dict[str, int] = {stage: i for i, stage in enumerate(ParticipantStage)}  # the order they pass


def deliberation_config(session: Session, participant: Participant) -> DeliberationConfig:
    """The configuration of the participant's deliberation (draw sizes, stories to judge, survey)."""
    deliberation = repo_deliberations.get_deliberation(session, deliberation_id=participant.deliberation_id)
    return DeliberationConfig.stored(deliberation.config)


def advance_stage(session: Session, participant: Participant, stage: ParticipantStage) -> None:
    """Move the participant forward to ``stage`` (never back) and note that they were here."""
    if _ORDER[participant.stage] < _ORDER[stage]:
        participant.stage = stage.value
    repo_participants.touch_participant(session, participant=participant)


def mark_skipped(session: Session, participant: Participant, step: str) -> None:
    """Note that the participant passed ``step`` (``vote`` or ``judge``) with nothing to do there: the
    progress bar shows it as skipped."""
    if step not in participant.skipped_steps:
        participant.skipped_steps = [*participant.skipped_steps, step]  # a new list: the JSON change is seen
        session.add(participant)
