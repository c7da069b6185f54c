"""Repository functions for upgrade stories (edge hypotheses) and the judgements made on them, and the
judgement matrix the graph engine reads.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

import numpy as np
from sqlalchemy import ColumnElement, and_, case, func, true, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from interviews.vocabulary import JudgementAnswer
from storage.errors import NotFound
from storage.repo_values import hidden_value_ids
from storage.schemas import EdgeHypothesisCreate, JudgementCreate
from storage.tables import (
    EdgeHypothesis,
    Judgement,
)

#: Each stored answer's code in the graph engine (graph.model.Answer: the vocabulary's order).
ANSWER_CODES = {answer.value: code for code, answer in enumerate(JudgementAnswer)}


def _touches_none(hidden: Sequence[int], from_column: Any, to_column: Any) -> ColumnElement[bool]:
    """Neither end is among ``hidden`` (true when nothing is hidden: the query stays as it was)."""
    if not hidden:
        return true()
    return and_(from_column.not_in(hidden), to_column.not_in(hidden))


def judgement_matrix(session: Session, *, deliberation_id: int) -> np.ndarray:
    """Every judgement of a deliberation as an ``(n, 5)`` int64 array: participant, from value, to value,
    context, answer code (0 upgrade, 1 no_upgrade, 2 not_sure, -1 anything else). Ordered by id.

    Judgements from or to a value a facilitator hid are left out (the graph is built without it).
    """
    hidden = hidden_value_ids(session, deliberation_id=deliberation_id)
    answer = case(*((col(Judgement.answer) == name, code) for name, code in ANSWER_CODES.items()), else_=-1)
    statement = (
        sa_select(
            col(Judgement.participant_id),
            col(Judgement.from_value_id),
            col(Judgement.to_value_id),
            col(Judgement.context_id),
            answer,
        )
        .where(
            col(Judgement.deliberation_id) == deliberation_id,
            _touches_none(hidden, col(Judgement.from_value_id), col(Judgement.to_value_id)),
        )
        .order_by(col(Judgement.id))
    )
    # Straight from the driver's cursor into numpy: no SQLAlchemy Row per judgement (a million rows
    # read in ~0.8 s instead of ~2 s here).
    connection = session.connection()
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(sql))
        # DB-API cursors iterate over their rows (PEP 249's extension, which sqlite3 and psycopg implement);
        # SQLAlchemy's DBAPICursor protocol does not declare __iter__.
        rows = np.fromiter(
            cast(Iterable[tuple[int, ...]], cursor), dtype=np.dtype([(f"f{i}", np.int64) for i in range(5)])
        )
    finally:
        cursor.close()
    return rows.view(np.int64).reshape(len(rows), 5)


def participant_judgements(session: Session, *, participant_id: int) -> Sequence[Judgement]:
    """Every judgement of the participant, oldest first."""
    statement = select(Judgement).where(Judgement.participant_id == participant_id)
    return session.exec(statement.order_by(col(Judgement.id))).all()


def get_judgement(session: Session, *, participant_id: int, hypothesis_id: int) -> Judgement | None:
    statement = select(Judgement).where(
        Judgement.participant_id == participant_id, Judgement.hypothesis_id == hypothesis_id
    )
    return session.exec(statement).first()


def upsert_judgement(session: Session, *, data: JudgementCreate) -> Judgement:
    """Insert the judgement, or update the answer and reason of the participant's one on that story."""
    found = get_judgement(session, participant_id=data.participant_id, hypothesis_id=data.hypothesis_id or 0)
    if found is None:
        judgement = Judgement.model_validate(data)
        try:
            with session.begin_nested():
                session.add(judgement)
                session.flush()
            return judgement
        except IntegrityError:  # a concurrent answer to the same story won: update that one
            found = get_judgement(
                session, participant_id=data.participant_id, hypothesis_id=data.hypothesis_id or 0
            )
            if found is None:
                raise
    found.answer, found.reason = data.answer, data.reason
    session.add(found)
    session.flush()
    return found


def add_judgements(session: Session, *, data: Sequence[JudgementCreate]) -> None:
    """Insert many judgements in one flush (an import; a participant's answer is :func:`upsert_judgement`)."""
    session.add_all(Judgement.model_validate(d) for d in data)
    session.flush()


