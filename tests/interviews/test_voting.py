"""The vote draw as pure rules: least shown and most chosen, unseen first, close to my card; and what a
draw may never be (too long, repeating a value, showing a value that is not a candidate)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interviews.voting import EMBED_LIMIT, choose_values, embedding_pool

SETTINGS = settings(max_examples=200, deadline=None)


def test_half_least_shown_then_most_chosen() -> None:
    impressions = {1: 0, 2: 1, 3: 4, 4: 5, 5: 6, 6: 6, 7: 7, 8: 8}
    votes = {1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 2, 7: 3, 8: 5}
    assert set(choose_values(range(1, 9), n=4, impressions=impressions, votes=votes)) == {1, 2, 7, 8}
    # 5 slots: 3 least shown, 2 most chosen
    assert set(choose_values(range(1, 9), n=5, impressions=impressions, votes=votes)) == {1, 2, 3, 7, 8}


def test_without_votes_the_least_shown_fill_the_draw_newest_first() -> None:
    impressions = dict.fromkeys(range(1, 8), 1) | {1: 2, 8: 0}
    picked = choose_values(range(1, 9), n=4, impressions=impressions, votes={})
    assert picked == [8, 7, 6, 5]


def test_values_already_seen_come_after_all_the_others() -> None:
    votes = {1: 9, 2: 9}
    assert choose_values([1, 2, 3, 4], n=2, impressions={}, votes=votes, seen={1, 2}) == [4, 3]
    assert choose_values([1, 2, 3, 4], n=3, impressions={}, votes=votes, seen={1, 2, 3}) == [4, 3, 2]
    # ... and among the seen ones the same mix: 3 least shown (newest), 2 most chosen


def test_closeness_narrows_the_pool_to_twice_the_slots() -> None:
    distance = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.9, 6: 1.0, 7: 1.1}
    impressions = {1: 1, 2: 2, 3: 3, 4: 4, 5: 0, 6: 1, 7: 6}
    votes = {4: 2, 3: 1, 6: 5}
    # Without closeness: 5 (never shown) and 6 (most chosen); with it only 1-4 are drawn from.
    assert choose_values(range(1, 8), n=2, impressions=impressions, votes=votes) == [5, 6]
    assert choose_values(range(1, 8), n=2, impressions=impressions, votes=votes, distance=distance) == [1, 4]
    # A value without a distance counts as the farthest; fewer candidates than slots: no narrowing.
    assert 7 not in choose_values(range(1, 8), n=1, impressions={7: 0}, votes={}, distance={1: 1.5, 2: 1.9})
    assert sorted(choose_values([1, 2], n=2, impressions={}, votes={}, distance={1: 0.1})) == [1, 2]


def test_duplicate_candidates_count_once() -> None:
    assert choose_values([3, 3, 2, 3], n=3, impressions={}, votes={}) == [3, 2]


def test_the_embedding_pool_keeps_least_shown_and_most_chosen() -> None:
    few = list(range(1, EMBED_LIMIT + 1))
    assert embedding_pool(few, impressions={}, votes={}) == few
    many = list(range(1, 11))
    impressions = {v: v for v in many}  # 1 least shown ... 10 most
    votes = {10: 5, 9: 4, 1: 1}
    pool = embedding_pool(many, impressions=impressions, votes=votes, seen={1, 2}, limit=4)
    assert pool == [3, 4, 10, 9]  # unseen least shown first, then the most chosen
    assert embedding_pool(many, impressions=impressions, votes=votes, limit=4) == [1, 2, 10, 9]
    assert embedding_pool(many, impressions=impressions, votes={1: 3, 2: 2}, limit=4) == [1, 2]


ids = st.integers(min_value=1, max_value=30)
counts = st.dictionaries(ids, st.integers(min_value=0, max_value=5))


@given(
    st.lists(ids, max_size=25),
    st.integers(min_value=0, max_value=12),
    counts,
    counts,
    st.sets(ids),
    st.none() | st.dictionaries(ids, st.floats(min_value=0, max_value=2)),
)
@SETTINGS
def test_a_draw_fills_what_it_can_with_distinct_candidates_unseen_first(
    candidates: list[int],
    n: int,
    impressions: dict[int, int],
    votes: dict[int, int],
    seen: set[int],
    distance: dict[int, float] | None,
) -> None:
    picked = choose_values(
        candidates, n=n, impressions=impressions, votes=votes, seen=seen, distance=distance
    )
    assert len(picked) == len(set(picked)) == min(n, len(set(candidates)))
    assert set(picked) <= set(candidates)
    if distance is None and any(v in seen for v in picked):
        assert set(candidates) - seen <= set(picked)  # a seen value only once every unseen one is in
    flags = [v in seen for v in picked]
    assert flags == sorted(flags)  # unseen before seen


@given(st.lists(ids, unique=True, max_size=30), counts, counts, st.sets(ids), st.integers(2, 12))
@SETTINGS
def test_the_embedding_pool_is_a_bounded_subset(
    candidates: list[int], impressions: dict[int, int], votes: dict[int, int], seen: set[int], limit: int
) -> None:
    pool = embedding_pool(candidates, impressions=impressions, votes=votes, seen=seen, limit=limit)
    assert len(pool) == len(set(pool)) and set(pool) <= set(candidates)
    assert pool == candidates if len(candidates) <= limit else len(pool) <= limit
