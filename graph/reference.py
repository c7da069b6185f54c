"""Slow, obvious reference implementations (plain Python loops and dicts) that the fast path must match.

:func:`aggregate_reference` follows MAI's ``summarizeGraph`` line by line (a forward pass, then a reverse
pass, a dict of pairs in insertion order). :func:`pagerank_reference` is a textbook weighted PageRank with
networkx's conventions (or MAI's unnormalised variant). Tests compare them with :mod:`graph.aggregate` and
:mod:`graph.pagerank` on random inputs and on the published data.

Examples
--------
>>> from graph.model import Judgement
>>> ref = aggregate_reference([Judgement(1, "a", "b", "c", "upgrade"), Judgement(2, "a", "b", "c", None)])
>>> [(p.source, p.target, p.wiser, p.impressions) for p in ref.pairs], ref.skipped["invalid_answer"]
([('a', 'b', 1, 1), ('b', 'a', 0, 1)], 1)
>>> scores = pagerank_reference({("a", "b"): 1.0}, ["a", "b"])
>>> round(scores["b"], 4), round(scores["a"] + scores["b"], 6)
(0.6491, 1.0)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from graph.errors import ConvergenceError, InvalidJudgementError
from graph.model import SKIP_REASONS, Answer, Judgement, PairStats, is_missing
from graph.rank_params import DEFAULT_RANK, Variant
from graph.stats import entropy, wiser_likelihood


@dataclass
class ReferenceAggregation:
    """Output of :func:`aggregate_reference`: pooled pairs, pairs per context, skip counts."""

    pairs: list[PairStats]
    by_context: dict[Hashable, list[PairStats]]
    skipped: dict[str, int] = field(default_factory=dict)
    n_used: int = 0


def _problem(row: Judgement, values: set[Hashable] | None, seen: set[tuple[Hashable, ...]]) -> str | None:
    if is_missing(row.participant) or is_missing(row.source) or is_missing(row.target):
        return "missing_field"
    if is_missing(row.context) or (isinstance(row.context, str) and not row.context.strip()):
        return "empty_context"
    if Answer.parse(row.answer) < 0:
        return "invalid_answer"
    if values is not None and (row.source not in values or row.target not in values):
        return "unknown_value"
    if row.source == row.target:
        return "self_loop"
    if (row.participant, row.source, row.target, row.context) in seen:
        return "duplicate"
    return None


@dataclass
class _Tally:
    contexts: list[Hashable] = field(default_factory=list)
    wiser: int = 0
    not_wiser: int = 0
    less_wise: int = 0
    unsure: int = 0
    impressions: int = 0


def _summarize(rows: list[Judgement]) -> list[PairStats]:
    """MAI's two passes over the rows, then the statistics of each pair."""
    pairs: dict[tuple[Hashable, Hashable], _Tally] = {}
    for row in rows:
        tally = pairs.setdefault((row.source, row.target), _Tally())
        tally.contexts.append(row.context)
        tally.impressions += 1
        answer = Answer.parse(row.answer)
        if answer == Answer.UPGRADE:
            tally.wiser += 1
        elif answer == Answer.NO_UPGRADE:
            tally.not_wiser += 1
        elif answer == Answer.NOT_SURE:
            tally.unsure += 1
    for row in rows:  # the opposite direction
        tally = pairs.setdefault((row.target, row.source), _Tally())
        tally.contexts.append(row.context)
        tally.impressions += 1
        if Answer.parse(row.answer) == Answer.UPGRADE:
            tally.less_wise += 1
    return [
        PairStats(
            source=a,
            target=b,
            contexts=tuple(dict.fromkeys(t.contexts)),
            wiser=t.wiser,
            not_wiser=t.not_wiser,
            less_wise=t.less_wise,
            unsure=t.unsure,
            impressions=t.impressions,
            wiser_likelihood=wiser_likelihood(t.wiser, t.not_wiser, t.less_wise, t.unsure),
            entropy=entropy(t.wiser, t.not_wiser, t.less_wise, t.unsure, t.impressions),
        )
        for (a, b), t in pairs.items()
    ]


def aggregate_reference(
    judgements: Iterable[Judgement],
    *,
    values: Iterable[Hashable] | None = None,
    on_invalid: Literal["skip", "raise"] = "skip",
) -> ReferenceAggregation:
    """Aggregate judgements with plain loops (same rules and skip reasons as :func:`graph.aggregate`)."""
    known = None if values is None else set(values)
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    seen: set[tuple[Hashable, ...]] = set()
    used: list[Judgement] = []
    for position, row in enumerate(judgements):
        problem = _problem(row, known, seen)
        if problem is not None:
            if on_invalid == "raise":
                raise InvalidJudgementError(
                    problem, position, f"judgement {position} cannot be used: {problem}"
                )
            skipped[problem] += 1
            continue
        seen.add((row.participant, row.source, row.target, row.context))
        used.append(row)
    by_context: dict[Hashable, list[Judgement]] = {}
    for row in used:
        by_context.setdefault(row.context, []).append(row)
    return ReferenceAggregation(
        pairs=_summarize(used),
        by_context={c: _summarize(rows) for c, rows in by_context.items()},
        skipped=skipped,
        n_used=len(used),
    )


def pagerank_reference(
    edges: Mapping[tuple[Hashable, Hashable], float],
    nodes: Sequence[Hashable],
    *,
    alpha: float = DEFAULT_RANK.alpha,
    variant: Variant = DEFAULT_RANK.variant,
    max_iter: int = DEFAULT_RANK.max_iter,
    tol: float = DEFAULT_RANK.tol,
) -> dict[Hashable, float]:
    """Weighted PageRank with dicts: rank flows along each edge in proportion to its weight.

    ``variant="networkx"``: dangling nodes spread their rank uniformly, stop when the l1 change is below
    ``len(nodes) * tol`` (as :func:`networkx.pagerank`). ``variant="mai"``: MAI's hand-written loop,
    exactly ``max_iter`` iterations, the rank of dead ends is dropped (scores do not sum to 1).
    """
    n = len(nodes)
    if n == 0:
        return {}
    out_weight = dict.fromkeys(nodes, 0.0)
    for (u, _), w in edges.items():
        out_weight[u] += w
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(max_iter):
        dangling = sum(rank[v] for v in nodes if out_weight[v] == 0) if variant == "networkx" else 0.0
        new = {v: (1.0 - alpha) / n + alpha * dangling / n for v in nodes}
        for (u, v), w in edges.items():
            if out_weight[u] > 0:
                new[v] += alpha * rank[u] * (w / out_weight[u])
        change = sum(abs(new[v] - rank[v]) for v in nodes)
        rank = new
        if variant == "networkx" and change < n * tol:
            return rank
    if variant == "mai":
        return rank
    raise ConvergenceError(f"PageRank did not converge in {max_iter} iterations")
