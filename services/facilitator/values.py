"""Canonical values under the facilitator's review: list and inspect them, merge and split by hand, with
a preview of what moves before either, and the likely missed merges (the closest pairs by embedding).

The values themselves are made by the dedup job (:mod:`services.jobs.dedup`); DOMAIN.md §5 asks that
facilitators can correct it by hand. Hiding a value is moderation (:mod:`services.facilitator.moderation`).

Merge and split are single transactions, each logged as a :class:`~storage.tables.ModerationEvent`, and
safe to repeat: merging values that an earlier merge into the same value already removed, or splitting off
the same cards again, is a no-op that says so (``already_done``); anything else inconsistent is a clear
:class:`~errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from errors import InvalidInput
from interviews.dedup_candidates import embedding_text
from interviews.missed_merges import closest_pairs
from interviews.text_rules import check_text
from services.facilitator import audit
from storage import repo_deliberations, repo_judgements, repo_merge, repo_values
from storage.db import session_scope
from storage.errors import NotFound
from storage.schemas import CanonicalValueCreate, CanonicalValuePublic, CardPublic
from storage.tables import CanonicalValue, ValuesCard, utcnow

if TYPE_CHECKING:  # `values list` and `values show` load no model library (tests/test_cli_imports.py)
    from langchain_core.embeddings import Embeddings

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


def check_reason(reason: str) -> str:
    """The reason of a facilitator's action, whitespace collapsed; an empty one is :class:`InvalidInput`."""
    reason = " ".join(check_text(reason, what="The reason", limit=MAX_REASON).split())
    if not reason:
        raise InvalidInput("Give a reason: it is written to the moderation log.")
    return reason


def _merge_targets(
    session: Any, deliberation_id: int, keep_id: int, merge_ids: Sequence[int], *, lock: bool
) -> tuple[list[int], tuple[int, ...]]:
    """The values of ``merge_ids`` to merge now, and those an earlier merge into ``keep_id`` removed
    already; anything else (unknown, of another deliberation, ``keep_id`` itself) is :class:`InvalidInput`."""
    wanted = list(dict.fromkeys(merge_ids))
    if not wanted:
        raise InvalidInput("Choose at least one value to merge.")
    if keep_id in wanted:
        raise InvalidInput(f"Value {keep_id} cannot be merged into itself.")
    repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
    try:
        keep = repo_values.get_canonical_value(
            session, canonical_id=keep_id, deliberation_id=deliberation_id, lock=lock
        )
    except NotFound as exc:
        raise InvalidInput(str(exc)) from exc
    found = repo_values.canonical_values_by_id(session, ids=wanted, lock=lock)
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
    _same_visibility(keep, [found[i] for i in wanted if i in found])
    return [i for i in wanted if i in found], tuple(i for i in wanted if i not in found)


def _same_visibility(keep: CanonicalValue, merging: Sequence[CanonicalValue]) -> None:
    """A merge keeps ``keep``'s hidden flag for everything: merging a hidden value into a visible one would
    show its cards again, a visible one into a hidden one hide them, so a mixed merge is refused."""
    other = [v.id for v in merging if v.hidden != keep.hidden]
    if other:
        names = ", ".join(map(str, other))
        hidden, shown = (keep.id, names) if keep.hidden else (names, keep.id)
        raise InvalidInput(
            f"Value {hidden} is hidden and value {shown} is not: merging them would "
            f"{'hide' if keep.hidden else 'show'} what the merged values hold. Show the hidden value "
            "again (or hide the other) first, then merge."
        )


@dataclass(frozen=True)
class ValueCounts:
    """A value with what is attached to it: member cards, votes, upgrade stories and judgements from or
    to it."""

    value_id: int
    title: str
    hidden: bool
    cards: int
    votes: int
    stories: int
    judgements: int


def _value_counts(session: Any, ids: Sequence[int]) -> dict[int, ValueCounts]:
    rows = repo_values.canonical_values_by_id(session, ids=ids)
    members = repo_values.member_cards(session, canonical_ids=list(rows))
    votes = repo_values.vote_counts(session, canonical_ids=list(rows))
    stories = repo_judgements.stories_per_value(session, value_ids=list(rows))
    judgements = repo_judgements.judgements_per_value(session, value_ids=list(rows))
    return {
        i: ValueCounts(i, v.title, v.hidden, len(members[i]), votes[i], stories[i], judgements[i])
        for i, v in rows.items()
    }


