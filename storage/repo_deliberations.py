"""Repository functions for deliberations and what belongs to them: questions, contexts, cohorts, invites
and the open join code; and deleting a deliberation with every row of it, children first.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from interviews.vocabulary import JobStatus
from storage.errors import NotFound
from storage.schemas import (
    CohortCreate,
    ContextCreate,
    DeliberationCreate,
    InviteCreate,
    QuestionContextCreate,
    QuestionCreate,
)
from storage.tables import (
    CanonicalValue,
    Cohort,
    Context,
    Deliberation,
    EdgeHypothesis,
    GraphSnapshot,
    Impression,
    Interview,
    Invite,
    JobRun,
    Judgement,
    LLMCall,
    Message,
    ModerationEvent,
    Participant,
    Question,
    QuestionContext,
    SurveyResponse,
    ValuesCard,
    Vote,
    new_token,
    utcnow,
)


def create_deliberation(session: Session, *, data: DeliberationCreate) -> Deliberation:
    """Insert a deliberation and its questions (in the given order)."""
    deliberation = Deliberation.model_validate(data.model_dump(exclude={"questions"}))
    session.add(deliberation)
    session.flush()
    assert deliberation.id is not None
    for position, text in enumerate(data.questions):
        session.add(Question(deliberation_id=deliberation.id, position=position, text=text))
    session.flush()
    return deliberation


def get_deliberation(session: Session, *, deliberation_id: int) -> Deliberation:
    deliberation = session.get(Deliberation, deliberation_id)
    if deliberation is None:
        raise NotFound(f"There is no deliberation with id {deliberation_id}.")
    return deliberation


def list_deliberations(session: Session) -> Sequence[Deliberation]:
    return session.exec(select(Deliberation).order_by(col(Deliberation.id).desc())).all()


def list_questions(session: Session, *, deliberation_id: int) -> Sequence[Question]:
    statement = (
        select(Question).where(Question.deliberation_id == deliberation_id).order_by(col(Question.position))
    )
    return session.exec(statement).all()


def count_deliberations(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Deliberation)).one())


def get_or_create_cohort(session: Session, *, data: CohortCreate) -> Cohort:
    """The deliberation's cohort of this name, created when there is none."""
    statement = select(Cohort).where(Cohort.deliberation_id == data.deliberation_id, Cohort.name == data.name)
    cohort = session.exec(statement).first()
    if cohort is None:
        cohort = Cohort.model_validate(data)
        session.add(cohort)
        session.flush()
    return cohort


def create_invites(session: Session, *, data: InviteCreate, count: int) -> list[Invite]:
    """Create ``count`` single-use invites like ``data``, each with its own random code."""
    get_deliberation(session, deliberation_id=data.deliberation_id)
    invites = [Invite.model_validate(data) for _ in range(count)]
    session.add_all(invites)
    session.flush()
    return invites


def get_invite(session: Session, *, code: str, lock: bool = False) -> Invite | None:
    """The invite with this code; ``lock`` serialises two first uses of it (two tabs, a double click)."""
    statement = select(Invite).where(Invite.code == code)
    return session.exec(statement.with_for_update() if lock else statement).first()


def get_deliberation_by_join_code(session: Session, *, code: str) -> Deliberation | None:
    return session.exec(select(Deliberation).where(Deliberation.open_join_code == code)).first()


def set_open_join_code(session: Session, *, deliberation: Deliberation) -> str:
    """The deliberation's open join code, created on first use."""
    if deliberation.open_join_code is None:
        deliberation.open_join_code = new_token()
        deliberation.updated_at = utcnow()
        session.add(deliberation)
        session.flush()
    return deliberation.open_join_code


def list_contexts(session: Session, *, deliberation_id: int) -> Sequence[Context]:
    statement = select(Context).where(Context.deliberation_id == deliberation_id).order_by(col(Context.id))
    return session.exec(statement).all()


def get_question(session: Session, *, question_id: int) -> Question:
    question = session.get(Question, question_id)
    if question is None:
        raise NotFound(f"There is no question {question_id}.")
    return question


def context_ids_of_questions(session: Session, *, question_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(question_ids))
    if not wanted:
        return set()
    statement = select(QuestionContext.context_id).where(col(QuestionContext.question_id).in_(wanted))
    return set(session.exec(statement).all())


