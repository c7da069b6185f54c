"""The continuous pipeline's rules, pure: which new pairs of values get upgrade stories after a value joins,
and what a pair costs in model calls (DOMAIN.md §6; the job is :mod:`services.jobs.pipeline`).

A pair is ``(a, b, context)`` with ``a < b`` (:func:`pair_key`); its two stories are written and judged
together. When a value ``v`` joins (a card is linked to it), :func:`plan_new_pairs` pairs it with the other
values of each context it is in, skipping pairs that have a story in any run (``covered``), until ``v`` has
``per_value`` pairs in all. Partners come in this order: those ``v`` has no pair with yet, then those with
the fewest pairs overall, contexts taking turns, then the newest first (so a value that joined just before
meets the next one: the second participant judges a story about the first one's value). A pair
costs up to four calls (:func:`pair_cost`: each missing story is written and judged; a written one only
judged).

Examples
--------
>>> by_context = {7: [1, 2, 3], 8: [1, 3]}
>>> plan_new_pairs(by_context, value=3, covered={(1, 3, 7)}, per_value=3)
[(2, 3, 7), (1, 3, 8)]
>>> pair_cost(written=0, judged=0), pair_cost(written=2, judged=1)
(4, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping

#: ``(a, b, context)`` with ``a < b``.
Pair = tuple[int, int, int]
#: Model calls for one story: write it, then judge it.
CALLS_PER_STORY = 2


def pair_key(a: int, b: int, context: int) -> Pair:
    """The unordered pair of ``a`` and ``b`` in ``context``.

    >>> pair_key(9, 4, 2)
    (4, 9, 2)
    """
    return (a, b, context) if a < b else (b, a, context)


def pairs_per_value(pairs: Iterable[Pair]) -> Counter[int]:
    """How many pairs each value is in.

    >>> sorted(pairs_per_value([(1, 2, 7), (1, 3, 7), (1, 2, 8)]).items())
    [(1, 3), (2, 2), (3, 1)]
    """
    counts: Counter[int] = Counter()
    for a, b, _ in pairs:
        counts[a] += 1
        counts[b] += 1
    return counts


def plan_new_pairs(
    values_by_context: Mapping[int, Iterable[int]],
    *,
    value: int,
    covered: Collection[Pair],
    per_value: int,
) -> list[Pair]:
    """The pairs of ``value`` to write stories for now (see the module notes), at most
    ``per_value`` minus the pairs it is in already; deterministic.

    Parameters
    ----------
    values_by_context : mapping of int to iterable of int
        Each context's values (a value is in the contexts of the questions its cards answered).
    value : int
        The value that joined.
    covered : collection of Pair
        Pairs that have a story in some run already (never planned again).
    per_value : int
        How many pairs a value gets in all.

    Examples
    --------
    >>> plan_new_pairs({7: [1, 2, 3, 4]}, value=4, covered={(1, 2, 7), (1, 3, 7)}, per_value=2)
    [(3, 4, 7), (2, 4, 7)]
    >>> plan_new_pairs({7: [1, 2]}, value=5, covered=set(), per_value=3)  # not in any context
    []
    """
    load = pairs_per_value(covered)
    with_value = Counter(b if a == value else a for a, b, _ in covered if value in (a, b))
    need = per_value - load[value]
    contexts = sorted(c for c, vs in values_by_context.items() if value in set(vs))
    turn = Counter[int]()  # pairs planned per context, so contexts take turns
    candidates = {
        pair_key(value, other, c)
        for c in contexts
        for other in set(values_by_context[c])
        if other != value and pair_key(value, other, c) not in covered
    }
    planned: list[Pair] = []
    while need > 0 and candidates:

        def rank(pair: Pair) -> tuple[int, int, int, int, int]:
            other = pair[1] if pair[0] == value else pair[0]
            return (with_value[other], load[other], turn[pair[2]], -other, pair[2])

        best = min(candidates, key=rank)
        candidates.discard(best)
        other = best[1] if best[0] == value else best[0]
        planned.append(best)
        with_value[other] += 1
        load[other] += 1
        turn[best[2]] += 1
        need -= 1
    return planned


def pair_cost(*, written: int, judged: int) -> int:
    """The model calls a pair still needs: two per story not written yet, one per written story not judged.

    ``written`` and ``judged`` count its two stories (0-2 each; a judged story is a written one).
    """
    return CALLS_PER_STORY * (2 - written) + (written - judged)
