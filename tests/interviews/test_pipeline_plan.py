"""The continuous pipeline's planning rules: a value's new pairs and what a pair still costs."""

from __future__ import annotations

import pytest

from interviews.pipeline import pair_cost, pair_key, plan_new_pairs


def test_a_new_value_pairs_with_every_other_value_of_its_contexts_up_to_its_share() -> None:
    by_context = {1: [10, 11, 12, 13], 2: [10, 13]}
    assert plan_new_pairs(by_context, value=13, covered=set(), per_value=10) == [
        (12, 13, 1),  # partners first (each once), contexts taking turns, then the newest first
        (10, 13, 2),
        (11, 13, 1),
        (10, 13, 1),  # then a partner again, in another context
    ]
    assert plan_new_pairs(by_context, value=13, covered=set(), per_value=2) == [(12, 13, 1), (10, 13, 2)]


def test_covered_pairs_are_never_planned_and_count_towards_the_share() -> None:
    by_context = {1: [10, 11, 12]}
    covered = {(10, 12, 1)}
    assert plan_new_pairs(by_context, value=12, covered=covered, per_value=2) == [(11, 12, 1)]
    assert plan_new_pairs(by_context, value=12, covered=covered | {(11, 12, 1)}, per_value=5) == []
    assert plan_new_pairs(by_context, value=12, covered=covered, per_value=1) == []  # its share is used


def test_partners_with_the_fewest_pairs_come_first() -> None:
    by_context = {1: [1, 2, 3, 4]}
    covered = {(1, 2, 1), (1, 3, 1)}  # value 1 is in two pairs, 2 and 3 in one each, 4 in none
    assert plan_new_pairs(by_context, value=4, covered=covered, per_value=2) == [(3, 4, 1), (2, 4, 1)]


def test_on_a_tie_the_newest_value_comes_first_so_consecutive_participants_meet() -> None:
    # Three seeds, each in two pairs; the first participant's value 4 pairs with all three. The second
    # participant's value 5 must then meet value 4 (all are tied at three pairs), or nobody would ever
    # judge a story about the value that joined just before theirs.
    seeds = {(1, 2, 1), (2, 3, 2), (1, 3, 3), (1, 2, 2), (2, 3, 3), (1, 3, 1)}
    before = {c: [1, 2, 3, 4] for c in (1, 2, 3)}
    first = plan_new_pairs(before, value=4, covered=seeds, per_value=3)
    after = {c: [1, 2, 3, 4, 5] for c in (1, 2, 3)}
    second = plan_new_pairs(after, value=5, covered=seeds | set(first), per_value=3)
    assert {p[0] for p in first} == {1, 2, 3}
    assert second[0][:2] == (4, 5)


def test_the_plan_is_deterministic_and_ignores_duplicates() -> None:
    by_context = {5: [3, 1, 2, 3], 4: [2, 3]}
    plans = {tuple(plan_new_pairs(by_context, value=3, covered=set(), per_value=3)) for _ in range(5)}
    assert plans == {((2, 3, 4), (1, 3, 5), (2, 3, 5))}  # the newest partner first, then contexts in turn


@pytest.mark.parametrize(
    ("written", "judged", "cost"), [(0, 0, 4), (1, 0, 3), (1, 1, 2), (2, 0, 2), (2, 1, 1), (2, 2, 0)]
)
def test_a_pair_costs_two_calls_per_story_to_write_and_one_per_story_to_judge(
    written: int, judged: int, cost: int
) -> None:
    assert pair_cost(written=written, judged=judged) == cost


def test_a_pair_key_is_unordered() -> None:
    assert pair_key(3, 1, 7) == pair_key(1, 3, 7) == (1, 3, 7)
