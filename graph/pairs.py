"""Aggregated judgements as column arrays: :class:`PairCounts` (one row per ordered pair) and
:class:`Aggregation` (pooled and per-context tables plus what was skipped).

Examples
--------
>>> import numpy as np
>>> table = PairCounts(source=np.array([0]), target=np.array([1]), wiser=np.array([3]),
...     not_wiser=np.array([0]), less_wise=np.array([0]), unsure=np.array([1]), impressions=np.array([4]),
...     wiser_likelihood=np.array([0.75]), entropy=np.array([1.4]), context_ptr=np.array([0, 1]),
...     context_codes=np.array([0]), values=("a", "b"), contexts=("When asked",))
>>> table.records()[0].contexts, len(table.take(np.array([False])))
(('When asked',), 0)
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np

from graph.errors import InvalidInputError
from graph.model import PairStats, Thresholds

COUNT_FIELDS: tuple[str, ...] = ("wiser", "not_wiser", "less_wise", "unsure", "impressions")


@dataclass(frozen=True, eq=False)
class PairCounts:
    """Ordered pairs as column arrays: codes, the five counts, likelihood, entropy and context sets.

    Contexts are stored compressed: the contexts of row ``i`` are
    ``context_codes[context_ptr[i]:context_ptr[i + 1]]`` (first-seen order, as MAI lists them).
    ``thresholds`` is ``None`` for an untrimmed table and the :class:`Thresholds` used otherwise.
    """

    source: np.ndarray
    target: np.ndarray
    wiser: np.ndarray
    not_wiser: np.ndarray
    less_wise: np.ndarray
    unsure: np.ndarray
    impressions: np.ndarray
    wiser_likelihood: np.ndarray
    entropy: np.ndarray
    context_ptr: np.ndarray
    context_codes: np.ndarray
    values: tuple[Hashable, ...]
    contexts: tuple[Hashable, ...]
    thresholds: Thresholds | None = None

    def __len__(self) -> int:
        return len(self.source)

    def contexts_of(self, row: int) -> tuple[Hashable, ...]:
        """Context labels of one row."""
        start, stop = int(self.context_ptr[row]), int(self.context_ptr[row + 1])
        return tuple(self.contexts[int(c)] for c in self.context_codes[start:stop])

    @property
    def row_context(self) -> np.ndarray:
        """The context code of each row, for tables where every row has exactly one context."""
        if len(self) and not np.all(np.diff(self.context_ptr) == 1):
            raise InvalidInputError("rows of this table have several contexts each")
        return self.context_codes

    def take(self, index: np.ndarray, *, thresholds: Thresholds | None = None) -> PairCounts:
        """The rows at ``index`` (integer positions or a boolean mask), in that order."""
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index, dtype=np.int64)
        starts, lengths = self.context_ptr[idx], np.diff(self.context_ptr)[idx]
        ptr = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        gather = np.arange(int(ptr[-1]), dtype=np.int64) - np.repeat(ptr[:-1] - starts, lengths)
        columns = {name: getattr(self, name)[idx] for name in ("source", "target", *COUNT_FIELDS)}
        return PairCounts(
            **columns,
            wiser_likelihood=self.wiser_likelihood[idx],
            entropy=self.entropy[idx],
            context_ptr=ptr,
            context_codes=self.context_codes[gather],
            values=self.values,
            contexts=self.contexts,
            thresholds=self.thresholds if thresholds is None else thresholds,
        )

    def records(self) -> list[PairStats]:
        """One :class:`PairStats` per row, with labels instead of codes."""
        columns = [getattr(self, name).tolist() for name in COUNT_FIELDS]
        likelihood, entropy = self.wiser_likelihood.tolist(), self.entropy.tolist()
        return [
            PairStats(
                source=self.values[s],
                target=self.values[t],
                contexts=self.contexts_of(i),
                wiser=columns[0][i],
                not_wiser=columns[1][i],
                less_wise=columns[2][i],
                unsure=columns[3][i],
                impressions=columns[4][i],
                wiser_likelihood=likelihood[i],
                entropy=entropy[i],
            )
            for i, (s, t) in enumerate(zip(self.source.tolist(), self.target.tolist(), strict=True))
        ]


@dataclass(frozen=True, eq=False)
class Aggregation:
    """What aggregating judgements gives: all pairs pooled and per context, plus what was skipped.

    ``pairs`` pools every context (MAI's graph); ``by_context`` has one row per (context, ordered pair),
    computed from that context's judgements only, sorted by context (the per-context graphs).
    Neither is trimmed: see :func:`graph.build.trim`.
    """

    pairs: PairCounts
    by_context: PairCounts
    values: tuple[Hashable, ...]
    contexts: tuple[Hashable, ...]
    participants: tuple[Hashable, ...]
    n_used: int
    skipped: Mapping[str, int] = field(default_factory=dict)
