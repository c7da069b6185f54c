"""Merging canonical values: move everything attached to some values onto one and delete the others.

The rules (which row of a collision stays, what happens to a story between two values that are now one)
are the pure plan :func:`interviews.value_merge.plan_merge`; this module loads the rows it needs, applies
the plan and snapshots what it deletes. Keyword-only, session first; it flushes but never commits (the
caller's ``session_scope`` does). The facilitator's merge (:func:`services.facilitator.values.merge`) is the
only caller; it logs the returned :class:`MergeOutcome` (counts and a snapshot of every deleted row) in the
moderation log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, col, select

from interviews.value_merge import (
    CardRow,
    ImpressionRow,
    JudgementRow,
    MergePlan,
    MergeRows,
    StoryRow,
    VoteRow,
    plan_merge,
)
from storage.repo_values import canonical_values_by_id
from storage.tables import (
    CanonicalValue,
    EdgeHypothesis,
    Impression,
    Judgement,
    ValuesCard,
    Vote,
    utcnow,
)


@dataclass
class MergeOutcome:
    """What a merge changed. ``dropped`` holds a JSON snapshot of every deleted row, by kind (the merged
    values themselves, and votes, impressions, stories and judgements that collided with a kept one).
    ``judgements_detached`` counts judgements on a story between two values that are now one: they are
    kept (the graph skips them as self-loops) but lose their deleted story.
    """

    cards_moved: int = 0
    votes_moved: int = 0
    impressions_moved: int = 0
    hypotheses_moved: int = 0
    judgements_moved: int = 0
    judgements_detached: int = 0
    dropped: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            "values": [],
            "votes": [],
            "impressions": [],
            "hypotheses": [],
            "judgements": [],
        }
    )

    def counts(self) -> dict[str, int]:
        moved = {
            "cards_moved": self.cards_moved,
            "votes_moved": self.votes_moved,
            "impressions_moved": self.impressions_moved,
            "hypotheses_moved": self.hypotheses_moved,
            "judgements_moved": self.judgements_moved,
            "judgements_detached": self.judgements_detached,
        }
        return moved | {
            f"{kind}_dropped": len(rows) for kind, rows in self.dropped.items() if kind != "values"
        }


def _snapshot(row: SQLModel) -> dict[str, Any]:
    return row.model_dump(mode="json")


Row = TypeVar("Row", ValuesCard, Vote, Impression, EdgeHypothesis, Judgement)


def _by_id(rows: Sequence[Row]) -> dict[int, Row]:
    return {row.id: row for row in rows if row.id is not None}


@dataclass
class _Loaded:
    """The table rows a merge may touch, by id."""

    values: dict[int, CanonicalValue]
    cards: dict[int, ValuesCard]
    votes: dict[int, Vote]
    impressions: dict[int, Impression]
    stories: dict[int, EdgeHypothesis]
    judgements: dict[int, Judgement]

    def plain(self) -> MergeRows:
        return MergeRows(
            values=tuple(self.values),
            cards=tuple(CardRow(i, c.canonical_value_id) for i, c in self.cards.items()),
            votes=tuple(
                VoteRow(i, v.participant_id, v.canonical_value_id, v.question_id)
                for i, v in self.votes.items()
            ),
            impressions=tuple(
                ImpressionRow(i, s.participant_id, s.canonical_value_id, s.draw_id)
                for i, s in self.impressions.items()
            ),
            stories=tuple(
                StoryRow(i, h.from_value_id, h.to_value_id, h.context_id, h.run_id)
                for i, h in self.stories.items()
            ),
            judgements=tuple(
                JudgementRow(i, j.participant_id, j.hypothesis_id, j.from_value_id, j.to_value_id)
                for i, j in self.judgements.items()
            ),
        )


def _load(session: Session, *, keep_id: int, merging: set[int]) -> _Loaded:
    """The merged values, their cards, the votes, impressions and stories of every value involved, and the
    judgements of those stories or between merged values."""
    every = merging | {keep_id}
    stories = _by_id(
        session.exec(
            select(EdgeHypothesis).where(
                or_(col(EdgeHypothesis.from_value_id).in_(every), col(EdgeHypothesis.to_value_id).in_(every))
            )
        ).all()
    )
    judged = or_(
        col(Judgement.hypothesis_id).in_(list(stories)),
        col(Judgement.from_value_id).in_(merging),
        col(Judgement.to_value_id).in_(merging),
    )
    return _Loaded(
        values=canonical_values_by_id(session, ids=merging),
        cards=_by_id(
            session.exec(select(ValuesCard).where(col(ValuesCard.canonical_value_id).in_(merging))).all()
        ),
        votes=_by_id(session.exec(select(Vote).where(col(Vote.canonical_value_id).in_(every))).all()),
        impressions=_by_id(
            session.exec(select(Impression).where(col(Impression.canonical_value_id).in_(every))).all()
        ),
        stories=stories,
        judgements=_by_id(session.exec(select(Judgement).where(judged)).all()),
    )


def merge_canonical_values(session: Session, *, keep_id: int, merge_ids: Iterable[int]) -> MergeOutcome:
    """Move everything attached to ``merge_ids`` onto ``keep_id`` and delete the merged values.

    The plan is :func:`interviews.value_merge.plan_merge` (its docstring has the rules): the extra row of a
    collision is dropped (the row already on the kept value wins, else the oldest); a story between two
    values that are now one is deleted and its judgements detached (kept, with no story). ``keep_id`` among
    ``merge_ids`` is ignored; merging nothing, or again what was merged before, changes no row (the kept
    value's ``updated_at`` is still bumped). Deletions are flushed before the updates that could collide
    with them, and judgements leave their deleted stories before those go, so no constraint breaks between.
    """
    merging = set(merge_ids) - {keep_id}
    loaded = _load(session, keep_id=keep_id, merging=merging)
    plan = plan_merge(loaded.plain(), keep_id=keep_id, merge_ids=merging)
    return _apply(session, loaded, plan)


def preview_merge(session: Session, *, keep_id: int, merge_ids: Iterable[int]) -> MergeOutcome:
    """What :func:`merge_canonical_values` would change, changing nothing: the same counts (its
    :meth:`MergeOutcome.counts`) and, in ``dropped``, a snapshot of each row it would delete."""
    merging = set(merge_ids) - {keep_id}
    loaded = _load(session, keep_id=keep_id, merging=merging)
    plan = plan_merge(loaded.plain(), keep_id=keep_id, merge_ids=merging)
    outcome = _outcome(plan)
    for kind, rows, dropped in (
        ("votes", loaded.votes, plan.votes_dropped),
        ("impressions", loaded.impressions, plan.impressions_dropped),
        ("judgements", loaded.judgements, plan.judgements_dropped),
        ("hypotheses", loaded.stories, plan.stories_dropped),
    ):
        outcome.dropped[kind] = [_snapshot(rows[d.id]) for d in dropped]
    outcome.dropped["values"] = [_snapshot(loaded.values[i]) for i in plan.values_deleted]
    return outcome


def _outcome(plan: MergePlan) -> MergeOutcome:
    return MergeOutcome(
        cards_moved=len(plan.cards_moved),
        votes_moved=len(plan.votes_moved),
        impressions_moved=len(plan.impressions_moved),
        hypotheses_moved=len(plan.stories_moved),
        judgements_moved=len(plan.judgements_moved),
        judgements_detached=len(plan.judgements_detached),
    )


def _apply(session: Session, loaded: _Loaded, plan: MergePlan) -> MergeOutcome:
    outcome = _outcome(plan)

    def delete(kind: str, rows: Iterable[SQLModel]) -> None:
        for row in rows:
            outcome.dropped[kind].append(_snapshot(row))
            session.delete(row)

    # 1. rows that collided with a kept one
    delete("votes", (loaded.votes[d.id] for d in plan.votes_dropped))
    delete("impressions", (loaded.impressions[d.id] for d in plan.impressions_dropped))
    delete("judgements", (loaded.judgements[d.id] for d in plan.judgements_dropped))
    session.flush()
    # 2. moves onto the kept value, and judgements onto their surviving story (or none)
    moved_onto_keep = (
        *(loaded.cards[i] for i in plan.cards_moved),
        *(loaded.votes[i] for i in plan.votes_moved),
        *(loaded.impressions[i] for i in plan.impressions_moved),
    )
    for row in moved_onto_keep:
        row.canonical_value_id = plan.keep_id
    for move in (*plan.judgements_moved, *plan.judgements_detached):
        judgement = loaded.judgements[move.id]
        judgement.hypothesis_id = move.hypothesis_id
        judgement.from_value_id, judgement.to_value_id = move.from_value_id, move.to_value_id
    session.flush()
    # 3. stories: delete the collided and self-loop ones, then move the rest
    delete("hypotheses", (loaded.stories[d.id] for d in plan.stories_dropped))
    session.flush()
    for story_move in plan.stories_moved:
        story = loaded.stories[story_move.id]
        story.from_value_id, story.to_value_id = story_move.from_value_id, story_move.to_value_id
    session.flush()
    # 4. the merged values themselves
    delete("values", (loaded.values[i] for i in plan.values_deleted))
    keep = session.get(CanonicalValue, plan.keep_id)
    if keep is not None:
        keep.updated_at = utcnow()
        session.add(keep)
    session.flush()
    return outcome
