"""Dedup candidates: embedding groups (fast and reference agree), nearest values, batch packing."""

from __future__ import annotations

import numpy as np
import pytest

from interviews import dedup_candidates
from interviews.dedup_candidates import (
    DedupError,
    candidate_groups,
    candidate_groups_reference,
    nearest_canonicals,
    pack_batches,
)


def test_groups_are_connected_components_within_the_threshold() -> None:
    # a~b and b~c are within 0.1 but a~c is not: a chain still forms one group.
    angle = np.deg2rad(20)
    vectors = [[1, 0], [np.cos(angle), np.sin(angle)], [np.cos(2 * angle), np.sin(2 * angle)], [0, 1]]
    assert candidate_groups(vectors, ["a", "b", "c", "d"], max_distance=0.1) == [["a", "b", "c"], ["d"]]
    assert candidate_groups(vectors, ["a", "b", "c", "d"], max_distance=0.01) == [["a"], ["b"], ["c"], ["d"]]
    assert candidate_groups(vectors, ["a", "b", "c", "d"], max_distance=1.0) == [["a", "b", "c", "d"]]


def test_groups_keep_input_order_and_ignore_zero_vectors() -> None:
    vectors = [[0, 1], [0, 0], [1, 0], [0, 2], [1, 0.01]]
    assert candidate_groups(vectors, [5, 4, 3, 2, 1]) == [[5, 2], [4], [3, 1]]
    assert candidate_groups(np.zeros((0, 3)), []) == []


@pytest.mark.parametrize("max_distance", [0.0, 0.05, 0.1, 0.3, 0.8])
def test_the_fast_grouping_equals_the_obvious_one(
    monkeypatch: pytest.MonkeyPatch, max_distance: float
) -> None:
    monkeypatch.setattr(dedup_candidates, "_ROW_BLOCK", 7)  # several row blocks, so block edges are exercised
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 8))
    vectors = centres[rng.integers(0, 6, size=60)] + rng.normal(scale=0.2, size=(60, 8))
    vectors[10] = vectors[3]  # exact duplicates link at distance 0
    ids = list(rng.permutation(1000)[:60])
    fast = candidate_groups(vectors, ids, max_distance=max_distance)
    assert fast == candidate_groups_reference(vectors, ids, max_distance=max_distance)
    assert sorted(i for g in fast for i in g) == sorted(ids)


def test_bad_candidate_input_is_refused() -> None:
    with pytest.raises(DedupError, match="2 vectors for 3 ids"):
        candidate_groups([[1, 0], [0, 1]], [1, 2, 3])
    with pytest.raises(DedupError, match="duplicate ids"):
        candidate_groups([[1, 0], [0, 1]], [1, 1])
    with pytest.raises(DedupError, match="2-d"):
        candidate_groups([1, 0], [1, 2])


def test_nearest_canonicals_are_the_closest_within_reach() -> None:
    cards = [[1, 0], [0, 1], [-1, -1]]
    canon = [[1, 0.2], [1, 0.05], [0, 1], [0.2, 1]]
    assert nearest_canonicals(cards, canon, [10, 11, 12, 13], k=2, max_distance=0.5) == [
        [11, 10],
        [12, 13],
        [],
    ]
    assert nearest_canonicals(cards, np.zeros((0, 2)), []) == [[], [], []]


def test_batches_keep_candidate_groups_together() -> None:
    assert pack_batches([[1], [2, 3], [4], [5, 6, 7]], 3) == [[1, 2, 3], [4], [5, 6, 7]]
    assert pack_batches([[1, 2, 3, 4, 5]], 2) == [[1, 2], [3, 4], [5]]
    assert pack_batches([], 5) == []
    with pytest.raises(DedupError):
        pack_batches([[1]], 0)


# --- validation -----------------------------------------------------------------------------------


def test_a_bad_partition_is_a_dedup_error() -> None:
    from interviews import dedup

    assert issubclass(dedup.PartitionError, DedupError)