def judgement_counts(
    session: Session, *, deliberation_id: int, before: datetime | None = None
) -> dict[tuple[int, int, int], int]:
    """How many judgements each (from, to, context) of the deliberation has (made before ``before``)."""
    statement = select(
        Judgement.from_value_id, Judgement.to_value_id, Judgement.context_id, func.count()
    ).where(Judgement.deliberation_id == deliberation_id)
    if before is not None:
        statement = statement.where(Judgement.created_at < before)
    statement = statement.group_by(
        col(Judgement.from_value_id), col(Judgement.to_value_id), col(Judgement.context_id)
    )
    return {(int(f), int(t), int(c)): int(n) for f, t, c, n in session.exec(statement).all()}


def judges_of_values(session: Session, *, deliberation_id: int, value_ids: Iterable[int]) -> dict[int, int]:
    """For each value, how many participants judged a story from or to it (one query for all of them)."""
    ids = sorted(set(value_ids))
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    in_deliberation = Judgement.deliberation_id == deliberation_id
    pairs = union_all(  # (participant, value) for both ends of every judgement that touches a value
        select(
            col(Judgement.participant_id).label("participant_id"),
            col(Judgement.from_value_id).label("value_id"),
        ).where(in_deliberation, col(Judgement.from_value_id).in_(ids)),
        select(Judgement.participant_id, Judgement.to_value_id).where(
            in_deliberation, col(Judgement.to_value_id).in_(ids)
        ),
    ).subquery()
    statement = select(pairs.c.value_id, func.count(func.distinct(pairs.c.participant_id))).group_by(
        pairs.c.value_id
    )
    counts.update({int(v): int(n) for v, n in session.exec(statement).all()})
    return counts


def list_hypotheses(
    session: Session,
    *,
    deliberation_id: int,
    run_id: str | None = None,
    shown: bool | None = None,
    context_ids: Iterable[int] | None = None,
) -> Sequence[EdgeHypothesis]:
    """Hypotheses of the deliberation (optionally of one run, shown or not, in some contexts), by id."""
    statement = select(EdgeHypothesis).where(EdgeHypothesis.deliberation_id == deliberation_id)
    if run_id is not None:
        statement = statement.where(EdgeHypothesis.run_id == run_id)
    if shown is not None:
        statement = statement.where(EdgeHypothesis.shown == shown)
    if context_ids is not None:
        statement = statement.where(col(EdgeHypothesis.context_id).in_(sorted(set(context_ids))))
    return session.exec(statement.order_by(col(EdgeHypothesis.id))).all()


class StoryKey(NamedTuple):
    """A story without its text: what choosing among thousands of them needs."""

    id: int
    from_value_id: int
    to_value_id: int
    context_id: int


def shown_story_keys(session: Session, *, deliberation_id: int) -> list[StoryKey]:
    """Id and (from, to, context) of every shown hypothesis of the deliberation, by id (no story text,
    no values: a participant's judging set ranks these, then loads the few it keeps). Stories from or to
    a value a facilitator hid are left out.
    """
    hidden = hidden_value_ids(session, deliberation_id=deliberation_id)
    statement = (
        select(
            EdgeHypothesis.id,
            EdgeHypothesis.from_value_id,
            EdgeHypothesis.to_value_id,
            EdgeHypothesis.context_id,
        )
        .where(
            EdgeHypothesis.deliberation_id == deliberation_id,
            col(EdgeHypothesis.shown).is_(True),
            _touches_none(hidden, col(EdgeHypothesis.from_value_id), col(EdgeHypothesis.to_value_id)),
        )
        .order_by(col(EdgeHypothesis.id))
    )
    return [StoryKey(int(i), f, t, c) for i, f, t, c in session.exec(statement).all() if i is not None]


class StoryState(NamedTuple):
    """Where one story stands, without its text: (from, to, context), its run, and whether it was judged."""

    from_value_id: int
    to_value_id: int
    context_id: int
    run_id: str
    judged: bool
    shown: bool


