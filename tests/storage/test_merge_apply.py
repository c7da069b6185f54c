"""The storage step of a merge does to the tables exactly what the pure plan says (SQLite and PostgreSQL)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from interviews.value_merge import (
    CardRow,
    ImpressionRow,
    JudgementRow,
    MergeRows,
    StoryRow,
    VoteRow,
    plan_merge,
)
from storage.repo_merge import merge_canonical_values
from storage.tables import (
    CanonicalValue,
    Context,
    Deliberation,
    EdgeHypothesis,
    Impression,
    Judgement,
    Participant,
    Question,
    ValuesCard,
    Vote,
)
from tests.interviews.test_value_merge import VALUES, apply, merges, row_sets


def seed(session: Session, rows: MergeRows) -> None:
    """The plain rows as table rows with the same ids: values 1-5, people 1-2, questions and contexts 1-2."""
    session.add(Deliberation(id=1, title="Merging"))
    session.flush()
    session.add_all([Question(id=q, deliberation_id=1, position=q, text=f"Q{q}") for q in (1, 2)])
    session.add_all([Context(id=c, deliberation_id=1, text=f"When {c}") for c in (1, 2)])
    session.add_all([Participant(id=p, deliberation_id=1) for p in (1, 2)])
    session.add_all([CanonicalValue(id=v, deliberation_id=1, title=f"Value {v}") for v in VALUES])
    session.flush()
    session.add_all([ValuesCard(id=c.id, title="Card", canonical_value_id=c.value_id) for c in rows.cards])
    session.add_all(
        [
            Vote(
                id=v.id,
                participant_id=v.participant_id,
                canonical_value_id=v.value_id,
                question_id=v.question_id,
                draw_id="d",
            )
            for v in rows.votes
        ]
    )
    session.add_all(
        [
            Impression(
                id=i.id,
                participant_id=i.participant_id,
                canonical_value_id=i.value_id,
                question_id=1,
                draw_id=i.draw_id,
            )
            for i in rows.impressions
        ]
    )
    session.add_all(
        [
            EdgeHypothesis(
                id=s.id,
                deliberation_id=1,
                from_value_id=s.from_value_id,
                to_value_id=s.to_value_id,
                context_id=s.context_id,
                run_id=s.run_id,
            )
            for s in rows.stories
        ]
    )
    session.flush()
    session.add_all(
        [
            Judgement(
                id=j.id,
                deliberation_id=1,
                participant_id=j.participant_id,
                hypothesis_id=j.hypothesis_id,
                from_value_id=j.from_value_id,
                to_value_id=j.to_value_id,
                context_id=1,
                answer="upgrade",
            )
            for j in rows.judgements
        ]
    )
    session.flush()


def read_back(session: Session) -> MergeRows:
    """The tables as plain rows, in id order."""
    return MergeRows(
        values=tuple(
            v.id for v in session.exec(select(CanonicalValue).order_by(col(CanonicalValue.id))) if v.id
        ),
        cards=tuple(
            CardRow(c.id, c.canonical_value_id)
            for c in session.exec(select(ValuesCard).order_by(col(ValuesCard.id)))
            if c.id
        ),
        votes=tuple(
            VoteRow(v.id, v.participant_id, v.canonical_value_id, v.question_id)
            for v in session.exec(select(Vote).order_by(col(Vote.id)))
            if v.id
        ),
        impressions=tuple(
            ImpressionRow(i.id, i.participant_id, i.canonical_value_id, i.draw_id)
            for i in session.exec(select(Impression).order_by(col(Impression.id)))
            if i.id
        ),
        stories=tuple(
            StoryRow(s.id, s.from_value_id, s.to_value_id, s.context_id, s.run_id)
            for s in session.exec(select(EdgeHypothesis).order_by(col(EdgeHypothesis.id)))
            if s.id
        ),
        judgements=tuple(
            JudgementRow(j.id, j.participant_id, j.hypothesis_id, j.from_value_id, j.to_value_id)
            for j in session.exec(select(Judgement).order_by(col(Judgement.id)))
            if j.id
        ),
    )


def by_id(rows: MergeRows) -> MergeRows:
    """``rows`` with every kind in id order."""
    return MergeRows(
        values=tuple(sorted(rows.values)),
        cards=tuple(sorted(rows.cards, key=lambda r: r.id)),
        votes=tuple(sorted(rows.votes, key=lambda r: r.id)),
        impressions=tuple(sorted(rows.impressions, key=lambda r: r.id)),
        stories=tuple(sorted(rows.stories, key=lambda r: r.id)),
        judgements=tuple(sorted(rows.judgements, key=lambda r: r.id)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=row_sets(), merge=merges)
def test_the_tables_end_as_the_plan_says(
    engine: Engine, rows: MergeRows, merge: tuple[int, list[int]]
) -> None:
    keep, merge_ids = merge
    with Session(engine) as session:  # rolled back after each example
        seed(session, rows)
        before = read_back(session)
        plan = plan_merge(before, keep_id=keep, merge_ids=merge_ids)
        outcome = merge_canonical_values(session, keep_id=keep, merge_ids=merge_ids)
        assert read_back(session) == by_id(apply(before, plan))
        assert outcome.counts() == {
            "cards_moved": len(plan.cards_moved),
            "votes_moved": len(plan.votes_moved),
            "impressions_moved": len(plan.impressions_moved),
            "hypotheses_moved": len(plan.stories_moved),
            "judgements_moved": len(plan.judgements_moved),
            "judgements_detached": len(plan.judgements_detached),
            "votes_dropped": len(plan.votes_dropped),
            "impressions_dropped": len(plan.impressions_dropped),
            "hypotheses_dropped": len(plan.stories_dropped),
            "judgements_dropped": len(plan.judgements_dropped),
        }
        snapshots = {kind: [row["id"] for row in dropped] for kind, dropped in outcome.dropped.items()}
        assert snapshots == {
            "values": list(plan.values_deleted),
            "votes": [d.id for d in plan.votes_dropped],
            "impressions": [d.id for d in plan.impressions_dropped],
            "hypotheses": [d.id for d in plan.stories_dropped],
            "judgements": [d.id for d in plan.judgements_dropped],
        }
        session.rollback()
