"""Merging canonical values: move everything attached to some values onto one and delete the others.

Keyword-only, session first; it flushes but never commits (the caller's ``session_scope`` does). The
facilitator's merge (:func:`services.values.merge`) is the only caller; it logs the returned
:class:`MergeOutcome` (counts and a snapshot of every deleted row) in the moderation log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from storage.repo_values import find_canonical_values
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


def _snapshot(row: Any) -> dict[str, Any]:
    return row.model_dump(mode="json")


def merge_canonical_values(session: Session, *, keep_id: int, merge_ids: Iterable[int]) -> MergeOutcome:
    """Move everything attached to ``merge_ids`` onto ``keep_id`` and delete the merged values.

    Unique rules are kept by dropping the extra row of a collision: the row already on the kept value wins,
    else the oldest (lowest id). A participant who voted for two merged values keeps one vote; two stories
    that become the same (from, to, context, run) keep the kept one, with the other's judgements moved onto
    it (a participant who judged both keeps the one on the surviving story); a story between two values
    that are now one is deleted and its judgements detached. Deletions are flushed before updates so no
    unique constraint is broken in between.
    """
    merging = set(merge_ids) - {keep_id}
    every = merging | {keep_id}
    outcome = MergeOutcome()

    def remap(value_id: int) -> int:
        return keep_id if value_id in merging else value_id

    def keep_first(row: Any, attached_to_keep: bool) -> tuple[int, int]:
        return (0 if attached_to_keep else 1, row.id)

    # Plan everything first, then delete, flush, update, flush.
    cards = session.exec(select(ValuesCard).where(col(ValuesCard.canonical_value_id).in_(merging))).all()

    votes = sorted(
        session.exec(select(Vote).where(col(Vote.canonical_value_id).in_(every))).all(),
        key=lambda v: keep_first(v, v.canonical_value_id == keep_id),
    )
    vote_moves: list[Vote] = []
    vote_drops: list[Vote] = []
    seen_votes: set[tuple[int, int]] = set()
    for vote in votes:
        vote_key = (vote.participant_id, vote.question_id)
        if vote_key in seen_votes:
            vote_drops.append(vote)
        else:
            seen_votes.add(vote_key)
            if vote.canonical_value_id != keep_id:
                vote_moves.append(vote)

    impressions = sorted(
        session.exec(select(Impression).where(col(Impression.canonical_value_id).in_(every))).all(),
        key=lambda i: keep_first(i, i.canonical_value_id == keep_id),
    )
    impression_moves: list[Impression] = []
    impression_drops: list[Impression] = []
    seen_impressions: set[tuple[int, str]] = set()
    for impression in impressions:
        impression_key = (impression.participant_id, impression.draw_id)
        if impression_key in seen_impressions:
            impression_drops.append(impression)
        else:
            seen_impressions.add(impression_key)
            if impression.canonical_value_id != keep_id:
                impression_moves.append(impression)

    hypotheses = sorted(
        session.exec(
            select(EdgeHypothesis).where(
                or_(col(EdgeHypothesis.from_value_id).in_(every), col(EdgeHypothesis.to_value_id).in_(every))
            )
        ).all(),
        key=lambda h: keep_first(h, h.from_value_id not in merging and h.to_value_id not in merging),
    )
    survivor_of: dict[tuple[int, int, int, str], int] = {}
    hypothesis_moves: list[EdgeHypothesis] = []
    hypothesis_drops: list[EdgeHypothesis] = []
    redirect: dict[int, int | None] = {}  # dropped story id -> surviving story id (None: detach)
    for hyp in hypotheses:
        new_from, new_to = remap(hyp.from_value_id), remap(hyp.to_value_id)
        story_key = (new_from, new_to, hyp.context_id, hyp.run_id)
        if new_from == new_to:
            hypothesis_drops.append(hyp)
            redirect[hyp.id] = None  # type: ignore[index]
        elif story_key in survivor_of:
            hypothesis_drops.append(hyp)
            redirect[hyp.id] = survivor_of[story_key]  # type: ignore[index]
        else:
            survivor_of[story_key] = hyp.id  # type: ignore[assignment]
            if (new_from, new_to) != (hyp.from_value_id, hyp.to_value_id):
                hypothesis_moves.append(hyp)

    hypothesis_ids = [h.id for h in hypotheses]
    judgements = sorted(
        session.exec(
            select(Judgement).where(
                or_(
                    col(Judgement.hypothesis_id).in_(hypothesis_ids),
                    col(Judgement.from_value_id).in_(merging),
                    col(Judgement.to_value_id).in_(merging),
                )
            )
        ).all(),
        key=lambda j: keep_first(j, j.hypothesis_id not in redirect),
    )
    judgement_updates: list[tuple[Judgement, int | None]] = []
    judgement_drops: list[Judgement] = []
    seen_judgements: set[tuple[int, int]] = set()
    for judgement in judgements:
        target = judgement.hypothesis_id
        if target in redirect:
            target = redirect[target]
        if target is not None:
            judgement_key = (judgement.participant_id, target)
            if judgement_key in seen_judgements:
                judgement_drops.append(judgement)
                continue
            seen_judgements.add(judgement_key)
        if (
            target != judgement.hypothesis_id
            or judgement.from_value_id in merging
            or judgement.to_value_id in merging
        ):
            judgement_updates.append((judgement, target))

    # 1. rows that collided
    drops: tuple[tuple[str, Sequence[Vote | Impression | Judgement]], ...] = (
        ("votes", vote_drops),
        ("impressions", impression_drops),
        ("judgements", judgement_drops),
    )
    for kind, rows in drops:
        for dropped in rows:
            outcome.dropped[kind].append(_snapshot(dropped))
            session.delete(dropped)
    session.flush()
    # 2. moves that do not depend on stories
    for card in cards:
        card.canonical_value_id = keep_id
        session.add(card)
    for moved in (*vote_moves, *impression_moves):
        moved.canonical_value_id = keep_id
        session.add(moved)
    for judgement, target in judgement_updates:
        if target is None and judgement.hypothesis_id is not None:
            outcome.judgements_detached += 1
        else:
            outcome.judgements_moved += 1
        judgement.hypothesis_id = target
        judgement.from_value_id = remap(judgement.from_value_id)
        judgement.to_value_id = remap(judgement.to_value_id)
        session.add(judgement)
    session.flush()
    # 3. stories: drop the collided and self ones, then move the rest
    for hyp in hypothesis_drops:
        outcome.dropped["hypotheses"].append(_snapshot(hyp))
        session.delete(hyp)
    session.flush()
    for hyp in hypothesis_moves:
        hyp.from_value_id, hyp.to_value_id = remap(hyp.from_value_id), remap(hyp.to_value_id)
        session.add(hyp)
    session.flush()
    # 4. the merged values themselves
    for value in find_canonical_values(session, ids=merging).values():
        outcome.dropped["values"].append(_snapshot(value))
        session.delete(value)
    keep = session.get(CanonicalValue, keep_id)
    if keep is not None:
        keep.updated_at = utcnow()
        session.add(keep)
    session.flush()
    outcome.cards_moved = len(cards)
    outcome.votes_moved = len(vote_moves)
    outcome.impressions_moved = len(impression_moves)
    outcome.hypotheses_moved = len(hypothesis_moves)
    return outcome