def story_states(session: Session, *, deliberation_id: int) -> list[StoryState]:
    """Every hypothesis of the deliberation as a :class:`StoryState`, by id (what the pipeline plans on)."""
    statement = (
        sa_select(
            col(EdgeHypothesis.from_value_id),
            col(EdgeHypothesis.to_value_id),
            col(EdgeHypothesis.context_id),
            col(EdgeHypothesis.run_id),
            col(EdgeHypothesis.judge_scores),  # None (JSON null) until judged: checked here, not in SQL
            col(EdgeHypothesis.shown),
        )
        .where(col(EdgeHypothesis.deliberation_id) == deliberation_id)
        .order_by(col(EdgeHypothesis.id))
    )
    rows = session.execute(statement).all()
    return [StoryState(int(f), int(t), int(c), str(r), j is not None, bool(s)) for f, t, c, r, j, s in rows]


def hypotheses_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, EdgeHypothesis]:
    """The hypotheses with these ids (missing ones left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = select(EdgeHypothesis).where(col(EdgeHypothesis.id).in_(wanted))
    return {h.id: h for h in session.exec(statement).all() if h.id is not None}


def get_hypothesis(session: Session, *, hypothesis_id: int) -> EdgeHypothesis:
    hypothesis = session.get(EdgeHypothesis, hypothesis_id)
    if hypothesis is None:
        raise NotFound(f"There is no upgrade story {hypothesis_id}.")
    return hypothesis


def add_hypothesis(session: Session, *, data: EdgeHypothesisCreate) -> tuple[EdgeHypothesis, bool]:
    """Insert a hypothesis, or return the one this run already has for its (from, to, context);
    ``(hypothesis, created)``.
    """
    hypothesis = EdgeHypothesis.model_validate(data)
    try:
        with session.begin_nested():
            session.add(hypothesis)
            session.flush()
    except IntegrityError:
        statement = select(EdgeHypothesis).where(
            EdgeHypothesis.from_value_id == hypothesis.from_value_id,
            EdgeHypothesis.to_value_id == hypothesis.to_value_id,
            EdgeHypothesis.context_id == hypothesis.context_id,
            EdgeHypothesis.run_id == hypothesis.run_id,
        )
        found = session.exec(statement).first()
        if found is None:
            raise
        return found, False
    return hypothesis, True


def add_hypotheses(session: Session, *, data: Sequence[EdgeHypothesisCreate]) -> list[EdgeHypothesis]:
    """Insert many hypotheses in one flush (an import), in the given order."""
    hypotheses = [EdgeHypothesis.model_validate(d) for d in data]
    session.add_all(hypotheses)
    session.flush()
    return hypotheses


def set_judge_scores(session: Session, *, hypothesis_id: int, scores: dict[str, Any], shown: bool) -> None:
    hypothesis = get_hypothesis(session, hypothesis_id=hypothesis_id)
    hypothesis.judge_scores = scores
    hypothesis.shown = shown
    session.add(hypothesis)
    session.flush()


def judged_triples(session: Session, *, participant_id: int) -> set[tuple[int, int, int]]:
    """``(from, to, context)`` of every judgement the participant made (in any run)."""
    statement = select(Judgement.from_value_id, Judgement.to_value_id, Judgement.context_id).where(
        Judgement.participant_id == participant_id
    )
    return {(f, t, c) for f, t, c in session.exec(statement).all()}


def _per_value(session: Session, table: Any, value_ids: Iterable[int]) -> dict[int, int]:
    """How many rows of ``table`` (stories or judgements) have each value at either end."""
    ids = sorted(set(value_ids))
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    ends = union_all(
        select(col(table.id).label("row_id"), col(table.from_value_id).label("value_id")).where(
            col(table.from_value_id).in_(ids)
        ),
        select(table.id, table.to_value_id).where(col(table.to_value_id).in_(ids)),
    ).subquery()
    statement = select(ends.c.value_id, func.count(func.distinct(ends.c.row_id))).group_by(ends.c.value_id)
    counts.update({int(v): int(n) for v, n in session.exec(statement).all()})
    return counts


def stories_per_value(session: Session, *, value_ids: Iterable[int]) -> dict[int, int]:
    """For each value, how many upgrade stories start or end at it (0 for none)."""
    return _per_value(session, EdgeHypothesis, value_ids)


def judgements_per_value(session: Session, *, value_ids: Iterable[int]) -> dict[int, int]:
    """For each value, how many judgements are from or to it (0 for none)."""
    return _per_value(session, Judgement, value_ids)
