"""Fast aggregation of judgements into ordered-pair counts (numpy: one sort, then ``bincount``).

The rules are DOMAIN.md §7 (MAI's ``summarizeGraph``): a judgement (A, B, c, answer) adds an impression
and its answer to the pair A→B, and an impression (plus ``lessWise`` for an upgrade) to B→A, both in
context c. Every judgement touches both orientations of the unordered pair {A, B}, so judgements are
grouped once by (context, min(A, B), max(A, B)) and each group yields exactly two ordered rows. The same
sort finds duplicate rows. Rows, pairs and context lists come out in MAI's first-seen order, so the result
equals :func:`graph.reference.aggregate_reference` exactly, order included.

:class:`AggregationPlan` keeps the grouping so that recounting with row weights (a bootstrap resample,
one demographic group) costs a few ``bincount`` calls.

Examples
--------
>>> from graph.aggregate import aggregate
>>> from graph.model import Judgement
>>> agg = aggregate([Judgement(1, "a", "b", "c1", "upgrade"), Judgement(2, "a", "b", "c1", "upgrade"),
...                  Judgement(3, "b", "a", "c2", "not_sure"), Judgement(3, "b", "b", "c2", "upgrade")])
>>> [(r.source, r.target, r.wiser, r.less_wise, r.impressions, r.contexts) for r in agg.pairs.records()]
[('a', 'b', 2, 0, 3, ('c1', 'c2')), ('b', 'a', 0, 2, 3, ('c2', 'c1'))]
>>> agg.skipped["self_loop"], agg.n_used
(1, 3)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Literal

import numpy as np

from graph.encode import encode_judgements
from graph.errors import InvalidInputError, InvalidJudgementError
from graph.keys import group_rows, sorted_runs
from graph.model import SKIP_REASONS, Judgement, JudgementArrays
from graph.pairs import Aggregation, PairCounts
from graph.stats import entropy_array, likelihood_array

OnInvalid = Literal["skip", "raise"]
Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def row_problems(arrays: JudgementArrays) -> np.ndarray:
    """Index into :data:`~graph.model.SKIP_REASONS` of each row's first problem, -1 when none.

    Duplicates are not detected here (that needs the grouping sort, see :class:`AggregationPlan`).
    """
    problems = np.full(len(arrays), -1, dtype=np.int8)
    checks = [
        (arrays.participant < 0) | (arrays.source == -1) | (arrays.target == -1),
        arrays.context < 0,
        arrays.answer < 0,
        (arrays.source < 0) | (arrays.target < 0),
        arrays.source == arrays.target,
    ]
    for code in reversed(range(len(checks))):  # the first failing check wins
        problems[checks[code]] = code
    return problems


class AggregationPlan:
    """The grouping of one set of judgement arrays, reusable for weighted recounts."""

    def __init__(self, arrays: JudgementArrays, *, on_invalid: OnInvalid = "skip") -> None:
        if on_invalid not in ("skip", "raise"):
            raise InvalidInputError(f"on_invalid must be 'skip' or 'raise', got {on_invalid!r}")
        self.arrays = arrays
        n = len(arrays)
        problems = row_problems(arrays)
        valid = np.flatnonzero(problems < 0)
        a, b, c = arrays.source[valid], arrays.target[valid], arrays.context[valid]
        lo, hi, orient = np.minimum(a, b), np.maximum(a, b), (a > b).astype(np.int64)
        order, row_start, triple_start = sorted_runs([c, lo, hi, arrays.participant[valid], orient], 3)
        problems[valid[order[~row_start]]] = SKIP_REASONS.index("duplicate")
        if on_invalid == "raise" and np.any(problems >= 0):
            row = int(np.flatnonzero(problems >= 0)[0])
            reason = SKIP_REASONS[int(problems[row])]
            raise InvalidJudgementError(reason, row, f"judgement {row} cannot be used: {reason}")
        self.skipped = {r: int(np.count_nonzero(problems == i)) for i, r in enumerate(SKIP_REASONS)}

        triple_of_sorted = np.cumsum(triple_start) - 1
        firsts = order[triple_start]
        n_triples = len(firsts)
        triple_of = np.empty(len(valid), dtype=np.int64)
        triple_of[order] = triple_of_sorted
        kept = problems[valid] < 0
        self.rows = valid[kept]  # original positions of the used rows, ascending
        self.participant = arrays.participant[self.rows]
        self.answer = arrays.answer[self.rows]
        triple = triple_of[kept]
        self.forward = 2 * triple + orient[kept]  # ordered row a→b; its reverse is forward ^ 1
        self.forward_answer = 3 * self.forward + self.answer  # Answer codes are 0, 1, 2
        self.n_ordered = 2 * n_triples

        # ordered row 2t is lo→hi of triple t, 2t+1 is hi→lo
        self.context = np.repeat(c[firsts], 2)
        self.src = np.column_stack([lo[firsts], hi[firsts]]).ravel()
        self.dst = np.column_stack([hi[firsts], lo[firsts]]).ravel()
        big = np.int64(4 * n + 4)
        first_forward = np.full(self.n_ordered, big, dtype=np.int64)
        np.minimum.at(first_forward, self.forward, self.rows)
        self.first_pos = np.minimum(first_forward, n + first_forward[np.arange(self.n_ordered) ^ 1])
        span = 2 * n + 1
        self.by_context_order = np.argsort(self.context * span + self.first_pos, kind="stable")

        pair_of, _, n_pairs = group_rows([self.src, self.dst])
        pair_first = np.full(n_pairs, big, dtype=np.int64)
        np.minimum.at(pair_first, pair_of, self.first_pos)
        pair_rank = np.empty(n_pairs, dtype=np.int64)
        pair_rank[np.argsort(pair_first, kind="stable")] = np.arange(n_pairs)
        self.pair_of = pair_rank[pair_of]  # pair ids in first-seen order
        self.n_pairs = n_pairs
        self.pair_context_order = np.argsort(self.pair_of * span + self.first_pos, kind="stable")

    def counts(self, weights: np.ndarray | None = None) -> Counts:
        """The five counts of every ordered row (internal order), each used row weighted by ``weights``.

        ``weights`` aligns with :attr:`rows`; integer weights (resample multiplicities, 0/1 masks) keep
        the counts integral.
        """
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        m = self.n_ordered
        # one pass: answers per (ordered row, answer); the reverse row of o is o ^ 1, so an upgrade of o is a
        # lessWise of o ^ 1 and every judgement is an impression of both
        by_answer = np.bincount(self.forward_answer, weights=w, minlength=3 * m).reshape(m, 3)
        if w is not None:
            by_answer = np.rint(by_answer).astype(np.int64)
        flip = np.arange(m) ^ 1
        wiser, not_wiser, unsure = (by_answer[:, k].copy() for k in range(3))
        judged = wiser + not_wiser + unsure
        return wiser, not_wiser, wiser[flip], unsure, judged + judged[flip]

    def _table(
        self, counts: Counts, src: np.ndarray, dst: np.ndarray, ptr: np.ndarray, codes: np.ndarray
    ) -> PairCounts:
        wiser, not_wiser, less_wise, unsure, impressions = counts
        return PairCounts(
            source=src,
            target=dst,
            wiser=wiser,
            not_wiser=not_wiser,
            less_wise=less_wise,
            unsure=unsure,
            impressions=impressions,
            wiser_likelihood=likelihood_array(wiser, not_wiser, less_wise, unsure),
            entropy=entropy_array(wiser, not_wiser, less_wise, unsure, impressions),
            context_ptr=ptr,
            context_codes=codes,
            values=self.arrays.values,
            contexts=self.arrays.contexts,
        )

    def by_context(self, counts: Counts | None = None) -> PairCounts:
        """One row per (context, ordered pair) with at least one impression, sorted by context."""
        counts = self.counts() if counts is None else counts
        order = self.by_context_order[counts[4][self.by_context_order] > 0]
        selected = _take(counts, order)
        ptr = np.arange(len(order) + 1, dtype=np.int64)
        return self._table(selected, self.src[order], self.dst[order], ptr, self.context[order])

    def pairs(self, counts: Counts | None = None) -> PairCounts:
        """One row per ordered pair (all contexts pooled) with at least one impression."""
        counts = self.counts() if counts is None else counts
        pooled = _take(tuple(np.bincount(self.pair_of, weights=c, minlength=self.n_pairs) for c in counts))
        present = pooled[4] > 0
        members = self.pair_context_order[counts[4][self.pair_context_order] > 0]
        lengths = np.bincount(self.pair_of[members], minlength=self.n_pairs)[present]
        ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        pair_src = np.zeros(self.n_pairs, dtype=np.int64)
        pair_dst = np.zeros(self.n_pairs, dtype=np.int64)
        pair_src[self.pair_of] = self.src
        pair_dst[self.pair_of] = self.dst
        return self._table(
            _take(pooled, present), pair_src[present], pair_dst[present], ptr, self.context[members]
        )

    def aggregate(self, weights: np.ndarray | None = None) -> Aggregation:
        """Both tables (pooled and per context), the labels and the skip counts."""
        counts = self.counts(weights)
        used = len(self.rows) if weights is None else int(np.count_nonzero(weights))
        return Aggregation(
            pairs=self.pairs(counts),
            by_context=self.by_context(counts),
            values=self.arrays.values,
            contexts=self.arrays.contexts,
            participants=self.arrays.participants,
            n_used=used,
            skipped=dict(self.skipped),
        )


def _take(counts: Sequence[np.ndarray], index: np.ndarray | None = None) -> Counts:
    """The five count columns as int64, optionally at ``index``."""
    taken = [np.rint(c).astype(np.int64) if c.dtype.kind == "f" else c for c in counts]
    w, nw, lw, u, i = (c if index is None else c[index] for c in taken)
    return w, nw, lw, u, i


def aggregate_arrays(arrays: JudgementArrays, *, on_invalid: OnInvalid = "skip") -> Aggregation:
    """Aggregate integer-coded judgement columns (the fast path).

    Parameters
    ----------
    arrays : JudgementArrays
    on_invalid : {"skip", "raise"}
        Skip and count unusable rows (``Aggregation.skipped``), or raise
        :class:`~graph.errors.InvalidJudgementError` at the first one.

    Examples
    --------
    >>> import numpy as np
    >>> from graph.model import JudgementArrays
    >>> arrays = JudgementArrays(participant=[0, 1], source=[0, 0], target=[1, 1], context=[0, 0],
    ...                          answer=[0, 2], values=("a", "b"), contexts=("c",), participants=(7, 8))
    >>> agg = aggregate_arrays(arrays)
    >>> agg.pairs.wiser.tolist(), agg.pairs.unsure.tolist(), agg.pairs.wiser_likelihood.tolist()
    ([1, 0], [1, 0], [0.5, -1.0])
    """
    return AggregationPlan(arrays, on_invalid=on_invalid).aggregate()


def aggregate(
    judgements: Iterable[Judgement],
    *,
    values: Sequence[Hashable] | None = None,
    contexts: Sequence[Hashable] | None = None,
    on_invalid: OnInvalid = "skip",
) -> Aggregation:
    """Aggregate :class:`~graph.model.Judgement` rows (codes them, then :func:`aggregate_arrays`).

    ``values``: the known value set (judgements naming another value are skipped as ``unknown_value``);
    ``contexts``: contexts to list even when nobody judged in them.
    """
    arrays = encode_judgements(judgements, values=values, contexts=contexts)
    return aggregate_arrays(arrays, on_invalid=on_invalid)