@dataclass(frozen=True)
class MergePreview:
    """What :func:`merge` would do, before it is confirmed: the values as they stand, and the counts the
    merge would report (``cards_moved``, ``votes_dropped``...: ``storage.repo_merge.MergeOutcome.counts``).
    """

    keep: ValueCounts
    merging: tuple[ValueCounts, ...]
    already_merged: tuple[int, ...]
    counts: dict[str, int]

    @property
    def already_done(self) -> bool:
        return not self.merging


def preview_merge(
    engine: Engine, *, deliberation_id: int, keep_id: int, merge_ids: Sequence[int]
) -> MergePreview:
    """What merging ``merge_ids`` into ``keep_id`` would move and drop, changing nothing (the same checks
    as :func:`merge`)."""
    with session_scope(engine) as session:
        merging, already = _merge_targets(session, deliberation_id, keep_id, merge_ids, lock=False)
        counts = _value_counts(session, [keep_id, *merging])
        outcome = repo_merge.preview_merge(session, keep_id=keep_id, merge_ids=merging) if merging else None
        return MergePreview(
            keep=counts[keep_id],
            merging=tuple(counts[i] for i in merging),
            already_merged=already,
            counts=outcome.counts() if outcome is not None else {},
        )


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
    reason = check_reason(reason)
    with session_scope(engine) as session:
        merging, already = _merge_targets(session, deliberation_id, keep_id, merge_ids, lock=True)
        if not merging:
            return MergeSummary(keep_id, (), already, {}, None)
        outcome = repo_merge.merge_canonical_values(session, keep_id=keep_id, merge_ids=merging)
        event = audit.record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="merge_values",
            target_type="canonical_value",
            target_id=keep_id,
            reason=reason,
            details={"merged": merging, "counts": outcome.counts(), "removed": outcome.dropped},
        )
        return MergeSummary(keep_id, tuple(merging), already, outcome.counts(), event.id)


@dataclass(frozen=True)
class SplitSummary:
    canonical_id: int
    new_canonical_id: int
    card_ids: tuple[int, ...]
    event_id: int
    already_done: bool = False


def _split_title(title: str | None) -> str | None:
    if title is None:
        return None
    title = " ".join(check_text(title, what="The title").split())
    if not 1 <= len(title) <= 200:
        raise InvalidInput("A value's title has 1 to 200 characters.")
    return title


def _split_check(
    session: Any, canonical_id: int, chosen: list[int], deliberation_id: int | None, *, lock: bool
) -> tuple[CanonicalValue, list[ValuesCard], SplitSummary | None]:
    """The value and its member cards, checked for a split of ``chosen`` (the earlier same split when it was
    done already); anything else inconsistent is :class:`InvalidInput`."""
    if not chosen:
        raise InvalidInput("Choose at least one card to split off.")
    try:
        value = repo_values.get_canonical_value(
            session, canonical_id=canonical_id, deliberation_id=deliberation_id, lock=lock
        )
    except NotFound as exc:
        raise InvalidInput(str(exc)) from exc
    members = repo_values.member_cards(session, canonical_ids=[canonical_id])[canonical_id]
    member_ids = {c.id for c in members}
    outside = [i for i in chosen if i not in member_ids]
    if outside:
        previous = _same_split(session, value.deliberation_id, canonical_id, chosen)
        if previous is not None:
            return value, members, previous
        names = ", ".join(map(str, outside))
        raise InvalidInput(f"Card(s) {names} are not members of value {canonical_id}.")
    if len(chosen) == len(members):
        raise InvalidInput(
            f"Splitting off every card of value {canonical_id} would leave it empty; choose fewer cards."
        )
    return value, members, None


@dataclass(frozen=True)
class SplitPreview:
    """What :func:`split` would do: the value as it stands, the cards that would move to the new value
    (titled ``title``) and those that stay. Votes, stories and judgements all stay (``value`` counts them).
    ``already_done``: the same split was made before (nothing would change)."""

    value: ValueCounts
    moving: tuple[CardPublic, ...]
    staying: tuple[CardPublic, ...]
    title: str
    already_done: bool = False


