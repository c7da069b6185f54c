"""Canonical values under the facilitator's review: list and inspect them, merge and split by hand.

The values themselves are made by the dedup job (:mod:`services.jobs.dedup`); DOMAIN.md §5 asks that
facilitators can correct it by hand.

Merge and split are single transactions, each logged as a :class:`~storage.tables.ModerationEvent`, and
safe to repeat: merging values that an earlier merge into the same value already removed, or splitting off
the same cards again, is a no-op that says so (``already_done``); anything else inconsistent is a clear
:class:`~errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import check_text
from storage import repo_deliberations, repo_merge, repo_values
from storage.db import session_scope
from storage.errors import NotFound
from storage.schemas import (
    CanonicalValueCreate,
    CanonicalValuePublic,
    CardPublic,
    ModerationEventCreate,
    ModerationEventPublic,
)
from storage.tables import CanonicalValue, ValuesCard, utcnow

# --- review -----------------------------------------------------------------------------------------


def _value_public(value: CanonicalValue, cards: list[ValuesCard], votes: int) -> CanonicalValuePublic:
    return CanonicalValuePublic.model_validate(
        {
            **value.model_dump(),
            "cards": [CardPublic.of(c) for c in cards],
            "votes": votes,
        }
    )


def list_values(
    engine: Engine, *, deliberation_id: int, question_id: int | None = None
) -> list[CanonicalValuePublic]:
    """The deliberation's canonical values with their member cards and vote counts, oldest first.

    With ``question_id``, only values that have a member card on that question.
    """
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        values = repo_values.list_canonical_values(session, deliberation_id=deliberation_id)
        ids = [v.id for v in values if v.id is not None]
        members = repo_values.member_cards(session, canonical_ids=ids)
        votes = repo_values.vote_counts(session, canonical_ids=ids)
        return [
            _value_public(v, members[v.id], votes[v.id])
            for v in values
            if v.id is not None
            and (question_id is None or any(c.question_id == question_id for c in members[v.id]))
        ]


def get_value(engine: Engine, *, canonical_id: int) -> CanonicalValuePublic:
    with session_scope(engine) as session:
        value = repo_values.get_canonical_value(session, canonical_id=canonical_id)
        members = repo_values.member_cards(session, canonical_ids=[canonical_id])[canonical_id]
        votes = repo_values.vote_counts(session, canonical_ids=[canonical_id])[canonical_id]
        return _value_public(value, members, votes)


def moderation_log(engine: Engine, *, deliberation_id: int, limit: int = 200) -> list[ModerationEventPublic]:
    """The deliberation's moderation log, newest first."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        events = repo_values.list_moderation_events(session, deliberation_id=deliberation_id, limit=limit)
        return [ModerationEventPublic.model_validate(e, from_attributes=True) for e in events]


# --- merge and split --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSummary:
    keep_id: int
    merged_ids: tuple[int, ...]  # removed by this call
    already_merged: tuple[int, ...]  # removed into keep_id by an earlier merge: nothing to do
    counts: dict[str, int]
    event_id: int | None  # None when the call changed nothing

    @property
    def already_done(self) -> bool:
        return not self.merged_ids


#: The longest reason the moderation log takes.
MAX_REASON = 2000


def _reason(reason: str) -> str:
    reason = " ".join(check_text(reason, what="The reason", limit=MAX_REASON).split())
    if not reason:
        raise InvalidInput("Give a reason: it is written to the moderation log.")
    return reason


def merge(
    engine: Engine,
    *,
    deliberation_id: int,
    keep_id: int,
    merge_ids: Sequence[int],
    reason: str,
    actor: str = "facilitator",
) -> MergeSummary:
    """Fold the values ``merge_ids`` into ``keep_id``: member cards, votes, impressions, upgrade stories and
    judgements move over (collisions keep one row, see :func:`storage.repo_merge.merge_canonical_values`),
    the merged values are deleted and a ``merge_values`` event keeps a snapshot of everything removed.
    """
    reason = _reason(reason)
    wanted = list(dict.fromkeys(merge_ids))
    if not wanted:
        raise InvalidInput("Choose at least one value to merge.")
    if keep_id in wanted:
        raise InvalidInput(f"Value {keep_id} cannot be merged into itself.")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        try:
            repo_values.get_canonical_value(
                session, canonical_id=keep_id, deliberation_id=deliberation_id, lock=True
            )
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        found = repo_values.canonical_values_by_id(session, ids=wanted, lock=True)
        elsewhere = [i for i, v in found.items() if v.deliberation_id != deliberation_id]
        missing = [i for i in wanted if i not in found]
        earlier = set()
        for event in repo_values.list_moderation_events(
            session, deliberation_id=deliberation_id, action="merge_values", target_id=keep_id
        ):
            earlier.update(event.details.get("merged", []))
        unknown = sorted(set(elsewhere) | {i for i in missing if i not in earlier})
        if unknown:
            names = ", ".join(map(str, unknown))
            raise InvalidInput(f"There is no value {names} in deliberation {deliberation_id}.")
        merging = [i for i in wanted if i in found]
        already = tuple(i for i in wanted if i not in found)
        if not merging:
            return MergeSummary(keep_id, (), already, {}, None)
        outcome = repo_merge.merge_canonical_values(session, keep_id=keep_id, merge_ids=merging)
        event = repo_values.add_moderation_event(
            session,
            data=ModerationEventCreate(
                deliberation_id=deliberation_id,
                actor=actor,
                action="merge_values",
                target_type="canonical_value",
                target_id=keep_id,
                reason=reason,
                details={"merged": merging, "counts": outcome.counts(), "removed": outcome.dropped},
            ),
        )
        return MergeSummary(keep_id, tuple(merging), already, outcome.counts(), event.id)


