"""Aggregation: the fast numpy path equals the slow reference on random input, bad rows included."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import (
    SKIP_REASONS,
    Aggregation,
    Answer,
    InvalidInputError,
    InvalidJudgementError,
    Judgement,
    JudgementArrays,
    ReferenceAggregation,
    aggregate,
    aggregate_arrays,
    aggregate_reference,
    encode_columns,
    encode_judgements,
)
from graph.keys import composite_key, group_rows, sorted_order

VALID_ANSWERS = ["upgrade", "no_upgrade", "not_sure"]
values = st.sampled_from(["a", "b", "c", "d", "a", "b", "c", None, math.nan])
participants = st.sampled_from([1, 2, 3, 4, 1, 2, None])
contexts = st.sampled_from(["c1", "c2", "c3", "c1", "c2", "", "  ", None])
answers = st.sampled_from([*VALID_ANSWERS * 3, None, "yes", math.nan, 0, 2, Answer.NO_UPGRADE, True])
rows = st.lists(st.builds(Judgement, participants, values, values, contexts, answers), max_size=60)


def assert_same(fast: Aggregation, reference: ReferenceAggregation) -> None:
    records = fast.pairs.records()
    assert len(records) == len(reference.pairs)
    for a, b in zip(records, reference.pairs, strict=True):
        assert a.same_as(b), (a, b)
    grouped: dict[Any, list[Any]] = {}
    for stats in fast.by_context.records():
        assert len(stats.contexts) == 1
        grouped.setdefault(stats.contexts[0], []).append(stats)
    assert grouped.keys() == reference.by_context.keys()
    for context, expected in reference.by_context.items():
        assert len(grouped[context]) == len(expected)
        assert all(a.same_as(b) for a, b in zip(grouped[context], expected, strict=True))
    assert dict(fast.skipped) == reference.skipped
    assert fast.n_used == reference.n_used


@settings(max_examples=300, deadline=None)
@given(rows)
def test_fast_equals_reference(judgements: list[Judgement]) -> None:
    assert_same(aggregate(judgements), aggregate_reference(judgements))


@settings(max_examples=150, deadline=None)
@given(rows)
def test_fast_equals_reference_with_a_known_value_set(judgements: list[Judgement]) -> None:
    known = ["a", "b", "c"]
    assert_same(aggregate(judgements, values=known), aggregate_reference(judgements, values=known))


@settings(max_examples=150, deadline=None)
@given(rows)
def test_both_raise_at_the_same_row_for_the_same_reason(judgements: list[Judgement]) -> None:
    try:
        aggregate_reference(judgements, on_invalid="raise")
    except InvalidJudgementError as expected:
        with pytest.raises(InvalidJudgementError) as caught:
            aggregate(judgements, on_invalid="raise")
        assert (caught.value.reason, caught.value.row) == (expected.reason, expected.row)
    else:
        aggregate(judgements, on_invalid="raise")


@settings(max_examples=150, deadline=None)
@given(rows)
def test_counting_invariants(judgements: list[Judgement]) -> None:
    fast = aggregate(judgements)
    by_pair = {(r.source, r.target): r for r in fast.pairs.records()}
    for (a, b), r in by_pair.items():
        back = by_pair[(b, a)]
        assert r.impressions == back.impressions and r.wiser == back.less_wise
        assert set(r.contexts) == set(back.contexts)
        assert r.wiser + r.not_wiser + r.unsure + (back.wiser + back.not_wiser + back.unsure) == r.impressions
    assert int(fast.pairs.impressions.sum()) == 2 * fast.n_used == int(fast.by_context.impressions.sum())
    assert fast.n_used + sum(fast.skipped.values()) == len(judgements)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30),
            st.integers(0, 6),
            st.integers(0, 6),
            st.integers(0, 3),
            st.integers(-1, 3),
        ),
        max_size=80,
    )
)
def test_typed_columns_equal_python_rows(raw: list[tuple[int, int, int, int, int]]) -> None:
    """What a database reader feeds (numpy id columns) aggregates like the equivalent Python rows."""
    columns = np.array(raw, dtype=np.int64).reshape(-1, 5)
    context = np.array([f"ctx{c}" if c else "" for c in columns[:, 3]])
    arrays = encode_columns(columns[:, 0], columns[:, 1], columns[:, 2], context, columns[:, 4])
    judgements = [
        Judgement(int(p), int(s), int(t), f"ctx{c}" if c else None, int(a))
        for p, s, t, c, a in columns.tolist()
    ]
    assert_same(aggregate_arrays(arrays), aggregate_reference(judgements))


def test_a_large_random_input_agrees() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    raw = np.column_stack(
        [
            rng.integers(0, 500, n),
            rng.integers(0, 40, n),
            rng.integers(0, 40, n),
            rng.integers(0, 6, n),
            rng.integers(0, 3, n),
        ]
    )
    judgements = [Judgement(p, s, t, f"When {c}", Answer(a)) for p, s, t, c, a in raw.tolist()]
    fast, reference = aggregate(judgements), aggregate_reference(judgements)
    assert fast.skipped["self_loop"] > 0 and fast.skipped["duplicate"] > 0
    assert_same(fast, reference)


def test_each_bad_row_is_counted_under_its_reason() -> None:
    good = Judgement(1, "a", "b", "When asked", "upgrade")
    judgements = [
        good,
        Judgement(None, "a", "b", "When asked", "upgrade"),
        Judgement(1, math.nan, "b", "When asked", "upgrade"),
        Judgement(1, "a", "b", "   ", "upgrade"),
        Judgement(1, "a", "b", None, "upgrade"),
        Judgement(1, "a", "b", "When asked", "maybe"),
        Judgement(1, "a", "b", "When asked", None),
        Judgement(1, "a", "zzz", "When asked", "upgrade"),
        Judgement(1, "a", "a", "When asked", "upgrade"),
        good,
        Judgement(1, "a", "b", "When asked", "no_upgrade"),  # same row, other answer: still a duplicate
        Judgement(1, "b", "a", "When asked", "upgrade"),  # the reverse story is a different judgement
    ]
    result = aggregate(judgements, values=["a", "b"])
    assert result.skipped == {
        "missing_field": 2,
        "empty_context": 2,
        "invalid_answer": 2,
        "unknown_value": 1,
        "self_loop": 1,
        "duplicate": 2,
    }
    assert list(result.skipped) == list(SKIP_REASONS)
    assert result.n_used == 2
    with pytest.raises(InvalidJudgementError, match="missing_field") as caught:
        aggregate(judgements, on_invalid="raise")
    assert caught.value.row == 1


def test_no_judgements_give_empty_tables() -> None:
    result = aggregate([], contexts=["When asked"])
    assert len(result.pairs) == 0 and len(result.by_context) == 0 and result.contexts == ("When asked",)
    assert sum(result.skipped.values()) == 0


def test_only_bad_judgements_give_empty_tables() -> None:
    result = aggregate([Judgement(1, "a", "a", "c", "upgrade")])
    assert len(result.pairs) == 0 and result.skipped["self_loop"] == 1


def test_arrays_reject_structural_errors() -> None:
    def arrays(**change: list[int] | list[list[int]]) -> JudgementArrays:
        columns = {"participant": [0], "source": [0], "target": [1], "context": [0], "answer": [0], **change}
        return JudgementArrays(
            **{name: np.array(column) for name, column in columns.items()},
            values=("a", "b"),
            contexts=("c",),
            participants=(1,),
        )

    arrays()
    changes: list[dict[str, list[int] | list[list[int]]]] = [
        {"source": [2]},
        {"target": [-3]},
        {"context": [1]},
        {"participant": [0, 0]},
        {"answer": [[0]]},
    ]
    for change in changes:
        with pytest.raises(InvalidInputError):
            arrays(**change)
    with pytest.raises(InvalidInputError):
        aggregate_arrays(arrays(), on_invalid="ignore")  # type: ignore[arg-type]


def test_arrays_are_copied_and_read_only() -> None:
    source = np.array([0, 1])
    arrays = JudgementArrays(
        participant=np.array([0, 0]),
        source=source,
        target=np.array([1, 0]),
        context=np.array([0, 0]),
        answer=np.array([0, 0]),
        values=("a", "b"),
        contexts=("c",),
        participants=(1,),
    )
    source[0] = 1
    assert arrays.source.tolist() == [0, 1] and not arrays.source.flags.writeable


def test_unhashable_labels_are_a_typed_error() -> None:
    with pytest.raises(InvalidInputError, match="hashable"):
        encode_judgements([Judgement(1, ["a"], "b", "c", "upgrade")])  # type: ignore[arg-type]


def test_inputs_are_not_modified() -> None:
    judgements = [Judgement(p, "a", "b", "c", "upgrade") for p in range(3)]
    snapshot = list(judgements)
    arrays = encode_judgements(judgements)
    before = arrays.source.copy()
    aggregate_arrays(arrays)
    assert judgements == snapshot and np.array_equal(arrays.source, before)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**45), st.integers(0, 3)), min_size=1, max_size=40)
)
def test_grouping_falls_back_to_lexsort_without_changing_the_result(raw: list[tuple[int, int, int]]) -> None:
    columns = [np.array(c, dtype=np.int64) for c in zip(*raw, strict=True)]
    narrow = [columns[0], columns[2]]
    wide = [columns[1], np.full(len(raw), 2**62), columns[0], columns[2]]  # too wide for one int64 key
    assert composite_key(narrow) is not None and composite_key(wide) is None
    for chosen in (narrow, wide):
        inverse, first, n = group_rows(chosen)
        keys = [tuple(int(c[i]) for c in chosen) for i in range(len(raw))]
        expected = sorted(set(keys))
        assert n == len(expected)
        assert [expected[g] for g in inverse.tolist()] == keys
        assert first.tolist() == [keys.index(k) for k in expected]
        assert [keys[i] for i in sorted_order(chosen).tolist()] == sorted(keys)
