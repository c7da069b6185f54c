"""Checking form answers as pure rules: the exit survey and the demographics, with the exact messages the
pages show (every problem at once, in one line)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from errors import InvalidInput
from interviews.answers import (
    MAX_SURVEY_TEXT,
    MAX_TEXT_ANSWER,
    Problem,
    clean_answers,
    clean_demographics,
    clean_survey,
)
from storage.schemas import DemographicQuestion, default_survey


@dataclass
class Item:
    key: str
    label: str
    required: bool = False
    kind: str = "scale"
    options: list[str] = field(default_factory=list)


SURVEY = [
    Item("clarified", "This process helped", required=True),
    Item("again", "Again?", kind="yes_no"),
    Item("comment", "Comment", kind="text"),
]
DEMOGRAPHICS = [
    Item("party", "Party", required=True, kind="choice", options=["Democrat", "Republican"]),
    Item("age", "Age", kind="number"),
    Item("town", "Town", kind="text"),
]


def _refused(clean: Any, questions: list[Item], answers: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as caught:
        clean(questions, answers)
    return str(caught.value)


def test_the_survey_checks_each_kind() -> None:
    good = {"clarified": 4, "again": True, "comment": "  Thanks  "}
    assert clean_survey(SURVEY, good) == {"clarified": 4, "again": True, "comment": "Thanks"}
    assert clean_survey(SURVEY, good | {"clarified": "5", "comment": ""}) == {
        "clarified": 5, "again": True, "comment": None,
    }  # fmt: skip
    for bad in (6, True, 2.5, "five", 0):
        assert _refused(clean_survey, SURVEY, good | {"clarified": bad}) == (
            '"This process helped" takes a whole number from 1 to 5.'
        )
    assert _refused(clean_survey, SURVEY, {"again": "yes"}) == (
        'Please answer "This process helped". "Again?" takes yes or no.'
    )
    assert _refused(clean_survey, SURVEY, good | {"mood": 3, "hue": 1}) == "Unknown questions: hue, mood."
    assert _refused(clean_survey, SURVEY, good | {"comment": "x" * (MAX_SURVEY_TEXT + 1)}) == (
        '"Comment" is too long (2001 characters): please keep it to at most 2000 characters.'
    )
    assert clean_survey(SURVEY, good | {"comment": "x" * MAX_SURVEY_TEXT})["comment"] == "x" * 2000
    assert _refused(clean_survey, SURVEY, good | {"comment": "a\x00b"}).startswith(
        '"Comment" contains a NUL character (at position 2), which cannot be stored'
    )
    assert _refused(clean_survey, SURVEY, good | {"clarified": "9" * 5000}) == (
        '"This process helped" takes a whole number from 1 to 5.'
    )
    assert _refused(clean_survey, SURVEY, good | {"comment": 3}) == '"Comment" takes text.'


def test_the_default_survey_models_fit() -> None:
    questions = default_survey()
    answers = {q.key: 4 for q in questions if q.kind == "scale"}
    cleaned = clean_survey(questions, answers)
    assert list(cleaned) == [q.key for q in questions] and cleaned["comment"] is None
    assert 'Please answer "This process helped me clarify' in _refused(clean_survey, questions, {})


def test_the_demographics_check_each_kind_and_drop_blanks() -> None:
    assert clean_demographics(DEMOGRAPHICS, {"party": "Democrat", "age": "41.0", "town": " "}) == {
        "party": "Democrat", "age": 41,
    }  # fmt: skip
    assert clean_demographics(DEMOGRAPHICS, {"party": "Republican", "age": 17.0}) == {
        "party": "Republican", "age": 17,
    }  # fmt: skip
    assert _refused(clean_demographics, DEMOGRAPHICS, {}) == 'Please answer "Party".'
    assert _refused(clean_demographics, DEMOGRAPHICS, {"party": "Democrat", "shoe": 9}) == (
        "Unknown questions: shoe."
    )
    for bad in ("old", "nan", "inf", "2e3", "1e308", "1,5", "²", "0x10", "1_000"):
        assert _refused(clean_demographics, DEMOGRAPHICS, {"party": "Democrat", "age": bad}) == (
            '"Age" must be a number written with digits, such as 42.'
        )
    for bad in (float("nan"), float("inf"), [1], True):
        assert _refused(clean_demographics, DEMOGRAPHICS, {"party": "Democrat", "age": bad}) == (
            '"Age" must be a number.'
        )
    for bad in ("1.5", 17.5):  # the question takes whole numbers: never rounded or cut
        assert _refused(clean_demographics, DEMOGRAPHICS, {"party": "Democrat", "age": bad}) == (
            '"Age" must be a whole number.'
        )
    for bad in ("-1", 1e308, "1000000001"):  # the default bounds: 0 to 1,000,000,000
        assert _refused(clean_demographics, DEMOGRAPHICS, {"party": "Democrat", "age": bad}) == (
            '"Age" must be between 0 and 1,000,000,000.'
        )
    assert (
        _refused(clean_demographics, DEMOGRAPHICS, {"party": "Whig", "town": "x" * (MAX_TEXT_ANSWER + 1)})
        == '"Party" must be one of the listed options. '
        '"Town" is too long (501 characters): please keep it to at most 500 characters.'
    )


def test_the_demographics_models_fit() -> None:
    questions = [DemographicQuestion(key="age", label="Age", kind="number", required=True)]
    assert clean_demographics(questions, {"age": "34"}) == {"age": 34}


def test_a_number_question_keeps_its_own_bounds_and_decimals() -> None:
    age = DemographicQuestion(key="age", label="Age", kind="number", min=18, max=120)
    hours = DemographicQuestion(key="hours", label="Hours", kind="number", max=24, decimals=True)
    assert clean_demographics([age, hours], {"age": "٣٤", "hours": "7.5"}) == {"age": 34, "hours": 7.5}
    assert clean_demographics([age, hours], {"age": " +18 ", "hours": "-0"}) == {"age": 18, "hours": 0}
    assert _refused(clean_demographics, [age, hours], {"age": "250", "hours": "24.5"}) == (
        '"Age" must be between 18 and 120. "Hours" must be between 0 and 24.'
    )


def test_one_rule_for_every_form() -> None:
    def shout(question: Item, value: Any) -> Any:
        if value != value.upper():
            raise Problem("must be in capitals")
        return value

    questions = [Item("a", "A", required=True), Item("b", "B"), Item("c", "C")]
    assert clean_answers(questions, {"a": " YES ", "c": None}, shout) == {"a": "YES", "b": None, "c": None}
    assert _refused(lambda q, a: clean_answers(q, a, shout), questions, {"b": "no", "c": "NO"}) == (
        'Please answer "A". "B" must be in capitals.'
    )


@given(st.one_of(st.integers(-3, 9), st.booleans(), st.floats(allow_nan=False), st.text(max_size=3)))
@example("²")
@example(" 3 ")
@example("٣")
@settings(max_examples=200, deadline=None)
def test_a_scale_takes_exactly_the_whole_numbers_one_to_five(value: Any) -> None:
    scale = [Item("s", "S")]
    text = value.strip() if isinstance(value, str) else None
    if text == "":
        assert clean_survey(scale, {"s": value}) == {"s": None}  # blank, optional
    elif (text or "").isdecimal() and 1 <= int(text or "0") <= 5:
        assert clean_survey(scale, {"s": value}) == {"s": int(text or "0")}
    elif type(value) is int and 1 <= value <= 5:
        assert clean_survey(scale, {"s": value}) == {"s": value}
    else:  # never a traceback (int("²") once was one)
        assert _refused(clean_survey, scale, {"s": value}) == '"S" takes a whole number from 1 to 5.'