@dataclass(frozen=True)
class SplitSummary:
    canonical_id: int
    new_canonical_id: int
    card_ids: tuple[int, ...]
    event_id: int
    already_done: bool = False


def split(
    engine: Engine,
    *,
    canonical_id: int,
    card_ids: Sequence[int],
    reason: str,
    title: str | None = None,
    actor: str = "facilitator",
) -> SplitSummary:
    """Move some member cards of ``canonical_id`` to a new value (text from the first chosen card, titled
    ``title`` when given) and log a ``split_value`` event. Votes, impressions, stories and judgements stay
    with the original value: they were cast on its text.

    Repeating the same split is a no-op (``already_done``); splitting off all members, cards that are not
    members, or an unknown value is :class:`InvalidInput`.
    """
    reason = _reason(reason)
    chosen = list(dict.fromkeys(card_ids))
    if not chosen:
        raise InvalidInput("Choose at least one card to split off.")
    if title is not None:
        title = " ".join(check_text(title, what="The title").split())
        if not 1 <= len(title) <= 200:
            raise InvalidInput("A value's title has 1 to 200 characters.")
    with session_scope(engine) as session:
        try:
            value = repo_values.get_canonical_value(session, canonical_id=canonical_id, lock=True)
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        members = repo_values.member_cards(session, canonical_ids=[canonical_id])[canonical_id]
        member_ids = {c.id for c in members}
        outside = [i for i in chosen if i not in member_ids]
        if outside:
            previous = _same_split(session, value.deliberation_id, canonical_id, chosen)
            if previous is not None:
                return previous
            names = ", ".join(map(str, outside))
            raise InvalidInput(f"Card(s) {names} are not members of value {canonical_id}.")
        if len(chosen) == len(members):
            raise InvalidInput(
                f"Splitting off every card of value {canonical_id} would leave it empty; choose fewer cards."
            )
        cards = repo_values.cards_by_id(session, card_ids=chosen, lock=True)
        first = cards[chosen[0]]
        new = repo_values.add_canonical_value(
            session,
            data=CanonicalValueCreate(
                deliberation_id=value.deliberation_id,
                title=title or first.title,
                description=first.description,
                policies=list(first.policies),
                dedup_run=None,
            ),
        )
        assert new.id is not None
        repo_values.link_cards(session, cards=[cards[i] for i in chosen], canonical_id=new.id)
        value.updated_at = utcnow()
        session.add(value)
        event = repo_values.add_moderation_event(
            session,
            data=ModerationEventCreate(
                deliberation_id=value.deliberation_id,
                actor=actor,
                action="split_value",
                target_type="canonical_value",
                target_id=canonical_id,
                reason=reason,
                details={"new_value": new.id, "cards": chosen, "title": new.title},
            ),
        )
        assert event.id is not None
        return SplitSummary(canonical_id, new.id, tuple(chosen), event.id)


def _same_split(
    session: Any, deliberation_id: int, canonical_id: int, chosen: list[int]
) -> SplitSummary | None:
    """The earlier split of exactly these cards off ``canonical_id``, if they all still sit in its value."""
    for event in repo_values.list_moderation_events(
        session, deliberation_id=deliberation_id, action="split_value", target_id=canonical_id
    ):
        new_id = event.details.get("new_value")
        if sorted(event.details.get("cards", [])) != sorted(chosen) or new_id is None:
            continue
        now = repo_values.member_cards(session, canonical_ids=[new_id])[new_id]
        if set(chosen) <= {c.id for c in now}:
            assert event.id is not None
            return SplitSummary(canonical_id, new_id, tuple(chosen), event.id, already_done=True)
    return None
