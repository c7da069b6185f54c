"""The vote draw as pure rules: which of the candidate values a participant is shown (DOMAIN.md §3 step 5).

Candidates are the canonical values with a submitted member card on the question, minus the participant's
own (the service reads them). With embeddings and a submitted card of theirs, the pool narrows to the
``2 n`` candidates closest (cosine) to their card; then half of the ``n`` slots (rounded up) go to the least
shown values on the question (fewest impressions, then newest), the rest to the most chosen (most votes),
filled from the least shown when too few have votes; values this person was already shown come only after
all the others. Before embedding, a long candidate list is cut to :data:`EMBED_LIMIT` by
:func:`embedding_pool`. Storing the draw and showing it again is :mod:`services.participant.voting`'s.

Examples
--------
>>> choose_values([1, 2, 3], n=2, impressions={1: 4, 2: 0, 3: 1}, votes={1: 7, 2: 0, 3: 0})
[2, 1]
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

#: At most this many candidates are embedded for one draw (half least shown, half most chosen).
EMBED_LIMIT = 200


def choose_values(
    candidates: Sequence[int],
    *,
    n: int,
    impressions: Mapping[int, int],
    votes: Mapping[int, int],
    seen: Collection[int] = frozenset(),
    distance: Mapping[int, float] | None = None,
) -> list[int]:
    """Pick up to ``n`` of ``candidates`` (see the module notes).

    Parameters
    ----------
    candidates : sequence of int
        Value ids that may be shown (duplicates count once).
    n : int
        How many to show at most.
    impressions, votes : mapping of int to int
        How often each value was shown and chosen on the question (missing ids count 0).
    seen : collection of int
        Values this participant was already shown: they come only after all the others.
    distance : mapping of int to float, optional
        Cosine distance of each value to the participant's card; with it, only the ``2 n`` closest (a
        value without one counts as 2.0, the farthest) are drawn from.

    Returns
    -------
    list of int
        In pick order: each time ``ceil(k / 2)`` least shown (fewest impressions, then newest = highest id),
        then the most chosen among the rest with at least one vote, then more least shown.

    Examples
    --------
    >>> choose_values([1, 2, 3, 4, 5], n=2, impressions={1: 0, 2: 3, 3: 1, 4: 5, 5: 5},
    ...               votes={1: 0, 2: 0, 3: 0, 4: 9, 5: 2})
    [1, 4]
    >>> choose_values([1, 2, 3, 4, 5], n=1, impressions={1: 0, 2: 2, 3: 0, 4: 1, 5: 0},
    ...               votes=dict.fromkeys(range(1, 6), 0), distance={1: .9, 2: .1, 3: .8, 4: .2, 5: .7})
    [4]
    >>> choose_values([1, 2, 3], n=3, impressions={}, votes={}, seen={3})
    [2, 1, 3]
    """
    pool = list(dict.fromkeys(candidates))
    if distance is not None and len(pool) > n:
        pool = sorted(pool, key=lambda v: (distance.get(v, 2.0), v))[: 2 * n]

    def mix(group: list[int], k: int) -> list[int]:
        least = sorted(group, key=lambda v: (impressions.get(v, 0), -v))
        picked = least[: math.ceil(k / 2)]
        rest = [v for v in group if v not in picked and votes.get(v, 0) > 0]
        picked += sorted(rest, key=lambda v: (-votes.get(v, 0), impressions.get(v, 0), -v))[: k - len(picked)]
        return picked + [v for v in least if v not in picked][: k - len(picked)]

    picked = mix([v for v in pool if v not in seen], n)
    return picked + mix([v for v in pool if v in seen], n - len(picked))


def embedding_pool(
    candidates: Sequence[int],
    *,
    impressions: Mapping[int, int],
    votes: Mapping[int, int],
    seen: Collection[int] = frozenset(),
    limit: int = EMBED_LIMIT,
) -> list[int]:
    """The candidates worth embedding: all of them up to ``limit``, else the ``limit // 2`` least shown
    (unseen first, fewest impressions, newest) and the ``limit // 2`` most chosen (then lowest id).

    Examples
    --------
    >>> embedding_pool([1, 2, 3, 4, 5], impressions={1: 0, 2: 1, 3: 2, 4: 3, 5: 4},
    ...                votes={1: 0, 2: 0, 3: 0, 4: 1, 5: 9}, limit=4)
    [1, 2, 5, 4]
    >>> embedding_pool([1, 2], impressions={}, votes={}, limit=4)
    [1, 2]
    """
    if len(candidates) <= limit:
        return list(candidates)
    half = limit // 2
    by_least = sorted(candidates, key=lambda v: (v in seen, impressions.get(v, 0), -v))
    by_most = sorted(candidates, key=lambda v: (-votes.get(v, 0), v))
    return list(dict.fromkeys(by_least[:half] + by_most[:half]))
