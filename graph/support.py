"""Support labels: how clearly a ranking's winner stands out (MAI's report).

"broadly supported" when ``z = (winner - mean) / sd > 2.5`` and ``winner / runner-up > 2``; "some support"
when ``z > 1.5`` or the ratio ``> 1.5``; else "contested" (population standard deviation over the graph's
values; z is 0 when all scores are equal). Fewer than two values: "insufficient data".

Examples
--------
>>> SupportRule().codes(np.array([3.0, 1.0, 0.5]), np.array([2.5, 1.6, 1.1]), np.array([5, 5, 5])).tolist()
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Support(StrEnum):
    """How clearly a ranking's winner stands out."""

    BROAD = "broadly supported"
    SOME = "some support"
    CONTESTED = "contested"
    INSUFFICIENT = "insufficient data"


SUPPORTS: tuple[Support, ...] = tuple(Support)


@dataclass(frozen=True)
class SupportRule:
    """The cut-offs of the support label (MAI's report values by default)."""

    broad_z: float = 2.5
    broad_ratio: float = 2.0
    some_z: float = 1.5
    some_ratio: float = 1.5

    def codes(self, z: np.ndarray, ratio: np.ndarray, n_values: np.ndarray) -> np.ndarray:
        """Index into :class:`Support` of each (z, ratio, number of values)."""
        with np.errstate(invalid="ignore"):
            broad = (z > self.broad_z) & (ratio > self.broad_ratio)
            some = (z > self.some_z) | (ratio > self.some_ratio)
        codes = np.where(broad, 0, np.where(some, 1, 2))
        return np.where(n_values < 2, 3, codes).astype(np.int8)

    def label(self, scores: Sequence[float]) -> tuple[Support, float, float]:
        """Support label, z and ratio of one set of scores.

        >>> support, z, ratio = SupportRule().label([0.5, 0.25, 0.125, 0.125])
        >>> support.value, round(z, 4), ratio
        ('some support', 1.633, 2.0)
        """
        values = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
        n = len(values)
        z, ratio = z_and_ratio(
            np.array([values[0] if n else np.nan]),
            np.array([values[1] if n > 1 else np.nan]),
            np.array([values.mean() if n else np.nan]),
            np.array([values.std() if n else np.nan]),
        )
        code = self.codes(z, ratio, np.array([n]))[0]
        return SUPPORTS[int(code)], float(z[0]), float(ratio[0])


def z_and_ratio(
    top: np.ndarray, second: np.ndarray, mean: np.ndarray, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """z = (top - mean) / sd (0 when sd is 0) and ratio = top / second; NaN where undefined."""
    z = np.divide(top - mean, sd, out=np.zeros_like(top), where=sd > 0)
    z[np.isnan(top)] = np.nan
    ratio = np.divide(top, second, out=np.full_like(top, np.inf), where=second > 0)
    ratio[np.isnan(second)] = np.nan
    return z, ratio
