"""Merging canonical values as a pure plan: what moves, what is dropped, what loses its story. No I/O.

Folding the values ``merge_ids`` into ``keep_id`` points everything attached to them at ``keep_id``. Two rows
whose unique key then coincides would break a unique constraint, so one row of each collision stays and the
others are dropped, each with the id of the row it collided with:

=========== ========================== ========================================================
rows        key once merged            row that stays
=========== ========================== ========================================================
votes       (participant, question)    the one already on ``keep_id``, else the lowest id
impressions (participant, draw)        the one already on ``keep_id``, else the lowest id
stories     (from, to, context, run)   the one touching no merged value, else the lowest id
judgements  (participant, story)       the one already on the surviving story, else the lowest id
=========== ========================== ========================================================

Cards have no unique key: every card of a merged value moves. A story between two values that are now one
(a self-loop) is dropped without a survivor; its judgements stay, detached (no story, ``from == to``: the
graph skips them as self-loops). The judgements of a story dropped by a collision move onto the story that
stayed. Rows attached to none of the values involved are ignored, so :func:`plan_merge` may be given more
rows than a merge touches. The rows are expected as the database holds them (its unique constraints and
``from <> to`` on stories hold); merging again what was merged before plans nothing.

:func:`plan_merge` only decides; ``storage.repo_merge.merge_canonical_values`` loads the rows, calls it and
applies the plan.

Examples
--------
Value 2 folds into value 1; participant 7 voted for both on question 3, so the vote on the kept value stays:

>>> rows = MergeRows(
...     values=(1, 2),
...     cards=(CardRow(id=10, value_id=2),),
...     votes=(VoteRow(id=20, participant_id=7, value_id=2, question_id=3),
...            VoteRow(id=21, participant_id=7, value_id=1, question_id=3)),
... )
>>> plan = plan_merge(rows, keep_id=1, merge_ids=[2])
>>> plan.cards_moved, plan.votes_moved, plan.votes_dropped, plan.values_deleted
((10,), (), (Collision(id=20, kept_id=21),), (2,))
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

# --- the rows a merge touches (only the columns the rules read) ---------------------------------------


@dataclass(frozen=True)
class CardRow:
    """A values card (``ValuesCard``): ``value_id`` is its canonical value, ``None`` before dedup."""

    id: int
    value_id: int | None


@dataclass(frozen=True)
class VoteRow:
    """A vote (``Vote``); unique per (participant, value, question)."""

    id: int
    participant_id: int
    value_id: int
    question_id: int


@dataclass(frozen=True)
class ImpressionRow:
    """A value shown in a draw (``Impression``); unique per (participant, value, draw)."""

    id: int
    participant_id: int
    value_id: int
    draw_id: str


@dataclass(frozen=True)
class StoryRow:
    """An upgrade story (``EdgeHypothesis``); unique per (from, to, context, run), and ``from != to``."""

    id: int
    from_value_id: int
    to_value_id: int
    context_id: int
    run_id: str


@dataclass(frozen=True)
class JudgementRow:
    """A judgement (``Judgement``) of a story (``hypothesis_id``, ``None`` once detached); unique per
    (participant, story) when it has one. ``from_value_id`` and ``to_value_id`` are its own copies.
    """

    id: int
    participant_id: int
    hypothesis_id: int | None
    from_value_id: int
    to_value_id: int


@dataclass(frozen=True)
class MergeRows:
    """The rows a merge may touch; ``values`` are the ids of the canonical values that exist."""

    values: tuple[int, ...] = ()
    cards: tuple[CardRow, ...] = ()
    votes: tuple[VoteRow, ...] = ()
    impressions: tuple[ImpressionRow, ...] = ()
    stories: tuple[StoryRow, ...] = ()
    judgements: tuple[JudgementRow, ...] = ()


# --- the plan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collision:
    """Row ``id`` is dropped: once merged it has the unique key of row ``kept_id``, which stays."""

    id: int
    kept_id: int


@dataclass(frozen=True)
class StoryDrop:
    """Story ``id`` is dropped: it collided with story ``kept_id``, or it became a self-loop (``None``)."""

    id: int
    kept_id: int | None


@dataclass(frozen=True)
class StoryMove:
    """Story ``id`` gets these endpoints."""

    id: int
    from_value_id: int
    to_value_id: int


@dataclass(frozen=True)
class JudgementMove:
    """Judgement ``id`` gets this story (``None``: detached) and these endpoints."""

    id: int
    hypothesis_id: int | None
    from_value_id: int
    to_value_id: int


@dataclass(frozen=True)
class MergePlan:
    """What folding some values into ``keep_id`` changes; empty tuples when it changes nothing.

    Cards, votes and impressions in ``*_moved`` get ``keep_id`` as their value. ``judgements_detached``
    lose a story that became a self-loop; ``judgements_moved`` are every other judgement that changes
    (another story, or endpoints on ``keep_id``). ``values_deleted`` are the merged values that exist.
    Cards and values are in id order; the other tuples in the order the rules decided them (the rows that
    win a collision first, then by id), which is the order of the snapshots in the moderation log.
    """

    keep_id: int
    values_deleted: tuple[int, ...] = ()
    cards_moved: tuple[int, ...] = ()
    votes_moved: tuple[int, ...] = ()
    votes_dropped: tuple[Collision, ...] = ()
    impressions_moved: tuple[int, ...] = ()
    impressions_dropped: tuple[Collision, ...] = ()
    stories_moved: tuple[StoryMove, ...] = ()
    stories_dropped: tuple[StoryDrop, ...] = ()
    judgements_moved: tuple[JudgementMove, ...] = ()
    judgements_detached: tuple[JudgementMove, ...] = ()
    judgements_dropped: tuple[Collision, ...] = ()


def _keep_one(
    entries: Iterable[tuple[int, Hashable, bool]],
) -> tuple[tuple[int, ...], tuple[Collision, ...]]:
    """Of ``(id, key, on_kept_value)`` entries, one per key stays: on the kept value first, else lowest id.

    Returns the ids that stay but are not on the kept value yet (they move), and the collisions.

    >>> _keep_one([(5, "a", False), (4, "a", False), (9, "a", True), (6, "b", False)])
    ((6,), (Collision(id=4, kept_id=9), Collision(id=5, kept_id=9)))

    (9 is on the kept value so it stays; 4 and 5 collide with it; 6 is alone and moves.)
    """
    winner: dict[Hashable, int] = {}
    moved: list[int] = []
    dropped: list[Collision] = []
    for row_id, key, on_kept in sorted(entries, key=lambda entry: (not entry[2], entry[0])):
        if key in winner:
            dropped.append(Collision(row_id, winner[key]))
        else:
            winner[key] = row_id
            if not on_kept:
                moved.append(row_id)
    return tuple(moved), tuple(dropped)


def plan_merge(rows: MergeRows, *, keep_id: int, merge_ids: Iterable[int]) -> MergePlan:
    """Plan folding the values ``merge_ids`` into ``keep_id`` (the rules are in the module docstring).

    Parameters
    ----------
    rows : MergeRows
        At least every row attached to ``keep_id`` or to one of ``merge_ids``, with the judgements of their
        stories; other rows are ignored.
    keep_id : int
        The value that stays.
    merge_ids : iterable of int
        The values folded into it; ``keep_id`` among them is ignored, and none (or only ``keep_id``) plans
        nothing.

    Returns
    -------
    MergePlan
        The new foreign keys of the rows that move, the rows dropped (with the row each collided with), the
        judgements detached and the values deleted.

    Examples
    --------
    Stories 1→3 and 2→3 become the same story when 2 folds into 1, and 1→2 becomes a self-loop. Participant
    8 judged both 1→3 and 2→3 (one judgement goes); participant 9's judgement of 2→3 moves onto 1→3; the
    judgement of 1→2 is detached.

    >>> rows = MergeRows(
    ...     values=(1, 2, 3),
    ...     stories=(StoryRow(30, 1, 3, 1, "r"), StoryRow(31, 2, 3, 1, "r"), StoryRow(32, 1, 2, 1, "r")),
    ...     judgements=(JudgementRow(40, 8, 30, 1, 3), JudgementRow(41, 8, 31, 2, 3),
    ...                 JudgementRow(42, 9, 31, 2, 3), JudgementRow(43, 9, 32, 1, 2)),
    ... )
    >>> plan = plan_merge(rows, keep_id=1, merge_ids=[2])
    >>> plan.stories_moved, plan.stories_dropped
    ((), (StoryDrop(id=31, kept_id=30), StoryDrop(id=32, kept_id=None)))
    >>> plan.judgements_dropped
    (Collision(id=41, kept_id=40),)
    >>> plan.judgements_moved
    (JudgementMove(id=42, hypothesis_id=30, from_value_id=1, to_value_id=3),)
    >>> plan.judgements_detached
    (JudgementMove(id=43, hypothesis_id=None, from_value_id=1, to_value_id=1),)
    >>> plan_merge(rows, keep_id=1, merge_ids=[1]) == MergePlan(keep_id=1)
    True
    """
    merging = frozenset(merge_ids) - {keep_id}
    every = merging | {keep_id}

    def remap(value_id: int) -> int:
        return keep_id if value_id in merging else value_id

    cards_moved = tuple(sorted(card.id for card in rows.cards if card.value_id in merging))
    votes_moved, votes_dropped = _keep_one(
        (vote.id, (vote.participant_id, vote.question_id), vote.value_id == keep_id)
        for vote in rows.votes
        if vote.value_id in every
    )
    impressions_moved, impressions_dropped = _keep_one(
        (shown.id, (shown.participant_id, shown.draw_id), shown.value_id == keep_id)
        for shown in rows.impressions
        if shown.value_id in every
    )

    # Stories: a self-loop is dropped outright; otherwise one per key stays (touching no merged value first).
    stories = sorted(
        (s for s in rows.stories if s.from_value_id in every or s.to_value_id in every),
        key=lambda s: (s.from_value_id in merging or s.to_value_id in merging, s.id),
    )
    survivor: dict[tuple[int, int, int, str], int] = {}
    stories_moved: list[StoryMove] = []
    stories_dropped: list[StoryDrop] = []
    redirect: dict[int, int | None] = {}  # dropped story -> the story that stayed (None: detach)
    for story in stories:
        new_from, new_to = remap(story.from_value_id), remap(story.to_value_id)
        key = (new_from, new_to, story.context_id, story.run_id)
        if new_from == new_to:
            redirect[story.id] = None
        elif key in survivor:
            redirect[story.id] = survivor[key]
        else:
            survivor[key] = story.id
            if (new_from, new_to) != (story.from_value_id, story.to_value_id):
                stories_moved.append(StoryMove(story.id, new_from, new_to))
            continue
        stories_dropped.append(StoryDrop(story.id, redirect[story.id]))

    # Judgements follow their story; one per (participant, story) stays (those already on it first).
    story_ids = {story.id for story in stories}
    judgements = sorted(
        (
            j
            for j in rows.judgements
            if j.hypothesis_id in story_ids or j.from_value_id in merging or j.to_value_id in merging
        ),
        key=lambda j: (j.hypothesis_id in redirect, j.id),
    )
    kept_judgement: dict[tuple[int, int], int] = {}
    judgements_moved: list[JudgementMove] = []
    judgements_detached: list[JudgementMove] = []
    judgements_dropped: list[Collision] = []
    for judgement in judgements:
        story_id = judgement.hypothesis_id
        target = redirect.get(story_id, story_id) if story_id is not None else None
        if target is not None:
            judged = (judgement.participant_id, target)
            if judged in kept_judgement:
                judgements_dropped.append(Collision(judgement.id, kept_judgement[judged]))
                continue
            kept_judgement[judged] = judgement.id
        new_from, new_to = remap(judgement.from_value_id), remap(judgement.to_value_id)
        if (target, new_from, new_to) == (story_id, judgement.from_value_id, judgement.to_value_id):
            continue
        move = JudgementMove(judgement.id, target, new_from, new_to)
        (judgements_detached if target is None and story_id is not None else judgements_moved).append(move)

    return MergePlan(
        keep_id=keep_id,
        values_deleted=tuple(sorted(merging.intersection(rows.values))),
        cards_moved=cards_moved,
        votes_moved=votes_moved,
        votes_dropped=votes_dropped,
        impressions_moved=impressions_moved,
        impressions_dropped=impressions_dropped,
        stories_moved=tuple(stories_moved),
        stories_dropped=tuple(stories_dropped),
        judgements_moved=tuple(judgements_moved),
        judgements_detached=tuple(judgements_detached),
        judgements_dropped=tuple(judgements_dropped),
    )
