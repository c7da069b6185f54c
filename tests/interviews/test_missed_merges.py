"""The likely missed merges: every pair ranked by cosine similarity, checked against a brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from interviews import missed_merges
from interviews.dedup_candidates import DedupError
from interviews.missed_merges import ClosePair, closest_pairs


def brute_force(ids: list[int], vectors: np.ndarray, top: int) -> list[tuple[int, int, float]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = [
        (ids[i], ids[j], round(float(unit[i] @ unit[j]), missed_merges.DIGITS), i, j)
        for i, j in itertools.combinations(range(len(ids)), 2)
    ]
    pairs.sort(key=lambda p: (-p[2], p[3], p[4]))
    return [(a, b, s) for a, b, s, _, _ in pairs[:top]]


@pytest.mark.parametrize("block", [2, 3, 512])
def test_the_ranking_matches_a_brute_force_over_every_pair(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(missed_merges, "_ROW_BLOCK", block)  # the blocks must not change the answer
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(23, 5))
    vectors[5] = vectors[17] * 3  # one exact twin (another length, same direction)
    ids = [100 + 3 * i for i in range(23)]
    got = closest_pairs(ids, vectors, top=12)
    assert [(p.a, p.b, p.similarity) for p in got] == brute_force(ids, vectors, 12)
    assert (got[0].a, got[0].b, got[0].similarity) == (115, 151, 1.0)


def test_ties_keep_the_given_order_and_excluded_pairs_are_skipped() -> None:
    vectors = [[1, 0], [1, 0], [1, 0], [0, 1]]
    assert closest_pairs("wxyz", vectors, top=3) == [
        ClosePair("w", "x", 1.0),
        ClosePair("w", "y", 1.0),
        ClosePair("x", "y", 1.0),
    ]
    kept = closest_pairs("wxyz", vectors, top=2, exclude=[frozenset("wx"), frozenset("wy")])
    assert kept == [ClosePair("x", "y", 1.0), ClosePair("w", "z", 0.0)]
    assert closest_pairs("wxyz", vectors, min_similarity=0.5) == closest_pairs("wxyz", vectors, top=3)


def test_small_and_bad_inputs() -> None:
    assert closest_pairs([1], [[1.0, 0.0]]) == []
    assert closest_pairs([], np.zeros((0, 3))) == []
    assert closest_pairs([1, 2], [[0.0, 0.0], [1.0, 0.0]]) == [ClosePair(1, 2, 0.0)]  # a zero vector
    with pytest.raises(DedupError, match="distinct ids"):
        closest_pairs([1, 1], [[1, 0], [0, 1]])
    with pytest.raises(DedupError, match="as many vectors"):
        closest_pairs([1, 2, 3], [[1, 0], [0, 1]])
    with pytest.raises(DedupError, match="top must be at least 1"):
        closest_pairs([1, 2], [[1, 0], [0, 1]], top=0)
