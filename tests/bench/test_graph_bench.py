"""bench.graph at a tiny size: the data is what it claims, and every path finds the same winners.

Timings are never asserted (the benchmark itself reports them; see bench/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.graph import paths, run
from bench.graph.data import Spec, generate
from graph import Thresholds
from storage import repo_judgements
from storage.db import session_scope

TINY = Spec(n_judgements=2_000, n_values=200, n_contexts=10, n_hypotheses=500, seed=3)
TINY_ARGS = ["--sizes", "2000", "--values", "200", "--contexts", "10", "--hypotheses", "500", "--repeat", "1"]


def test_synthetic_data_has_the_promised_shape() -> None:
    data = generate(TINY)
    assert len(data) == 2_000 and data.n_participants == 400
    assert np.array_equal(data.source, data.hyp_source[data.hypothesis - 1])
    assert np.array_equal(data.context, data.hyp_context[data.hypothesis - 1])
    assert (data.source != data.target).all()
    assert data.source.min() >= 1 and max(data.source.max(), data.target.max()) <= 200
    assert data.context.min() >= 1 and data.context.max() <= 10
    # each participant judges a hypothesis at most once; hypotheses are distinct, in one direction only
    assert len(np.unique(data.hypothesis * 1_000 + data.participant)) == len(data)
    lo = np.minimum(data.hyp_source, data.hyp_target)
    hi = np.maximum(data.hyp_source, data.hyp_target)
    assert len(np.unique((data.hyp_context * 1_000 + lo) * 1_000 + hi)) == 500
    shares = np.bincount(data.answer, minlength=3) / len(data)
    assert shares == pytest.approx([0.55, 0.25, 0.20], abs=0.08)
    again = generate(TINY)
    assert all(np.array_equal(a, b) for a, b in zip(data.columns(), again.columns(), strict=True))


def test_fast_reference_and_database_paths_agree(tmp_path: Path) -> None:
    data = generate(TINY)
    thresholds = Thresholds()
    fast = paths.fast_build(data.columns(), data.value_ids, data.context_ids, thresholds)
    reference = paths.reference_build(data.judgements(), data.value_ids, data.context_ids, thresholds)
    assert fast.winners == reference.winners
    assert fast.overall_winner == reference.overall_winner
    assert fast.context_edges == reference.context_edges and fast.n_edges == reference.n_edges
    assert fast.n_edges > 0 and any(w is not None for w in fast.winners.values())

    engine = paths.populate_sqlite(tmp_path / "bench.sqlite3", data)
    try:
        seconds, count = paths.raw_read(tmp_path / "bench.sqlite3")
        _, coded_count = paths.raw_read(tmp_path / "bench.sqlite3", sql=paths.CODED_SQL)
        with session_scope(engine) as session:
            matrix = repo_judgements.judgement_matrix(session, deliberation_id=paths.DELIBERATION_ID)
        stored = paths.db_build(engine, thresholds)
    finally:
        engine.dispose()
    assert count == coded_count == len(data) and seconds >= 0
    # the product's read gives back exactly the columns written, answers coded as the build expects
    assert np.array_equal(matrix, np.column_stack(data.columns()))
    assert paths.mismatches(fast, stored) == 0 and stored.n_edges == fast.n_edges
    assert stored.context_edges == fast.context_edges
    # the stages are services.research.graphs.build_snapshot's: the three reads, the fast build, the shown
    # values
    assert list(stored.stages) == [
        "judgement_matrix",
        "canonical_value_ids",
        "list_contexts",
        *fast.stages,
        "get_canonical_values",
    ]
    shown = paths.shown_value_ids(fast)
    assert 0 < len(shown) < len(data.value_ids) and stored.shown_values == len(shown)
    assert {w for w in fast.winners.values() if w is not None} <= set(shown)


def test_the_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    json_path = tmp_path / "results.json"
    assert run.main([*TINY_ARGS, "--tmp", str(tmp_path), "--json", str(json_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.lstrip().startswith("judgements"))
    assert all(name in out[header] for name in run.HEADER)
    assert set(out[header + 1]) <= {"-", " "}
    cells = out[header + 2].split()
    assert cells[0] == "2,000" and cells[-3:] == ["0", "/", "0"]  # winners differ: reference / database
    assert out[header + 3] == ""  # one row per size
    database = next(i for i, line in enumerate(out) if line.startswith("  database"))
    stages = " ".join(out[database : database + 3])
    assert all(f" {s} " in stages for s in ("judgement_matrix", "canonical_value_ids", "list_contexts"))
    assert "get_canonical_values" in stages and "dbapi" not in "\n".join(out)
    assert any(line.startswith("Targets at 2,000 judgements") for line in out)
    assert json_path.exists()
    assert list(tmp_path.iterdir()) == [json_path]  # the temporary database is gone