def preview_split(
    engine: Engine,
    *,
    canonical_id: int,
    card_ids: Sequence[int],
    title: str | None = None,
    deliberation_id: int | None = None,
) -> SplitPreview:
    """What splitting ``card_ids`` off ``canonical_id`` would move, changing nothing (the checks of
    :func:`split`)."""
    chosen = list(dict.fromkeys(card_ids))
    title = _split_title(title)
    with session_scope(engine) as session:
        value, members, previous = _split_check(session, canonical_id, chosen, deliberation_id, lock=False)
        counts = _value_counts(session, [canonical_id])[canonical_id]
        if previous is not None:
            new = repo_values.get_canonical_value(session, canonical_id=previous.new_canonical_id)
            return SplitPreview(counts, (), tuple(CardPublic.of(c) for c in members), new.title, True)
        by_id = {c.id: c for c in members}
        return SplitPreview(
            value=counts,
            moving=tuple(CardPublic.of(by_id[i]) for i in chosen),
            staying=tuple(CardPublic.of(c) for c in members if c.id not in set(chosen)),
            title=title or by_id[chosen[0]].title,
        )


def split(
    engine: Engine,
    *,
    canonical_id: int,
    card_ids: Sequence[int],
    reason: str,
    title: str | None = None,
    actor: str = "facilitator",
    deliberation_id: int | None = None,
) -> SplitSummary:
    """Move some member cards of ``canonical_id`` (a value of ``deliberation_id`` when given) to a new value
    (text from the first chosen card, titled ``title`` when given) and log a ``split_value`` event. Votes,
    impressions, stories and judgements stay with the original value: they were cast on its text.

    Repeating the same split is a no-op (``already_done``); splitting off all members, cards that are not
    members, or an unknown value is :class:`InvalidInput`.
    """
    reason = check_reason(reason)
    chosen = list(dict.fromkeys(card_ids))
    title = _split_title(title)
    with session_scope(engine) as session:
        value, _members, previous = _split_check(session, canonical_id, chosen, deliberation_id, lock=True)
        if previous is not None:
            return previous
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
                hidden=value.hidden,  # cards split off a hidden value stay hidden
            ),
        )
        assert new.id is not None
        repo_values.link_cards(session, cards=[cards[i] for i in chosen], canonical_id=new.id)
        value.updated_at = utcnow()
        session.add(value)
        event = audit.record(
            session,
            deliberation_id=value.deliberation_id,
            actor=actor,
            action="split_value",
            target_type="canonical_value",
            target_id=canonical_id,
            reason=reason,
            details={"new_value": new.id, "cards": chosen, "title": new.title},
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


# --- likely missed merges ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MissedMerge:
    """Two values that may be one: their ids and titles, and the cosine similarity of their texts."""

    a: int
    a_title: str
    b: int
    b_title: str
    similarity: float


#: The most pairs :func:`missed_merges` lists.
MAX_MISSED = 100


def missed_merges(
    engine: Engine, embeddings: Embeddings, *, deliberation_id: int, top: int = 10
) -> list[MissedMerge]:
    """The ``top`` closest pairs of the deliberation's canonical values by embedding (cosine similarity of
    :func:`interviews.dedup_candidates.embedding_text`), most similar first: merges dedup may have missed.

    Hidden values, and pairs a facilitator split apart, are left out. One embedding call for all values.
    """
    if not 1 <= top <= MAX_MISSED:
        raise InvalidInput(f"Ask for 1 to {MAX_MISSED} pairs (not {top}).")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        by_id = {
            v.id: v
            for v in repo_values.list_canonical_values(session, deliberation_id=deliberation_id)
            if v.id is not None and not v.hidden
        }
        split_apart: list[frozenset[int]] = [
            frozenset((int(e.target_id), int(e.details["new_value"])))
            for e in repo_values.list_moderation_events(
                session, deliberation_id=deliberation_id, action="split_value"
            )
            if e.target_id is not None and isinstance(e.details.get("new_value"), int)
        ]
    if len(by_id) < 2:
        return []
    ids = list(by_id)
    texts = [embedding_text(by_id[i].title, by_id[i].description, by_id[i].policies) for i in ids]
    vectors = embeddings.embed_documents(texts)
    return [
        MissedMerge(p.a, by_id[p.a].title, p.b, by_id[p.b].title, p.similarity)
        for p in closest_pairs(ids, vectors, top=top, exclude=split_apart)
    ]
