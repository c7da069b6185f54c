"""Coding labels into integer arrays: first-seen order, known value sets, missing and blank labels."""

from __future__ import annotations

import math

import numpy as np

from graph import Answer, encode_answers, encode_columns, factorize, judgements_from_records


def test_factorize_keeps_first_seen_order_for_typed_and_object_columns() -> None:
    for column in (np.array([30, 10, 30, 20]), [30, 10, 30, 20], np.array(["c", "a", "c", "b"])):
        codes, labels = factorize(column)
        assert codes.tolist() == [0, 1, 0, 2] and len(labels) == 3


def test_factorize_marks_missing_and_unknown() -> None:
    codes, labels = factorize(np.array([1.0, math.nan, 3.0]), known=[3.0], extend=False)
    assert codes.tolist() == [-2, -1, 0] and labels == (3.0,)
    codes, labels = factorize(["x", None, " ", math.nan], blank_is_missing=True)
    assert codes.tolist() == [0, -1, -1, -1] and labels == ("x",)
    codes, _ = factorize(np.array(["x", " "]), blank_is_missing=True)
    assert codes.tolist() == [0, -1]


def test_answers_in_every_form() -> None:
    assert encode_answers(np.array([0, 1, 2, 3, -1])).tolist() == [0, 1, 2, -1, -1]
    assert encode_answers(np.array([0.0, 2.0, math.nan, 0.5])).tolist() == [0, 2, -1, -1]
    assert encode_answers(np.array(["not_sure", "UPGRADE"])).tolist() == [2, -1]
    assert encode_answers([Answer.NOT_SURE, True, None, "no_upgrade"]).tolist() == [2, -1, -1, 1]
    assert encode_answers(np.array([], dtype=str)).tolist() == []


def test_columns_keep_listed_contexts_first() -> None:
    arrays = encode_columns([1], ["a"], ["b"], ["When seen"], ["upgrade"], contexts=["When unseen"])
    assert arrays.contexts == ("When unseen", "When seen") and arrays.context.tolist() == [1]


def test_records_with_missing_keys_read_as_none() -> None:
    (row,) = judgements_from_records([{"userId": 1, "fromId": 2}])
    assert (row.participant, row.source, row.target, row.context, row.answer) == (1, 2, None, None, None)
