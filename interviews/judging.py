"""The judging set as pure rules: which upgrade stories a participant is asked about (DOMAIN.md §3 step 6).

A story is known here by its id and its (from, to, context) :data:`Triple`; anything with those four
attributes will do (the storage layer's story keys, its tables, or :class:`StoryRef`). The service reads
the shown stories, the person's judgements, the counts, their own values and their questions' contexts,
and builds the page from what these functions keep.

- Rounds of ``n`` (:func:`round_size`): with ``0 < k`` judgements of stories still shown, the current round
  holds the last ``k - (k - 1) // n * n`` (:func:`split_round`), so a full round stays on screen with its
  answers; the other ``n - len(current)`` slots are open.
- The open slots take stories never judged by the person (by triple, across runs: the latest run of each
  triple, :func:`open_stories`), ranked (:func:`rank_stories`): stories involving their own canonical
  values, then stories in contexts of their questions, then the rest; within a tier the fewest judgements
  first, then a per-person hash (:func:`tiebreak`, so people with equal counts get different stories),
  then the story id.
- A story and its reverse (B→A in the same context) are in one set only when nothing else is left
  (:func:`fill_slots`).

Examples
--------
>>> shown = [StoryRef(1, 10, 11, 5), StoryRef(2, 11, 10, 5), StoryRef(3, 12, 13, 6)]
>>> picked = pick_stories(open_stories(shown, judged=set()), free=2, participant_id=7,
...                       own_values={10}, own_contexts=set(), counts={})
>>> [s.id for s in picked]  # one of 1 / 2 (both touch value 10), never both while 3 is left
[2, 3]
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

#: A story's (from value, to value, context): what a person judges once, whichever run wrote the story.
Triple = tuple[int, int, int]
#: At most this many stories in one round, whatever the deliberation asks for.
MAX_ROUND = 10


class HasTriple(Protocol):
    """A story or a judgement of one: its (from, to, context)."""

    @property
    def from_value_id(self) -> int: ...
    @property
    def to_value_id(self) -> int: ...
    @property
    def context_id(self) -> int: ...


class StoryKey(HasTriple, Protocol):
    """A story without its text: its id and its (from, to, context)."""

    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class StoryRef:
    """A plain :class:`StoryKey` (for examples and tests; the service passes the storage layer's)."""

    id: int
    from_value_id: int
    to_value_id: int
    context_id: int


Story = TypeVar("Story", bound=StoryKey)
Item = TypeVar("Item")


def triple(story: HasTriple) -> Triple:
    """The story's (from, to, context).

    >>> triple(StoryRef(id=1, from_value_id=2, to_value_id=3, context_id=4))
    (2, 3, 4)
    """
    return (story.from_value_id, story.to_value_id, story.context_id)


def reverse(key: Triple) -> Triple:
    """The same two values the other way round, in the same context.

    >>> reverse((2, 3, 4))
    (3, 2, 4)
    """
    return (key[1], key[0], key[2])


def tiebreak(participant_id: int, key: Triple) -> int:
    """A stable per-person pseudo-random rank of a triple (so equal counts do not give everyone the same
    stories).

    >>> tiebreak(1, (2, 3, 4)) == tiebreak(1, (2, 3, 4)) != tiebreak(2, (2, 3, 4))
    True
    """
    digest = hashlib.blake2b(f"{participant_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def round_size(stories_to_judge: int) -> int:
    """The stories of one round: the deliberation's ``stories_to_judge`` within ``1..MAX_ROUND``.

    >>> round_size(3), round_size(0), round_size(50)
    (3, 1, 10)
    """
    return min(max(stories_to_judge, 1), MAX_ROUND)


def split_round(answered: Sequence[Item], n: int) -> tuple[list[Item], list[Item]]:
    """The person's judgements of stories still shown (oldest first) as ``(earlier rounds, current round)``.

    The current round starts at ``(k - 1) // n * n`` for ``k > 0`` judgements: a full round stays current
    until one more judgement opens the next.

    >>> split_round([], 3)
    ([], [])
    >>> split_round(["a", "b", "c"], 3)
    ([], ['a', 'b', 'c'])
    >>> split_round(["a", "b", "c", "d"], 3)
    (['a', 'b', 'c'], ['d'])
    """
    start = (len(answered) - 1) // n * n if answered else 0
    return list(answered[:start]), list(answered[start:])


def open_stories(shown: Iterable[Story], judged: Collection[Triple]) -> list[Story]:
    """The latest story of each triple (``shown`` in id order: a later run replaces an earlier one), less the
    triples the person judged.

    >>> open_stories([StoryRef(1, 2, 3, 4), StoryRef(2, 5, 6, 4), StoryRef(3, 2, 3, 4)], judged={(5, 6, 4)})
    [StoryRef(id=3, from_value_id=2, to_value_id=3, context_id=4)]
    """
    latest: dict[Triple, Story] = {}
    for story in shown:
        latest[triple(story)] = story
    return [story for key, story in latest.items() if key not in judged]


def rank_stories(
    candidates: Iterable[Story],
    *,
    participant_id: int,
    own_values: Collection[int],
    own_contexts: Collection[int],
    counts: Mapping[Triple, int],
) -> list[Story]:
    """The candidates best first: tier (0: touches one of ``own_values``, 1: in one of ``own_contexts``,
    2: the rest), then fewest ``counts`` (judgements per triple, missing = 0), then :func:`tiebreak`, then id.

    Parameters
    ----------
    candidates : iterable of StoryKey
        Stories the person may be asked about.
    participant_id : int
        Seeds the tiebreak.
    own_values : collection of int
        The canonical values the person's cards joined.
    own_contexts : collection of int
        The contexts of the questions the person answered.
    counts : mapping of Triple to int
        Judgements per triple (frozen at the person's last step before judging, by the service).

    Returns
    -------
    list of StoryKey

    Examples
    --------
    >>> stories = [StoryRef(1, 20, 21, 5), StoryRef(2, 22, 23, 6), StoryRef(3, 10, 24, 7)]
    >>> ranked = rank_stories(stories, participant_id=1, own_values={10}, own_contexts={6},
    ...                       counts={(20, 21, 5): 0})
    >>> [s.id for s in ranked]
    [3, 2, 1]
    """

    def rank(story: Story) -> tuple[int, int, int, int]:
        key = triple(story)
        values = {story.from_value_id, story.to_value_id}
        tier = 0 if any(v in own_values for v in values) else 1 if story.context_id in own_contexts else 2
        return (tier, counts.get(key, 0), tiebreak(participant_id, key), story.id)

    return sorted(candidates, key=rank)


def fill_slots(ranked: Sequence[Story], *, free: int, taken: Iterable[Triple] = ()) -> list[Story]:
    """Up to ``free`` of ``ranked``, in order, skipping a story whose reverse is ``taken`` (already in the
    set) or picked before it; the skipped ones fill what is left only when nothing else is.

    >>> a_b, b_a, b_c = StoryRef(1, 1, 2, 9), StoryRef(2, 2, 1, 9), StoryRef(3, 2, 3, 9)
    >>> [s.id for s in fill_slots([a_b, b_a, b_c], free=2)]
    [1, 3]
    >>> [s.id for s in fill_slots([a_b, b_a], free=2)]
    [1, 2]
    >>> [s.id for s in fill_slots([b_a, b_c], free=2, taken=[(1, 2, 9)])]
    [3, 2]
    """
    in_set = set(taken)
    fill: list[Story] = []
    for story in ranked:
        if len(fill) == free:
            break
        if reverse(triple(story)) not in in_set:
            fill.append(story)
            in_set.add(triple(story))
    picked = {story.id for story in fill}
    return fill + [story for story in ranked if story.id not in picked][: max(free - len(fill), 0)]


def pick_stories(
    candidates: Iterable[Story],
    *,
    free: int,
    participant_id: int,
    own_values: Collection[int],
    own_contexts: Collection[int],
    counts: Mapping[Triple, int],
    taken: Iterable[Triple] = (),
) -> list[Story]:
    """The stories for the ``free`` open slots: :func:`rank_stories`, then :func:`fill_slots` (``taken``:
    the triples of the current round's answered stories).

    >>> stories = [StoryRef(1, 1, 2, 9), StoryRef(2, 3, 4, 9)]
    >>> [s.id for s in pick_stories(stories, free=1, participant_id=1, own_values={4}, own_contexts=(),
    ...                             counts={})]
    [2]
    """
    ranked = rank_stories(
        candidates,
        participant_id=participant_id,
        own_values=own_values,
        own_contexts=own_contexts,
        counts=counts,
    )
    return fill_slots(ranked, free=free, taken=taken)
