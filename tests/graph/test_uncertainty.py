"""Bootstrap over participants: reproducible, sensible intervals, winner stability."""

from __future__ import annotations

import numpy as np
import pytest

from graph import (
    InvalidInputError,
    Judgement,
    Thresholds,
    aggregate,
    bootstrap_rankings,
    encode_judgements,
    rank_contexts,
)


def mixed() -> list[Judgement]:
    """A clear winner in c1; a near tie in c2; nothing that survives trimming in c3."""
    rng = np.random.default_rng(0)
    rows = []
    for p in range(30):
        rows.append(Judgement(p, "a", "b", "c1", "upgrade" if rng.random() < 0.9 else "not_sure"))
        rows.append(Judgement(p, "c", "b", "c1", "upgrade" if rng.random() < 0.9 else "no_upgrade"))
        rows.append(Judgement(p, "x", "y", "c2", "upgrade" if rng.random() < 0.85 else "not_sure"))
        rows.append(Judgement(p, "x", "w", "c2", "upgrade" if rng.random() < 0.85 else "not_sure"))
    rows.append(Judgement(99, "m", "n", "c3", "upgrade"))
    return rows


def test_the_bootstrap_is_reproducible_and_seeded() -> None:
    arrays = encode_judgements(mixed())
    first = bootstrap_rankings(arrays, n_boot=40, seed=3)
    again = bootstrap_rankings(arrays, n_boot=40, seed=3)
    other = bootstrap_rankings(arrays, n_boot=40, seed=4)
    assert first.contexts == again.contexts
    assert first.contexts["c2"] != other.contexts["c2"]
    assert (first.n_boot, first.seed, first.level, first.thresholds) == (40, 3, 0.9, Thresholds())


def test_winner_stability_and_intervals() -> None:
    rows = mixed()
    result = bootstrap_rankings(encode_judgements(rows), n_boot=100, seed=1)
    plain = rank_contexts(aggregate(rows).by_context)
    clear, tie, empty = result.contexts["c1"], result.contexts["c2"], result.contexts["c3"]
    assert clear.winner == plain["c1"].winner == "b" and clear.winner_stability > 0.95
    assert tie.winner == plain["c2"].winner is not None and 0.2 < tie.winner_stability < 0.95
    assert set(tie.winner_counts) == {"y", "w"}
    assert sum(tie.winner_counts.values()) <= 100
    assert empty.winner is None and empty.winner_stability == 0.0
    # a participant drawn twice counts twice, so c3's lone judgement passes min_wiser=2 in some replicates
    n = empty.values["n"]
    assert n.score is None and n.rank is None and 0 < n.presence < 1 and n.rank_high == 1
    b = clear.values["b"]
    assert b.rank == 1 and b.rank_low == 1 and b.presence == 1.0
    assert b.score_low <= b.score <= b.score_high  # type: ignore[operator]
    for context in ("c1", "c2"):
        for value, interval in result.contexts[context].values.items():
            if interval.score is None:
                assert value not in plain[context].scores
            else:
                assert interval.score == pytest.approx(plain[context].scores[value])
            assert interval.score_low <= interval.score_high and 1 <= interval.rank_low <= interval.rank_high
            assert 0 < interval.presence <= 1


def test_bootstrap_parameters_are_checked() -> None:
    arrays = encode_judgements(mixed())
    with pytest.raises(InvalidInputError):
        bootstrap_rankings(arrays, n_boot=0)
    with pytest.raises(InvalidInputError):
        bootstrap_rankings(arrays, level=1.0)


def test_bootstrap_of_nothing() -> None:
    result = bootstrap_rankings(encode_judgements([], contexts=["c"]), n_boot=5)
    assert result.contexts["c"].winner is None and result.contexts["c"].values == {}


def test_bootstrap_on_the_study_data(study_judgements: list[Judgement]) -> None:
    result = bootstrap_rankings(encode_judgements(study_judgements), n_boot=30, seed=0)
    assert len(result.contexts) == 11
    assert all(0.0 <= c.winner_stability <= 1.0 and c.winner is not None for c in result.contexts.values())
