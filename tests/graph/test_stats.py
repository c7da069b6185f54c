"""Statistics and thresholds: MAI's formulas, the exact comparisons, bit-identical vectorised forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import InvalidInputError, Thresholds, entropy, entropy_array, likelihood_array, wiser_likelihood

counts = st.tuples(*(st.integers(0, 60) for _ in range(4)), st.integers(0, 200))


def test_formulas_on_a_published_edge() -> None:
    # sourceValueId 167 -> 174: counts 3, 0, 0, 1, 4 (wiser, notWiser, lessWise, unsure, impressions)
    assert wiser_likelihood(3, 0, 0, 1) == 0.75
    assert entropy(3, 0, 0, 1, 4) == 1.4056390622295665
    assert math.isnan(wiser_likelihood(0, 0, 0, 0)) and entropy(0, 0, 0, 0, 1) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(counts, min_size=1, max_size=30))
def test_vectorised_statistics_are_bit_identical(rows: list[tuple[int, int, int, int, int]]) -> None:
    rows = [r for r in rows if sum(r) > 0]
    columns = (
        [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)]
        if rows
        else [np.zeros(0, np.int64)] * 5
    )
    h = entropy_array(*columns)
    p = likelihood_array(*columns[:4])
    for i, r in enumerate(rows):
        assert h[i] == entropy(*r)  # ==, not approx: exports must be reproducible bit for bit
        expected = wiser_likelihood(*r[:4])
        assert (math.isnan(p[i]) and math.isnan(expected)) or p[i] == expected


def test_entropy_array_refuses_negative_counts() -> None:
    with pytest.raises(ValueError):
        entropy_array(*(np.array([-1]),) * 5)


@pytest.mark.parametrize(
    ("wiser", "likelihood", "entropy_", "kept"),
    [
        (2, 0.33, 1.69, True),  # MAI keeps the boundary: it drops likelihood < 0.33 and entropy > 1.69
        (1, 0.9, 0.5, False),  # markedWiser < 2
        (2, 0.3299999, 1.0, False),
        (2, 0.9, 1.6900001, False),
        (2, math.nan, 1.0, False),
        (5, 1 / 3, 1.6893917467430877, True),  # the published graph's extremes
    ],
)
def test_mai_comparisons(wiser: int, likelihood: float, entropy_: float, kept: bool) -> None:
    thresholds = Thresholds()
    assert thresholds.keeps(wiser=wiser, likelihood=likelihood, entropy=entropy_) is kept
    mask = thresholds.mask(np.array([wiser]), np.array([likelihood]), np.array([entropy_]))
    assert bool(mask[0]) is kept


def test_zero_wiser_is_never_an_edge() -> None:
    # MAI also drops !markedWiser, so min_wiser=0 still needs one upgrade
    assert not Thresholds(min_wiser=0, min_likelihood=-1.0).keeps(wiser=0, likelihood=0.0, entropy=0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_wiser": -1},
        {"min_wiser": 1.5},
        {"min_wiser": True},
        {"min_likelihood": 1.5},
        {"max_entropy": -0.1},
    ],
)
def test_bad_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_thresholds_round_trip_and_are_frozen() -> None:
    thresholds = Thresholds(min_wiser=3, min_likelihood=0.5, max_entropy=1.2)
    assert Thresholds.from_dict(thresholds.as_dict()) == thresholds
    with pytest.raises(AttributeError):
        thresholds.min_wiser = 1  # type: ignore[misc]
    with pytest.raises(InvalidInputError):
        Thresholds.from_dict({"min_votes": 2})
