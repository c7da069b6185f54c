"""Repository functions for deliberations and what belongs to them: questions, contexts, cohorts, invites
and the open join code.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import NotFound
from storage.schemas import (
    CohortCreate,
    ContextCreate,
    DeliberationCreate,
    InviteCreate,
    QuestionContextCreate,
)
from storage.tables import (
    Cohort,
    Context,
    Deliberation,
    Invite,
    Question,
    QuestionContext,
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
