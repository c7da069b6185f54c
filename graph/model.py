"""Data types of the graph engine: answers, thresholds, judgement rows and column arrays, pair tables.

Two shapes of the same input are accepted. A :class:`Judgement` is one row, convenient for tests and small
inputs; :class:`JudgementArrays` holds integer-coded columns (what a database reader produces) and is what
the fast path consumes. Aggregated counts come back as a :class:`graph.pairs.PairCounts` table (column
arrays, one row per ordered pair) or as :class:`PairStats` records.

Examples
--------
>>> from graph.model import Answer, Thresholds
>>> Thresholds().keeps(wiser=2, likelihood=1 / 3, entropy=1.2)
True
>>> Thresholds(min_wiser=3).as_dict()
{'min_wiser': 3, 'min_likelihood': 0.33, 'max_entropy': 1.69}
>>> Answer.parse("no_upgrade"), Answer.parse("maybe")
(1, -1)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from graph.errors import InvalidInputError

#: Why a judgement row was skipped, in the order the checks run (a row is counted under the first).
SKIP_REASONS: tuple[str, ...] = (
    "missing_field",  # participant, source or target is None/NaN
    "empty_context",  # context is None/NaN/blank
    "invalid_answer",  # answer is None/NaN or not upgrade/no_upgrade/not_sure
    "unknown_value",  # source or target not in the given value set
    "self_loop",  # source == target
    "duplicate",  # same participant, source, target and context as an earlier row (the first wins)
)

MISSING = -1  #: code of a missing label (None, NaN, blank context)
UNKNOWN = -2  #: code of a value that is not in the given value set


class Answer(IntEnum):
    """A participant's answer to "Did this person become wiser?" (MAI's ``relationship`` column)."""

    UPGRADE = 0
    NO_UPGRADE = 1
    NOT_SURE = 2

    @classmethod
    def parse(cls, raw: object) -> int:
        """The answer's code, or ``-1`` when ``raw`` is not a readable answer.

        Accepts members, their codes (ints) and MAI's names ``upgrade``, ``no_upgrade``, ``not_sure``.
        """
        if isinstance(raw, str):
            return int(_ANSWER_NAMES.get(raw, -1))
        if isinstance(raw, bool) or not isinstance(raw, int | np.integer):
            return -1
        return int(raw) if 0 <= int(raw) <= 2 else -1


_ANSWER_NAMES: dict[str, Answer] = {a.name.lower(): a for a in Answer}


def is_missing(label: object) -> bool:
    """True for ``None`` and NaN (what a database or a data frame gives for "no value").

    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing("")
    (True, True, False, False)
    """
    if label is None:
        return True
    try:
        return isinstance(label, float | np.floating) and math.isnan(label)
    except TypeError:  # pragma: no cover - exotic float subclasses
        return False


@dataclass(frozen=True)
class Thresholds:
    """Which aggregated pairs become edges of the moral graph (MAI's trimming rule).

    A pair is kept when ``wiser >= max(min_wiser, 1)``, ``likelihood >= min_likelihood`` and
    ``entropy <= max_entropy``; a NaN likelihood (no answer in that direction) is never kept.
    These are exactly MAI's comparisons (``summarizeGraph`` drops ``!markedWiser``,
    ``wiserLikelihood < 0.33``, ``entropy > 1.69`` and ``markedWiser < 2``).
    """

    min_wiser: int = 2
    min_likelihood: float = 0.33
    max_entropy: float = 1.69

    def __post_init__(self) -> None:
        if isinstance(self.min_wiser, bool) or not isinstance(self.min_wiser, int) or self.min_wiser < 0:
            raise InvalidInputError(f"min_wiser must be an integer >= 0, got {self.min_wiser!r}")
        if not -1.0 <= float(self.min_likelihood) <= 1.0:
            raise InvalidInputError(f"min_likelihood must lie in [-1, 1], got {self.min_likelihood!r}")
        if math.isnan(float(self.max_entropy)) or float(self.max_entropy) < 0.0:
            raise InvalidInputError(f"max_entropy must be >= 0, got {self.max_entropy!r}")

    def keeps(self, *, wiser: int, likelihood: float, entropy: float) -> bool:
        """Whether one pair with these statistics passes (scalar form of :meth:`mask`)."""
        return (
            wiser >= max(self.min_wiser, 1)
            and likelihood >= self.min_likelihood
            and entropy <= self.max_entropy
        )

    def mask(self, wiser: np.ndarray, likelihood: np.ndarray, entropy: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows that pass (NaN likelihoods compare False, so they are dropped)."""
        with np.errstate(invalid="ignore"):
            return (
                (wiser >= max(self.min_wiser, 1))
                & (likelihood >= self.min_likelihood)
                & (entropy <= self.max_entropy)
            )

    def as_dict(self) -> dict[str, Any]:
        """The thresholds by name, as written into every export."""
        return {
            "min_wiser": self.min_wiser,
            "min_likelihood": self.min_likelihood,
            "max_entropy": self.max_entropy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        """Inverse of :meth:`as_dict` (unknown keys are an error)."""
        unknown = set(data) - {"min_wiser", "min_likelihood", "max_entropy"}
        if unknown:
            raise InvalidInputError(f"unknown threshold names: {sorted(unknown)}")
        return cls(**dict(data))


@dataclass(frozen=True)
class Judgement:
    """One answer: did moving from value ``source`` to value ``target`` in ``context`` gain wisdom?"""

    participant: Hashable
    source: Hashable
    target: Hashable
    context: Hashable
    answer: object


def _column(name: str, data: object, dtype: type, n: int | None) -> np.ndarray:
    array: np.ndarray = np.array(data, dtype=dtype, copy=True)
    if array.ndim != 1 or (n is not None and len(array) != n):
        raise InvalidInputError(f"{name} must be a 1-d array of length {n}, got shape {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class JudgementArrays:
    """Integer-coded judgement columns: the fast path's input.

    ``source``/``target`` index ``values``, ``context`` indexes ``contexts`` and ``participant`` indexes
    ``participants``. Code ``-1`` (:data:`MISSING`) marks a missing label, ``-2`` (:data:`UNKNOWN`) a value
    outside the known value set, and answer code ``-1`` an unreadable answer: such rows are skipped and
    counted when aggregated. Other out-of-range codes are a programming error
    (:class:`~graph.errors.InvalidInputError`). The arrays are copied and made read-only.
    """

    participant: np.ndarray
    source: np.ndarray
    target: np.ndarray
    context: np.ndarray
    answer: np.ndarray
    values: tuple[Hashable, ...]
    contexts: tuple[Hashable, ...]
    participants: tuple[Hashable, ...]

    def __post_init__(self) -> None:
        n = len(np.asarray(self.participant))
        for name, dtype in [("participant", np.int64), ("source", np.int64), ("target", np.int64)]:
            object.__setattr__(self, name, _column(name, getattr(self, name), dtype, n))
        object.__setattr__(self, "context", _column("context", self.context, np.int64, n))
        object.__setattr__(self, "answer", _column("answer", self.answer, np.int8, n))
        for name in ("values", "contexts", "participants"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        checks = [
            ("participant", self.participant, MISSING, len(self.participants)),
            ("source", self.source, UNKNOWN, len(self.values)),
            ("target", self.target, UNKNOWN, len(self.values)),
            ("context", self.context, MISSING, len(self.contexts)),
            ("answer", self.answer, -1, 127),
        ]
        for name, codes, low, high in checks:
            if n and (int(codes.min()) < low or int(codes.max()) >= high):
                raise InvalidInputError(f"{name} codes must lie in [{low}, {high}), got out-of-range codes")

    def __len__(self) -> int:
        return len(self.participant)


@dataclass(frozen=True)
class PairStats:
    """Aggregated judgements of one ordered pair ("``target`` is wiser than ``source``"), MAI's edge."""

    source: Hashable
    target: Hashable
    contexts: tuple[Hashable, ...]
    wiser: int
    not_wiser: int
    less_wise: int
    unsure: int
    impressions: int
    wiser_likelihood: float
    entropy: float

    def same_as(self, other: PairStats) -> bool:
        """Field-by-field equality in which two NaN likelihoods are equal."""
        nan_both = math.isnan(self.wiser_likelihood) and math.isnan(other.wiser_likelihood)
        mine = {**self.__dict__, "wiser_likelihood": 0.0 if nan_both else self.wiser_likelihood}
        theirs = {**other.__dict__, "wiser_likelihood": 0.0 if nan_both else other.wiser_likelihood}
        return mine == theirs
