"""Checking a participant's answers to a configured list of questions: the demographics asked when they
consent and the exit survey. Pure; the services read the questions and store what comes back.

One rule for both forms (:func:`clean_answers`): unknown keys are refused, required questions must be
answered, blanks are ``None``, and each answer is checked by its question's kind; every problem is reported
at once, in one line. A question is anything with ``key``, ``label``, ``required`` and ``kind`` (and
``options`` for demographics), e.g. ``storage.schemas.SurveyQuestion`` and ``DemographicQuestion``.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass
... class Item:
...     key: str
...     label: str
...     required: bool = False
...     kind: str = "scale"
>>> clean_survey([Item("clear", "Clear", required=True), Item("comment", "Comment", kind="text")],
...              {"clear": "4", "comment": "  "})
{'clear': 4, 'comment': None}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from errors import InvalidInput
from interviews.text_rules import ascii_safe, text_problem

#: The longest free-text answer of the exit survey.
MAX_SURVEY_TEXT = 2000
#: The longest free-text answer to a demographics question.
MAX_TEXT_ANSWER = 500


class Question(Protocol):
    """A configured question: what :func:`clean_answers` and the survey check read."""

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def required(self) -> bool: ...
    @property
    def kind(self) -> str: ...


class ChoiceQuestion(Question, Protocol):
    """A demographics question: a :class:`Question` with the ``options`` of a ``choice``."""

    @property
    def options(self) -> Sequence[str]: ...


Q = TypeVar("Q", bound=Question)


class Problem(ValueError):
    """What is wrong with one answer, finishing the sentence ``"<label>" ...``."""


def clean_answers(
    questions: Sequence[Q], answers: Mapping[str, Any], check: Callable[[Q, Any], Any]
) -> dict[str, Any]:
    """Every question's cleaned answer (``None`` when left blank), or one :class:`InvalidInput` listing
    all problems.

    Parameters
    ----------
    questions : sequence of Question
        The form, in order.
    answers : mapping of str to Any
        What was sent, by question key; strings are stripped first.
    check : callable
        ``check(question, value)`` returns the cleaned value of a non-blank answer or raises
        :class:`Problem`.

    Returns
    -------
    dict of str to Any
        One entry per question, in the form's order.

    Raises
    ------
    InvalidInput
        An unknown key (alone), or every missing required answer and every :class:`Problem`, in one line.

    Examples
    --------
    >>> from storage.schemas import SurveyQuestion
    >>> q = [SurveyQuestion(key="clear", label="Clear", required=True)]
    >>> def scale(question, value):
    ...     if value not in (1, 2, 3, 4, 5):
    ...         raise Problem("takes a whole number from 1 to 5")
    ...     return value
    >>> clean_answers(q, {"clear": 9}, scale)
    Traceback (most recent call last):
    ...
    errors.InvalidInput: "Clear" takes a whole number from 1 to 5.
    """
    by_key = {q.key: q for q in questions}
    unknown = sorted(ascii_safe(str(key)) for key in set(answers) - set(by_key))
    if unknown:
        raise InvalidInput(f"Unknown questions: {', '.join(unknown)}.")
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for question in questions:
        raw = answers.get(question.key)
        value = raw.strip() if isinstance(raw, str) else raw
        cleaned[question.key] = None
        if value is None or value == "":
            if question.required:
                problems.append(f'Please answer "{question.label}".')
            continue
        try:
            cleaned[question.key] = check(question, value)
        except Problem as problem:
            problems.append(f'"{question.label}" {problem}.')
    if problems:
        raise InvalidInput(" ".join(problems))
    return cleaned


# --- the exit survey ---------------------------------------------------------------------------------


def clean_survey(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers checked against the questions: required ones present, scales whole numbers 1-5, yes/no
    a boolean, texts short. Every question gets a value; ``None`` for a blank optional one.

    >>> from storage.schemas import SurveyQuestion
    >>> q = [SurveyQuestion(key="clear", label="Clear", required=True),
    ...      SurveyQuestion(key="comment", label="Comment", kind="text")]
    >>> clean_survey(q, {"clear": 4, "comment": "  "})
    {'clear': 4, 'comment': None}
    >>> clean_survey(q, {"clear": 6})
    Traceback (most recent call last):
    ...
    errors.InvalidInput: "Clear" takes a whole number from 1 to 5.
    """
    return clean_answers(questions, answers, check_survey)


def check_survey(question: Question, value: Any) -> Any:
    """One non-blank survey answer by its question's kind: ``scale`` (a whole number 1-5, digits
    accepted), ``yes_no`` (a boolean) or text (at most :data:`MAX_SURVEY_TEXT` characters, no NUL or lone
    surrogate: :mod:`interviews.text_rules`).

    >>> from types import SimpleNamespace
    >>> check_survey(SimpleNamespace(kind="scale"), "5")
    5
    >>> check_survey(SimpleNamespace(kind="yes_no"), "yes")
    Traceback (most recent call last):
    ...
    interviews.answers.Problem: takes yes or no
    """
    if question.kind == "scale":
        if isinstance(value, str) and len(value) <= 3 and value.isdecimal():  # not isdigit: int("²") fails
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise Problem("takes a whole number from 1 to 5")
        return value
    if question.kind == "yes_no":
        if not isinstance(value, bool):
            raise Problem("takes yes or no")
        return value
    return _text(value, MAX_SURVEY_TEXT)


def _text(value: Any, limit: int) -> str:
    """A text answer: a string keeping :func:`interviews.text_rules.check_text`'s rule, at most ``limit``."""
    if not isinstance(value, str):
        raise Problem("takes text")
    problem = text_problem(value)
    if problem is not None:
        raise Problem(f"contains {problem}; please remove it")
    if len(value) > limit:
        raise Problem(f"is too long ({len(value)} characters): please keep it to at most {limit} characters")
    return value