def question_context_ids(session: Session, *, question_id: int) -> set[int]:
    statement = select(QuestionContext.context_id).where(QuestionContext.question_id == question_id)
    return set(session.exec(statement).all())


def add_context(session: Session, *, data: ContextCreate) -> tuple[Context, bool]:
    """Insert a context, or return the one with exactly this text; ``(context, created)``."""
    found = _context_by_text(session, deliberation_id=data.deliberation_id, text=data.text)
    if found is not None:
        return found, False
    context = Context.model_validate(data)
    try:
        with session.begin_nested():
            session.add(context)
            session.flush()
    except IntegrityError:  # another writer added the same text meanwhile
        found = _context_by_text(session, deliberation_id=data.deliberation_id, text=data.text)
        if found is None:
            raise
        return found, False
    return context, True


def _context_by_text(session: Session, *, deliberation_id: int, text: str) -> Context | None:
    statement = select(Context).where(Context.deliberation_id == deliberation_id, Context.text == text)
    return session.exec(statement).first()


def link_context(session: Session, *, data: QuestionContextCreate) -> bool:
    """Link a context to a question; False when the link already existed."""
    if session.get(QuestionContext, (data.question_id, data.context_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(QuestionContext.model_validate(data))
            session.flush()
    except IntegrityError:
        return False
    return True


def contexts_by_id(session: Session, *, deliberation_id: int, ids: Iterable[int]) -> dict[int, Context]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(Context).where(Context.deliberation_id == deliberation_id, col(Context.id).in_(wanted))
    return {c.id: c for c in session.exec(statement).all() if c.id is not None}


# --- editing a deliberation ------------------------------------------------------------------------------


def add_question(session: Session, *, data: QuestionCreate) -> Question:
    """Insert a question (at ``data.position``; the caller keeps the positions in order)."""
    question = Question.model_validate(data)
    session.add(question)
    session.flush()
    return question


def question_use(session: Session, *, question_id: int) -> dict[str, int]:
    """What hangs on a question: interviews, cards (a seed's own card too), impressions and votes."""
    counts = {
        "interviews": select(func.count()).select_from(Interview).where(Interview.question_id == question_id),
        "cards": select(func.count()).select_from(ValuesCard).where(ValuesCard.question_id == question_id),
        "impressions": select(func.count())
        .select_from(Impression)
        .where(Impression.question_id == question_id),
        "votes": select(func.count()).select_from(Vote).where(Vote.question_id == question_id),
    }
    return {name: int(session.exec(statement).one()) for name, statement in counts.items()}


def delete_question(session: Session, *, question: Question) -> None:
    """Delete a question and its context links (its contexts stay, they belong to the deliberation)."""
    session.exec(delete(QuestionContext).where(col(QuestionContext.question_id) == question.id))
    session.delete(question)
    session.flush()


def unlink_context(session: Session, *, question_id: int, context_id: int) -> bool:
    """Remove a context's link to a question (the context stays); False when there was none."""
    link = session.get(QuestionContext, (question_id, context_id))
    if link is None:
        return False
    session.delete(link)
    session.flush()
    return True


def context_links(session: Session, *, deliberation_id: int) -> list[tuple[int, int]]:
    """Every ``(question_id, context_id)`` link of the deliberation's questions."""
    statement = (
        select(QuestionContext.question_id, QuestionContext.context_id)
        .join(Question, col(Question.id) == col(QuestionContext.question_id))
        .where(Question.deliberation_id == deliberation_id)
        .order_by(col(QuestionContext.question_id), col(QuestionContext.context_id))
    )
    return [(int(q), int(c)) for q, c in session.exec(statement).all()]


def people_counts(session: Session, *, deliberation_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """``{deliberation_id: (visitors, consented)}``: everyone who opened a link, and those who consented."""
    wanted = sorted(set(deliberation_ids))
    if not wanted:
        return {}
    statement = (
        select(
            Participant.deliberation_id,
            func.count(),
            func.count(col(Participant.consented_at)),
        )
        .where(col(Participant.deliberation_id).in_(wanted))
        .group_by(col(Participant.deliberation_id))
    )
    found = {int(d): (int(n), int(c)) for d, n, c in session.exec(statement).all()}
    return {d: found.get(d, (0, 0)) for d in wanted}


def active_job_runs(session: Session, *, deliberation_id: int, beaten_since: datetime) -> int:
    """How many job runs of the deliberation are queued or running with a heartbeat (before the first one:
    their creation) at ``beaten_since`` or later; those left by a stopped process are not counted."""
    last = func.coalesce(col(JobRun.heartbeat_at), col(JobRun.created_at))
    statement = (
        select(func.count())
        .select_from(JobRun)
        .where(
            JobRun.deliberation_id == deliberation_id,
            col(JobRun.status).in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
            last >= beaten_since,
        )
    )
    return int(session.exec(statement).one())


def _deliberation_rows(deliberation_id: int) -> list[tuple[str, Any, ColumnElement[bool]]]:
    """Every table holding rows of the deliberation, children before parents (the order to delete in),
    each with the condition that picks its rows."""
    d = deliberation_id
    people = select(Participant.id).where(Participant.deliberation_id == d)
    questions = select(Question.id).where(Question.deliberation_id == d)
    values = select(CanonicalValue.id).where(CanonicalValue.deliberation_id == d)
    contexts = select(Context.id).where(Context.deliberation_id == d)
    stories = select(EdgeHypothesis.id).where(EdgeHypothesis.deliberation_id == d)
    interviews = select(Interview.id).where(
        or_(col(Interview.participant_id).in_(people), col(Interview.question_id).in_(questions))
    )
    return [
        (
            "judgements",
            Judgement,
            or_(
                col(Judgement.deliberation_id) == d,
                col(Judgement.participant_id).in_(people),
                col(Judgement.hypothesis_id).in_(stories),
                col(Judgement.context_id).in_(contexts),
            ),
        ),
        ("votes", Vote, or_(col(Vote.participant_id).in_(people), col(Vote.question_id).in_(questions))),
        (
            "impressions",
            Impression,
            or_(col(Impression.participant_id).in_(people), col(Impression.question_id).in_(questions)),
        ),
        ("survey_responses", SurveyResponse, col(SurveyResponse.participant_id).in_(people)),
        ("stories", EdgeHypothesis, col(EdgeHypothesis.deliberation_id) == d),
        (
            "model_calls",
            LLMCall,
            or_(
                col(LLMCall.deliberation_id) == d,
                col(LLMCall.interview_id).in_(interviews),
                col(LLMCall.participant_id).in_(people),
            ),
        ),
        ("messages", Message, col(Message.interview_id).in_(interviews)),
        (
            "cards",
            ValuesCard,
            or_(
                col(ValuesCard.participant_id).in_(people),
                col(ValuesCard.question_id).in_(questions),
                col(ValuesCard.interview_id).in_(interviews),
                col(ValuesCard.canonical_value_id).in_(values),
            ),
        ),
        ("interviews", Interview, col(Interview.id).in_(interviews)),
        ("invites", Invite, col(Invite.deliberation_id) == d),
        ("participants", Participant, col(Participant.deliberation_id) == d),
        ("values", CanonicalValue, col(CanonicalValue.deliberation_id) == d),
        (
            "context_links",
            QuestionContext,
            or_(
                col(QuestionContext.question_id).in_(questions), col(QuestionContext.context_id).in_(contexts)
            ),
        ),
        ("contexts", Context, col(Context.deliberation_id) == d),
        ("questions", Question, col(Question.deliberation_id) == d),
        ("cohorts", Cohort, col(Cohort.deliberation_id) == d),
        ("moderation_events", ModerationEvent, col(ModerationEvent.deliberation_id) == d),
        ("graph_snapshots", GraphSnapshot, col(GraphSnapshot.deliberation_id) == d),
        ("job_runs", JobRun, col(JobRun.deliberation_id) == d),
        ("deliberations", Deliberation, col(Deliberation.id) == d),
    ]


def deliberation_row_counts(session: Session, *, deliberation_id: int) -> dict[str, int]:
    """How many rows of each kind the deliberation holds (what deleting it removes)."""
    return {
        name: int(session.exec(select(func.count()).select_from(table).where(where)).one())
        for name, table, where in _deliberation_rows(deliberation_id)
    }


def delete_deliberation(session: Session, *, deliberation_id: int) -> dict[str, int]:
    """Delete the deliberation and every row of it, children first; returns how many of each kind."""
    get_deliberation(session, deliberation_id=deliberation_id)
    counts = deliberation_row_counts(session, deliberation_id=deliberation_id)
    session.expunge_all()  # the bulk deletes below bypass the session's objects
    for _name, table, where in _deliberation_rows(deliberation_id):
        session.exec(delete(table).where(where).execution_options(synchronize_session=False))
    session.flush()
    return counts


# --- invites -----------------------------------------------------------------------------------------


def list_cohorts(session: Session, *, deliberation_id: int) -> Sequence[Cohort]:
    statement = select(Cohort).where(Cohort.deliberation_id == deliberation_id).order_by(col(Cohort.name))
    return session.exec(statement).all()


def get_cohort(session: Session, *, deliberation_id: int, name: str) -> Cohort | None:
    statement = select(Cohort).where(Cohort.deliberation_id == deliberation_id, Cohort.name == name)
    return session.exec(statement).first()


def _last_survey_answer() -> Subquery:
    """A subquery: each participant's last survey answer (``participant_id``, ``at``)."""
    return (
        select(SurveyResponse.participant_id, func.max(SurveyResponse.created_at).label("at"))
        .group_by(col(SurveyResponse.participant_id))
        .subquery()
    )


def invite_rows(
    session: Session, *, deliberation_id: int
) -> list[tuple[Invite, str | None, Participant | None, datetime | None]]:
    """Every invite of the deliberation, oldest first, with its cohort's name, the participant who used it
    and when they last answered the survey (None when they did not)."""
    finished = _last_survey_answer()
    statement = (
        select(Invite, Cohort.name, Participant, finished.c.at)
        .outerjoin(Cohort, col(Cohort.id) == col(Invite.cohort_id))
        .outerjoin(Participant, col(Participant.id) == col(Invite.participant_id))
        .outerjoin(finished, finished.c.participant_id == col(Invite.participant_id))
        .where(Invite.deliberation_id == deliberation_id)
        .order_by(col(Invite.id))
    )
    return [(i, name, p, at) for i, name, p, at in session.exec(statement).all()]


def participant_rows(
    session: Session, *, deliberation_id: int
) -> list[tuple[Participant, str | None, bool, datetime | None]]:
    """Every participant row of the deliberation, oldest first, with its cohort's name, whether they came
    through a per-person invite, and when they last answered the survey."""
    finished = _last_survey_answer()
    invited = select(Invite.participant_id).where(col(Invite.participant_id).is_not(None))
    statement = (
        select(Participant, Cohort.name, col(Participant.id).in_(invited), finished.c.at)
        .outerjoin(Cohort, col(Cohort.id) == col(Participant.cohort_id))
        .outerjoin(finished, finished.c.participant_id == col(Participant.id))
        .where(Participant.deliberation_id == deliberation_id)
        .order_by(col(Participant.id))
    )
    return [(p, name, bool(by_invite), at) for p, name, by_invite, at in session.exec(statement).all()]


def unused_invites(
    session: Session, *, deliberation_id: int, code: str | None = None, cohort_id: int | None = None
) -> Sequence[Invite]:
    """The deliberation's invites nobody used and nobody withdrew, optionally of one code or cohort."""
    statement = select(Invite).where(
        Invite.deliberation_id == deliberation_id,
        col(Invite.participant_id).is_(None),
        col(Invite.revoked_at).is_(None),
    )
    if code is not None:
        statement = statement.where(Invite.code == code)
    if cohort_id is not None:
        statement = statement.where(Invite.cohort_id == cohort_id)
    return session.exec(statement.order_by(col(Invite.id)).with_for_update()).all()


def revoke_invites(session: Session, *, invites: Iterable[Invite]) -> int:
    """Withdraw these invites now (their links then say so); how many."""
    now, n = utcnow(), 0
    for invite in invites:
        invite.revoked_at = now
        session.add(invite)
        n += 1
    session.flush()
    return n
