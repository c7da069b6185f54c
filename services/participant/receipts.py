"""The end of the participant's path: the exit survey, the receipt of where their value landed, and the
progress indicator across all the steps (DOMAIN.md §3 steps 7-8). Token, locking and stage rules: see
:mod:`services.participant.progress`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine

from errors import InvalidInput
from interviews.answers import clean_survey
from interviews.vocabulary import ParticipantStage
from services.participant.joining import participant_for_token
from services.participant.progress import advance_stage, deliberation_config
from storage import (
    repo_deliberations,
    repo_interviews,
    repo_judgements,
    repo_participants,
    repo_snapshots,
    repo_values,
)
from storage.db import session_scope
from storage.schemas import (
    RECEIPT_KEYS,
    CardPublic,
    ProgressPublic,
    ProgressStepPublic,
    ReceiptCardPublic,
    ReceiptPublic,
    RelatedValuePublic,
    StoryValuePublic,
    SurveyItemPublic,
    SurveyResponseCreate,
)

STEPS = (
    ("join", "Welcome"),
    ("interview", "Your value"),
    ("vote", "Others' values"),
    ("judge", "Wisdom stories"),
    ("survey", "Survey"),
    ("done", "Done"),
)
_STEP_OF_STAGE: dict[str, int] = {  # each participant stage's place in STEPS
    ParticipantStage.JOINED: 0,
    ParticipantStage.CONSENTED: 0,
    ParticipantStage.INTERVIEW: 1,
    ParticipantStage.VOTE: 2,
    ParticipantStage.JUDGE: 3,
    ParticipantStage.SURVEY: 4,
    ParticipantStage.DONE: 5,
}


# --- survey ------------------------------------------------------------------------------------------


def survey(engine: Engine, *, token: str) -> list[SurveyItemPublic]:
    """The deliberation's exit survey with the participant's current answers."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        stored = repo_participants.survey_answers(session, participant_id=participant.id)
        return [
            SurveyItemPublic(
                key=q.key, label=q.label, kind=q.kind, required=q.required, answer=stored.get(q.key)
            )
            for q in deliberation_config(session, participant).survey
        ]


def submit_survey(engine: Engine, *, token: str, answers: dict[str, Any]) -> None:
    """Check and store the whole survey form (a blank optional answer removes an earlier one); stage
    ``done``. Submitting again updates the answers.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        cleaned = clean_survey(deliberation_config(session, participant).survey, answers)
        for key, value in cleaned.items():
            repo_participants.set_survey_answer(
                session,
                data=SurveyResponseCreate(participant_id=participant.id, question_key=key, answer=value),
            )
        advance_stage(session, participant, ParticipantStage.DONE)


# --- receipt -----------------------------------------------------------------------------------------


def _related(document: dict[str, Any], value_id: int) -> tuple[list[RelatedValuePublic], ...]:
    """The values the graph document judged wiser and less wise than ``value_id``, best supported first."""
    values = {v.get("id"): v for v in document.get("values", [])}

    def related(other: Any, edge: dict[str, Any]) -> RelatedValuePublic:
        v = values.get(other, {})
        likelihood = (edge.get("summary") or {}).get("wiserLikelihood")
        return RelatedValuePublic(
            id=int(other),
            title=str(v.get("title", f"Value {other}")),
            description=str(v.get("instructionsShort", "")),
            policies=[str(p) for p in v.get("evaluationCriteria", [])],
            wiser_likelihood=float(likelihood) if isinstance(likelihood, int | float) else None,
            contexts=[str(c) for c in edge.get("contexts", [])],
        )

    wiser = [
        related(e["wiserValueId"], e) for e in document.get("edges", []) if e.get("sourceValueId") == value_id
    ]
    less = [
        related(e["sourceValueId"], e) for e in document.get("edges", []) if e.get("wiserValueId") == value_id
    ]

    def order(r: RelatedValuePublic) -> tuple[float, int]:
        return (-(r.wiser_likelihood if r.wiser_likelihood is not None else -2.0), r.id)

    return sorted(wiser, key=order), sorted(less, key=order)


def _rank(document: dict[str, Any], value_id: int) -> tuple[int | None, int | None]:
    scores = ((document.get("rankings") or {}).get("overall") or {}).get("scores") or {}
    if not scores:
        return None, None
    ordered = sorted(scores, key=lambda k: (-float(scores[k]), k))
    position = ordered.index(str(value_id)) + 1 if str(value_id) in scores else None
    return position, len(ordered)


def receipt(engine: Engine, *, token: str) -> ReceiptPublic:
    """What the participant contributed and where their value landed (see :class:`ReceiptPublic`)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        d = participant.deliberation_id
        cards = repo_interviews.participant_cards(session, participant_id=participant.id)
        ids = [c.canonical_value_id for c in cards if c.canonical_value_id is not None]
        values = repo_values.canonical_values_by_id(session, deliberation_id=d, ids=ids)
        judges = repo_judgements.judges_of_values(session, deliberation_id=d, value_ids=ids)
        questions = {q.id: q.text for q in repo_deliberations.list_questions(session, deliberation_id=d)}
        snapshot = repo_snapshots.latest_graph_snapshot(session, deliberation_id=d)
        messages, votes, judgements = repo_participants.contribution_counts(
            session, participant_id=participant.id
        )
        stored = repo_participants.survey_answers(session, participant_id=participant.id)
        entries = []
        for card in cards:
            value = values.get(card.canonical_value_id) if card.canonical_value_id is not None else None
            entry = ReceiptCardPublic(
                card=CardPublic.of(card),
                question=questions.get(card.question_id, "") if card.question_id is not None else "",
                value=StoryValuePublic.of(value) if value is not None else None,
                judged_by=judges.get(value.id, 0) if value is not None and value.id is not None else 0,
            )
            if value is not None and value.id is not None and snapshot is not None:
                entry.wiser, entry.less_wise = _related(snapshot.result, value.id)
                entry.rank, entry.ranked = _rank(snapshot.result, value.id)
            entries.append(entry)
        return ReceiptPublic(
            cards=entries,
            messages=messages,
            votes=votes,
            judgements=judgements,
            graph_exists=snapshot is not None,
            graph_built_at=snapshot.created_at if snapshot is not None else None,
            answers={k: stored.get(k) if isinstance(stored.get(k), bool) else None for k in RECEIPT_KEYS},
        )