# --- demographics ------------------------------------------------------------------------------------


def clean_demographics(questions: Sequence[ChoiceQuestion], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers checked against the questions: required ones present, choices among the options,
    numbers within their question's bounds, texts short; blank answers to optional questions dropped.

    >>> from storage.schemas import DemographicQuestion
    >>> q = [DemographicQuestion(key="age", label="Age", kind="number", required=True),
    ...      DemographicQuestion(key="party", label="Party", options=["Democrat", "Republican"])]
    >>> clean_demographics(q, {"age": "34", "party": ""})
    {'age': 34}
    >>> clean_demographics(q, {"party": "Whig"})
    Traceback (most recent call last):
    ...
    errors.InvalidInput: Please answer "Age". "Party" must be one of the listed options.
    """
    cleaned = clean_answers(questions, answers, check_demographic)
    return {key: value for key, value in cleaned.items() if value is not None}


def check_demographic(question: ChoiceQuestion, value: Any) -> Any:
    """One non-blank demographics answer by its question's kind: ``choice`` (one of the options),
    ``number`` (:func:`check_number`) or text (at most :data:`MAX_TEXT_ANSWER` characters, no NUL or lone
    surrogate).

    >>> from storage.schemas import DemographicQuestion
    >>> check_demographic(DemographicQuestion(key="age", label="Age", kind="number"), "41")
    41
    >>> check_demographic(DemographicQuestion(key="town", label="Town", kind="text"), "x" * 501)
    Traceback (most recent call last):
    ...
    interviews.answers.Problem: is too long (501 characters): please keep it to at most 500 characters
    """
    if question.kind == "choice":
        if not isinstance(value, str) or value not in question.options:
            raise Problem("must be one of the listed options")
        return value
    if question.kind == "number":
        return check_number(
            value,
            lowest=getattr(question, "lowest", DEFAULT_LOWEST),
            highest=getattr(question, "highest", DEFAULT_HIGHEST),
            decimals=bool(getattr(question, "decimals", False)),
        )
    return _text(value, MAX_TEXT_ANSWER)


#: A number as a person writes it: digits (any script's decimal digits, not ``²``), an optional sign and,
#: for decimals, one point; no exponent, no thousands separator, no ``inf`` or ``nan``.
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
#: The bounds of a number question that names none (also ``storage.schemas.DemographicQuestion``'s).
DEFAULT_LOWEST, DEFAULT_HIGHEST = 0, 1_000_000_000
#: The largest bound a number question may set (magnitudes beyond it lose whole-number precision).
NUMBER_BOUND = 1e12
#: The longest number a person may type (and the longest number literal in the settings JSON).
MAX_NUMBER_CHARS = 30
#: Larger than any bound a question may set (:data:`NUMBER_BOUND`).
MAX_MAGNITUDE = 10**15


def check_number(value: Any, *, lowest: float, highest: float, decimals: bool = False) -> int | float:
    """A number answer between ``lowest`` and ``highest``: a whole number (``int``) unless ``decimals``.

    Text is read exactly as written, never coerced: ``"2e3"``, ``"1e308"``, ``"1,5"``, ``"inf"`` and
    ``"²"`` are refused rather than stored as something else; ``"41.0"`` is 41; ``"٣"`` is 3.

    >>> check_number("41.0", lowest=0, highest=120), check_number(" 1.5", lowest=0, highest=9, decimals=True)
    (41, 1.5)
    >>> check_number("250", lowest=0, highest=120)
    Traceback (most recent call last):
    ...
    interviews.answers.Problem: must be between 0 and 120
    >>> check_number("1.5", lowest=0, highest=120)
    Traceback (most recent call last):
    ...
    interviews.answers.Problem: must be a whole number
    >>> check_number("2e3", lowest=0, highest=9999)
    Traceback (most recent call last):
    ...
    interviews.answers.Problem: must be a number written with digits, such as 42
    """
    if isinstance(value, bool):
        raise Problem("must be a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
            raise Problem(f"must be a number written with digits, such as {'4.5' if decimals else '42'}")
        number: float = float(text) if "." in text else int(text)
    elif isinstance(value, int | float):
        number = value
    else:
        raise Problem("must be a number")
    if isinstance(number, float) and not math.isfinite(number):
        raise Problem("must be a number")
    if not -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE:  # beyond every bound (and beyond a float, for an int)
        raise Problem(f"must be between {_shown(lowest)} and {_shown(highest)}")
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, float) and not decimals:
        raise Problem("must be a whole number")
    if not lowest <= number <= highest:
        raise Problem(f"must be between {_shown(lowest)} and {_shown(highest)}")
    return number


def number_hint(*, lowest: float, highest: float, decimals: bool = False) -> str:
    """What a number field says it takes, e.g. as its placeholder.

    >>> number_hint(lowest=0, highest=120)
    'A whole number from 0 to 120'
    """
    return f"A {'number' if decimals else 'whole number'} from {_shown(lowest)} to {_shown(highest)}"


def marked(label: str, *, required: bool) -> str:
    """A form field's label that says whether it needs an answer: "(required)" or "(optional)".

    Words rather than an asterisk: they need no legend, and a screen reader reads them as they are (a
    widget label is also its ``aria-label``).

    >>> marked("Age", required=True), marked("Anything else?", required=False)
    ('Age (required)', 'Anything else? (optional)')
    """
    return f"{label} ({'required' if required else 'optional'})"


def _shown(bound: float) -> str:
    """A bound as a person reads it: ``120``, not ``120.0``; ``1,000,000,000``."""
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:,}"
