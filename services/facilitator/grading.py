"""Grade any interview's transcript against DOMAIN.md §4's rubric (A-F per criterion, plus overall).

The grades are returned, not stored: no table has a place for them without a schema change (the
``Interview`` row has no grades column, ``ModerationEvent`` records facilitators' actions, not a model's
opinion). Each grading call is still recorded as an ``LLMCall`` (``purpose="grader"``, with the
interview's id). To watch quality over time, store them in a table of their own (a migration).
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.cards import CardDraft
from interviews.flow import Turn
from interviews.grading import PURPOSE, TranscriptGrades, grade_transcript
from interviews.prompting import load_prompt
from interviews.vocabulary import MessageRole, MessageStatus
from services.runtime.model_clients import model_id
from storage import repo_deliberations, repo_interviews, repo_jobs
from storage.db import session_scope


@dataclass(frozen=True)
class InterviewGrades:
    interview_id: int
    question: str
    messages: int
    had_card: bool
    grades: TranscriptGrades
    prompt_ref: str
    model: str


def require_interview(engine: Engine, *, interview_id: int) -> None:
    """Raise ``NotFound`` unless the interview exists (a front end checks before starting a model)."""
    with session_scope(engine) as session:
        repo_interviews.get_interview(session, interview_id=interview_id)


def grade_interview(
    engine: Engine, model: BaseChatModel, *, interview_id: int, job_run: str | None = None
) -> InterviewGrades:
    """Read the interview's conversation (and its latest card) and grade it.

    Only complete messages are graded, as the interviewer saw them (as the participant's ``transcript``):
    notes, a reply still being written (``streaming``) and one cut off mid-stream are left out.
    Raises :class:`InvalidInput` when the interview has no conversation yet. ``job_run`` goes with the
    call's accounting metadata (the job run that counts it, e.g. ``job-12``).
    """
    with session_scope(engine) as session:
        interview = repo_interviews.get_interview(session, interview_id=interview_id)
        question = repo_deliberations.get_question(session, question_id=interview.question_id)
        turns = [
            Turn("user" if m.role == MessageRole.USER else "assistant", m.content)
            for m in repo_interviews.list_messages(session, interview_id=interview_id)
            if m.role in (MessageRole.USER, MessageRole.ASSISTANT) and m.status == MessageStatus.COMPLETE
        ]
        card = repo_interviews.latest_card(session, interview_id=interview_id)
        draft = CardDraft.of(card) if card is not None else None
        metadata = {
            "interview_id": interview_id,
            "participant_id": interview.participant_id,
            "deliberation_id": question.deliberation_id,
            **({"job_run": job_run} if job_run else {}),
        }
    if not any(t.role == "user" for t in turns):
        raise InvalidInput(
            f"Interview {interview_id} has no answers from the participant yet; nothing to grade."
        )
    grades = grade_transcript(model, question=question.text, transcript=turns, card=draft, metadata=metadata)
    return InterviewGrades(
        interview_id=interview_id,
        question=question.text,
        messages=len(turns),
        had_card=draft is not None,
        grades=grades,
        prompt_ref=load_prompt("transcript_grader").ref,
        model=model_id(model),
    )


def ungraded_interviews(engine: Engine, *, deliberation_id: int) -> list[int]:
    """The deliberation's submitted interviews never graded yet (no successful grading call recorded for
    them), oldest first: what "grade every ungraded interview" (a console job) works through."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return repo_jobs.ungraded_interviews(session, deliberation_id=deliberation_id, purpose=PURPOSE)
