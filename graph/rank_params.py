"""The ranking parameters, in one place: PageRank's damping, variant, iteration limit and tolerance, and
how many runner-ups a ranking lists (DOMAIN.md §7.4).

Every ranking function of ``graph/`` takes these as keyword arguments whose defaults are
:data:`DEFAULT_RANK`'s; a build stores :meth:`RankParams.as_dict` with its snapshot and every export writes
it into its provenance.

Examples
--------
>>> DEFAULT_RANK.alpha, DEFAULT_RANK.variant
(0.85, 'networkx')
>>> RankParams.from_dict(RankParams(alpha=0.5).as_dict()) == RankParams(alpha=0.5)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from graph.errors import InvalidInputError

Variant = Literal["networkx", "mai"]
VARIANTS: tuple[str, ...] = ("networkx", "mai")


@dataclass(frozen=True)
class RankParams:
    """How a moral graph is ranked (MAI's PageRank; DOMAIN.md §7.4).

    Parameters
    ----------
    alpha : float
        Damping factor, in [0, 1].
    variant : {"networkx", "mai"}
        Iteration and dangling-node rule (see :mod:`graph.pagerank`).
    max_iter : int
        Iteration limit (``"mai"`` always runs exactly this many).
    tol : float
        Tolerance of the stopping test (per node, l1).
    top : int
        How many runner-ups a ranking lists.
    """

    alpha: float = 0.85
    variant: Variant = "networkx"
    max_iter: int = 100
    tol: float = 1.0e-6
    top: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.alpha, bool) or not 0.0 <= float(self.alpha) <= 1.0:
            raise InvalidInputError(f"alpha must lie in [0, 1], got {self.alpha!r}")
        if self.variant not in VARIANTS:
            raise InvalidInputError(f"variant must be 'networkx' or 'mai', got {self.variant!r}")
        for name in ("max_iter", "top"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"{name} must be an integer >= 0, got {value!r}")
        if math.isnan(float(self.tol)) or float(self.tol) <= 0.0:
            raise InvalidInputError(f"tol must be > 0, got {self.tol!r}")

    def as_dict(self) -> dict[str, Any]:
        """The parameters by name, as stored with a snapshot and written into every export's provenance."""
        return {"ranking": "pagerank", **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RankParams:
        """Inverse of :meth:`as_dict`; a missing name takes its default (older snapshots stored only
        ``ranking``, ``variant`` and ``alpha``, and were ranked with the defaults of the others).

        >>> RankParams.from_dict({"ranking": "pagerank", "variant": "networkx", "alpha": 0.85}).max_iter
        100
        """
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names - {"ranking"}
        if unknown:
            raise InvalidInputError(f"unknown ranking parameters: {sorted(unknown)}")
        if data.get("ranking", "pagerank") != "pagerank":
            raise InvalidInputError(f"unknown ranking {data['ranking']!r}")
        return cls(**{k: v for k, v in data.items() if k in names})


#: The parameters every ranking uses unless told otherwise (MAI's).
DEFAULT_RANK = RankParams()