def answer_receipt(engine: Engine, *, token: str, key: str, answer: bool) -> None:
    """Store the answer to a receipt question: ``represents_my_value`` (does the deduplicated value
    represent yours? once the card has one) or ``fair_position`` (did your value end up in a fair
    position? once a graph exists). Answering again changes it.
    """
    if key not in RECEIPT_KEYS:
        raise InvalidInput(f"Unknown question {key!r}.")
    if not isinstance(answer, bool):
        raise InvalidInput("Please answer yes or no.")
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        if (
            key == "fair_position"
            and repo_snapshots.latest_graph_snapshot(session, deliberation_id=participant.deliberation_id)
            is None
        ):
            raise InvalidInput("This question opens once the moral graph is built.")
        if key == "represents_my_value" and not repo_interviews.own_value_ids(
            session, participant_id=participant.id
        ):
            raise InvalidInput("Your value has not been grouped with other people's yet.")
        repo_participants.set_survey_answer(
            session, data=SurveyResponseCreate(participant_id=participant.id, question_key=key, answer=answer)
        )
        repo_participants.touch_participant(session, participant=participant)


# --- progress ----------------------------------------------------------------------------------------


def progress_of(stage: str, skipped: Collection[str] = ()) -> ProgressPublic:
    """The progress indicator for a stage; ``skipped`` names the steps passed with nothing to do
    (:attr:`Participant.skipped_steps`: ``vote``, ``judge``).

    >>> [(s.name, s.done, s.current) for s in progress_of("vote").steps][1:4]
    [('interview', True, False), ('vote', False, True), ('judge', False, False)]
    >>> [(s.name, s.skipped) for s in progress_of("survey", skipped=["vote"]).steps][2:4]
    [('vote', True), ('judge', False)]
    """
    current = _STEP_OF_STAGE.get(stage, 0)
    return ProgressPublic(
        stage=stage,
        steps=[
            ProgressStepPublic(
                name=name,
                label=label,
                done=i < current or stage == ParticipantStage.DONE,
                current=i == current,
                skipped=name in skipped and i < current,
            )
            for i, (name, label) in enumerate(STEPS)
        ],
    )


def progress(engine: Engine, *, token: str) -> ProgressPublic:
    """Where the participant is across join → interview → vote → judge → survey → done."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        return progress_of(participant.stage, participant.skipped_steps)
