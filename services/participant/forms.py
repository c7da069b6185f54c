"""Checking a participant's answers to a configured list of questions (demographics, the exit survey).

One rule for both forms: unknown keys are refused, required questions must be answered, blanks are
``None``, and each answer is checked by its question's kind; every problem is reported at once, in one line.

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

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from errors import InvalidInput


class Question(Protocol):
    key: str
    label: str
    required: bool


class Problem(ValueError):
    """What is wrong with one answer, finishing the sentence ``"<label>" ...``."""


def clean_answers(
    questions: Sequence[Question], answers: dict[str, Any], check: Callable[[Any, Any], Any]
) -> dict[str, Any]:
    """Every question's cleaned answer (``None`` when left blank), or one :class:`InvalidInput` listing
    all problems. ``check(question, value)`` returns the cleaned value or raises :class:`Problem`.
    """
    by_key = {q.key: q for q in questions}
    unknown = sorted(set(answers) - set(by_key))
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
