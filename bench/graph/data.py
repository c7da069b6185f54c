"""Seeded synthetic judgements shaped like a real deliberation.

The shape (defaults of :class:`Spec`):

* 10,000 canonical values and 200 contexts. Contexts differ in size (Zipf-like, exponent 0.8): the biggest
  holds ~10% of the hypotheses, the smallest a handful. Each context draws its own pool of values
  (~3 * h**0.7 values for h hypotheses), popular values (Zipf-like, exponent 1) entering many pools.
* 50,000 distinct hypotheses (from value, to value, context) drawn inside the pools; three in four point
  from the value with the lower latent "wisdom" to the higher one (stories are written for plausible
  upgrades), and those are likelier to be answered ``upgrade``.
* Judgements fall on hypotheses with a Zipf-like skew (exponent 0.8: the most judged hypothesis gets ~2.5%
  of all judgements, most get a few). Answers: ~55% upgrade, ~25% no_upgrade, ~20% not_sure.
* Participants: judgements / 5; each judges a hypothesis at most once (as the Judgement table's unique
  constraint demands). Rows come in random order (the order of the database ids).

Ids start at 1 (as database ids do): values ``1..V``, contexts ``1..C``, participants ``1..P``,
hypotheses ``1..H``.

Examples
--------
>>> d = generate(Spec(n_judgements=1_000, n_values=100, n_contexts=5, n_hypotheses=300, seed=1))
>>> len(d), d.n_participants, int(d.source.min()) >= 1, bool(((d.source != d.target)).all())
(1000, 200, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import graph

#: Answer names in the order of their codes (:class:`graph.Answer`: 0 upgrade, 1 no_upgrade, 2 not_sure).
ANSWER_NAMES: tuple[str, ...] = ("upgrade", "no_upgrade", "not_sure")


@dataclass(frozen=True)
class Spec:
    """Sizes and shape parameters of one synthetic deliberation."""

    n_judgements: int
    n_values: int = 10_000
    n_contexts: int = 200
    n_hypotheses: int = 50_000
    judgements_per_participant: float = 5.0
    seed: int = 0
    context_skew: float = 0.8  # Zipf exponent of hypotheses over contexts
    value_skew: float = 1.0  # Zipf exponent of a value's chance to enter a context's pool
    hypothesis_skew: float = 0.8  # Zipf exponent of judgements over hypotheses
    plausible_share: float = 0.75  # share of hypotheses pointing from the less wise value to the wiser one

    @property
    def n_participants(self) -> int:
        return max(1, round(self.n_judgements / self.judgements_per_participant))


@dataclass(frozen=True, eq=False)
class Synthetic:
    """One synthetic deliberation: judgement columns (ids) and the hypotheses they judge."""

    spec: Spec
    participant: np.ndarray  # int64 participant id per judgement
    source: np.ndarray  # int64 from-value id
    target: np.ndarray  # int64 to-value id
    context: np.ndarray  # int64 context id
    answer: np.ndarray  # int8 answer code (0 upgrade, 1 no_upgrade, 2 not_sure)
    hypothesis: np.ndarray  # int64 hypothesis id
    hyp_source: np.ndarray  # per hypothesis (id - 1): from-value id
    hyp_target: np.ndarray
    hyp_context: np.ndarray

    def __len__(self) -> int:
        return len(self.participant)

    @property
    def n_participants(self) -> int:
        return self.spec.n_participants

    @property
    def value_ids(self) -> list[int]:
        return list(range(1, self.spec.n_values + 1))

    @property
    def context_ids(self) -> list[int]:
        return list(range(1, self.spec.n_contexts + 1))

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """participant, from value, to value, context, answer code.

        What ``repo_judgements.judgement_matrix`` gives.
        """
        return self.participant, self.source, self.target, self.context, self.answer

    def judgements(self) -> list[graph.Judgement]:
        """The same rows as :class:`graph.Judgement` objects (answers by MAI's names), for the reference."""
        names = ANSWER_NAMES
        return [
            graph.Judgement(p, s, t, c, names[a])
            for p, s, t, c, a in zip(
                self.participant.tolist(),
                self.source.tolist(),
                self.target.tolist(),
                self.context.tolist(),
                self.answer.tolist(),
                strict=True,
            )
        ]


def _zipf(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities proportional to ``1 / rank**exponent``, ranks randomly assigned to the n items."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def _hypotheses(spec: Spec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (value, value, context) triples (unordered pairs: a < b), as indices from 0, shuffled."""
    n_values, n_contexts = spec.n_values, spec.n_contexts
    per_context = rng.multinomial(spec.n_hypotheses, _zipf(n_contexts, spec.context_skew, rng))
    pool_size = np.clip(np.ceil(3.0 * per_context**0.7).astype(np.int64), 8, n_values)
    per_context = np.minimum(per_context, pool_size * (pool_size - 1) // 2)  # room for distinct pairs
    popularity = _zipf(n_values, spec.value_skew, rng)
    pools = [rng.choice(n_values, size=int(s), replace=False, p=popularity) for s in pool_size]
    pool_values = np.concatenate(pools)
    pool_start = np.concatenate([[0], np.cumsum(pool_size)[:-1]])

    kept = np.empty(0, dtype=np.int64)  # keys c * V * V + a * V + b of the accepted triples
    missing = per_context.copy()
    while missing.sum() > 0:
        context = np.repeat(np.arange(n_contexts), 2 * missing + 4)
        size = pool_size[context]
        # mild skew inside a pool too: its first members (the most popular values) appear more often
        a = pool_values[pool_start[context] + (size * rng.random(len(context)) ** 1.5).astype(np.int64)]
        b = pool_values[pool_start[context] + (size * rng.random(len(context)) ** 1.5).astype(np.int64)]
        ok = a != b  # unordered pairs: a story in one direction only (oriented below)
        lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
        key = (context[ok] * n_values + lo) * n_values + hi
        key = key[~np.isin(key, kept)]
        key = key[np.sort(np.unique(key, return_index=True)[1])]  # distinct, first-drawn order
        key_context = key // (n_values * n_values)
        order = np.argsort(key_context, kind="stable")
        starts = np.searchsorted(key_context[order], np.arange(n_contexts))
        rank = np.arange(len(key)) - starts[key_context[order]]
        take = order[rank < missing[key_context[order]]]
        kept = np.concatenate([kept, key[take]])
        missing = per_context - np.bincount(kept // (n_values * n_values), minlength=n_contexts)
    kept = rng.permutation(kept)
    context, rest = np.divmod(kept, n_values * n_values)
    a, b = np.divmod(rest, n_values)
    return a, b, context


def generate(spec: Spec) -> Synthetic:
    """A seeded synthetic deliberation (same spec, same arrays)."""
    rng = np.random.default_rng(spec.seed)
    a, b, hyp_context = _hypotheses(spec, rng)
    wisdom = rng.normal(size=spec.n_values)
    plausible = (wisdom[b] > wisdom[a]) == (rng.random(len(a)) < spec.plausible_share)
    hyp_source, hyp_target = np.where(plausible, a, b), np.where(plausible, b, a)
    toward_wiser = wisdom[hyp_target] > wisdom[hyp_source]
    # chance of "upgrade" per hypothesis: mean 0.65 toward the wiser value, 0.25 away (0.55 overall)
    p_upgrade = np.where(toward_wiser, rng.beta(1.3, 0.7, size=len(a)), rng.beta(0.5, 1.5, size=len(a)))

    n, n_participants = spec.n_judgements, spec.n_participants
    hypothesis = rng.choice(len(a), size=n, p=_zipf(len(a), spec.hypothesis_skew, rng))
    if np.bincount(hypothesis).max() > n_participants:
        raise ValueError("more judgements of one hypothesis than participants: lower hypothesis_skew")
    participant = rng.integers(n_participants, size=n)
    while True:  # each participant judges a hypothesis at most once: redraw the repeats
        key = hypothesis * n_participants + participant
        repeat = np.ones(n, dtype=bool)
        repeat[np.unique(key, return_index=True)[1]] = False
        if not repeat.any():
            break
        participant[repeat] = rng.integers(n_participants, size=int(repeat.sum()))

    upgrade = rng.random(n) < p_upgrade[hypothesis]
    no_upgrade = rng.random(n) < 0.25 / 0.45
    answer = np.where(upgrade, 0, np.where(no_upgrade, 1, 2)).astype(np.int8)
    return Synthetic(
        spec=spec,
        participant=participant + 1,
        source=hyp_source[hypothesis] + 1,
        target=hyp_target[hypothesis] + 1,
        context=hyp_context[hypothesis] + 1,
        answer=answer,
        hypothesis=hypothesis + 1,
        hyp_source=hyp_source + 1,
        hyp_target=hyp_target + 1,
        hyp_context=hyp_context + 1,
    )
