"""Building and exporting moral graphs through the database, and the published study's reproduction."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import select

from cli import cli
from errors import InvalidInput
from services.facilitator import deliberations
from services.research import dft_import, graphs
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from storage.tables import CanonicalValue, Context, Judgement

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
needs_study_data = pytest.mark.skipif(
    not (SHARED_DATA / "dft-data" / "edge.json").exists(),
    reason=f"REFERENCE DATA MISSING: {SHARED_DATA} is absent, the published-graph reproduction cannot run",
)


def _compare_with_published(exported: dict, published: dict) -> None:
    """Every published edge, keyed by MAI's value ids, equals ours exactly (floats to 1e-12)."""
    dft_id = {v["id"]: int(v["externalRef"]) for v in exported["values"]}
    ours = {(dft_id[e["sourceValueId"]], dft_id[e["wiserValueId"]]): e for e in exported["edges"]}
    theirs = {(e["sourceValueId"], e["wiserValueId"]): e for e in published["edges"]}
    assert len(theirs) == 69
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        got = ours[key]
        assert got["counts"] == expected["counts"], key
        for name in ("wiserLikelihood", "entropy"):
            assert math.isclose(got["summary"][name], expected["summary"][name], rel_tol=0, abs_tol=1e-12), (
                key
            )
        assert sorted(got["contexts"]) == sorted(expected["contexts"]), key
    titles = {v["id"]: v["title"] for v in published["values"]}
    for v in exported["values"]:
        assert v["title"] == titles[int(v["externalRef"])]


@needs_study_data
def test_import_build_export_reproduces_the_published_graph(database_url: str, tmp_path: Path) -> None:
    """DOMAIN.md §8: judgements before 2023-10-18 give exactly the 69 published edges (SQLite and PG)."""
    env = {"DATABASE_URL": database_url, "LLM_MODE": "fake", "DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    imported = runner.invoke(
        cli,
        ["import-dft", str(SHARED_DATA / "dft-data"), "--before", "2023-10-18"],
        env=env,
        catch_exceptions=False,
    )
    assert imported.exit_code == 0, imported.output
    deliberation_id = imported.stdout.strip()
    assert "1540 judgements" in imported.stderr and "11 duplicate vote" in imported.stderr

    built = runner.invoke(cli, ["build", deliberation_id], env=env, catch_exceptions=False)
    assert built.exit_code == 0, built.output
    assert "60 values, 69 edges, 11 contexts from 1540 judgements (skipped: none" in built.output

    out = tmp_path / "graph.json"
    exported = runner.invoke(
        cli, ["export", deliberation_id, "--format", "mai-json", "--out", str(out)], env=env
    )
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    _compare_with_published(
        document, json.loads((SHARED_DATA / "moral-graph-all-participants.json").read_text())
    )
    assert document["provenance"]["thresholds"] == {
        "min_wiser": 2,
        "min_likelihood": 0.33,
        "max_entropy": 1.69,
    }
    assert document["provenance"]["judgements"] == 1540

    graphml = tmp_path / "graph.graphml"
    assert (
        runner.invoke(
            cli, ["export", deliberation_id, "--format", "graphml", "--out", str(graphml)], env=env
        ).exit_code
        == 0
    )
    G = nx.read_graphml(graphml)
    assert (G.number_of_nodes(), G.number_of_edges()) == (60, 69)


def _seed_judgements(engine: Engine, answers: list[str], *, config: dict | None = None) -> int:
    """A deliberation with values A, B and ``answers`` judgements of A -> B (one participant each)."""
    d = deliberations.create_deliberation(engine, title="T", questions=["Q"], config=config)
    with session_scope(engine) as s:
        a = CanonicalValue(deliberation_id=d.id, title="A")
        b = CanonicalValue(deliberation_id=d.id, title="B")
        ctx = Context(deliberation_id=d.id, text="When asked")
        s.add_all([a, b, ctx])
        s.flush()
        for answer in answers:
            p = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id))
            s.add(
                Judgement(
                    deliberation_id=d.id,
                    participant_id=p.id,
                    from_value_id=a.id,
                    to_value_id=b.id,
                    context_id=ctx.id,
                    answer=answer,
                )
            )
    return d.id


def test_build_uses_the_deliberations_thresholds_and_stores_a_snapshot(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    default = _seed_judgements(sqlite_engine, ["upgrade", "upgrade", "not_sure"])
    strict = _seed_judgements(
        sqlite_engine, ["upgrade", "upgrade", "not_sure"], config={"graph_thresholds": {"min_wiser": 3}}
    )
    built = graphs.build_snapshot(sqlite_engine, deliberation_id=default)
    assert (built.values, built.edges, built.judgements) == (2, 1, 3)
    assert built.per_context[0].winner == "B" and built.per_context[0].context == "When asked"
    assert graphs.build_snapshot(sqlite_engine, deliberation_id=strict).edges == 0

    out = graphs.export_graph(sqlite_engine, deliberation_id=strict, fmt="mai-json", out=tmp_path / "s.json")
    document = json.loads(out.read_text())
    assert document["edges"] == [] and document["provenance"]["thresholds"]["min_wiser"] == 3


def test_export_builds_when_no_graph_exists_yet(sqlite_engine: Engine, tmp_path: Path) -> None:
    d = _seed_judgements(sqlite_engine, ["upgrade", "upgrade"])
    out = graphs.export_graph(sqlite_engine, deliberation_id=d, fmt="mai-json", out=tmp_path / "g.json")
    edges = json.loads(out.read_text())["edges"]
    assert [(e["counts"]["markedWiser"], e["contexts"]) for e in edges] == [(2, ["When asked"])]


def test_export_rejects_an_unknown_format(sqlite_engine: Engine, tmp_path: Path) -> None:
    d = _seed_judgements(sqlite_engine, ["upgrade"])
    with pytest.raises(InvalidInput, match="Unknown export format 'csv'"):
        graphs.export_graph(sqlite_engine, deliberation_id=d, fmt="csv", out=tmp_path / "g.csv")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "is missing"),
        ({name: "[]" for name in dft_import.REQUIRED} | {"edge": "{not json"}, "cannot be read as JSON"),
        ({name: "[]" for name in dft_import.REQUIRED} | {"case": "{}"}, "should hold a JSON array"),
        ({name: "[]" for name in dft_import.REQUIRED} | {"edge": '[{"userId": 1}]'}, "unexpected row"),
    ],
)
def test_a_bad_dump_is_one_clear_error_and_writes_nothing(
    sqlite_engine: Engine, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / f"{name}.json").write_text(text)
    with pytest.raises(InvalidInput, match=message):
        dft_import.import_dft(sqlite_engine, directory=tmp_path)
    assert deliberations.list_deliberations(sqlite_engine) == []


@pytest.mark.parametrize(
    ("title", "says"),
    [
        ("T" * 201, r"The title is too long \(201 characters\): please keep it to at most 200"),
        ("DFT\x00study", "The title contains a NUL character"),
        ("DFT \ud800", r"The title contains an incomplete character \(a lone surrogate U\+D800"),
    ],
    ids=["over-200", "nul", "lone-surrogate"],
)
def test_an_import_title_keeps_the_text_rule(
    sqlite_engine: Engine, tmp_path: Path, title: str, says: str
) -> None:
    """Checked before the dump is read (this one is empty), like every other title."""
    with pytest.raises(InvalidInput, match=says):
        dft_import.import_dft(sqlite_engine, directory=tmp_path, title=title)
    assert deliberations.list_deliberations(sqlite_engine) == []


def test_a_seed_value_is_marked_in_both_exports(sqlite_engine: Engine, tmp_path: Path) -> None:
    d = _seed_judgements(sqlite_engine, ["upgrade", "upgrade"])
    with session_scope(sqlite_engine) as s:
        seeded = s.exec(
            select(CanonicalValue).where(CanonicalValue.deliberation_id == d, CanonicalValue.title == "A")
        ).one()
        seeded.seed = True
        s.add(seeded)
    out = graphs.export_graph(sqlite_engine, deliberation_id=d, fmt="mai-json", out=tmp_path / "g.json")
    marks = {v["title"]: v.get("seed", False) for v in json.loads(out.read_text())["values"]}
    assert marks == {"A": True, "B": False}
    out = graphs.export_graph(sqlite_engine, deliberation_id=d, fmt="graphml", out=tmp_path / "g.graphml")
    G = nx.read_graphml(out)
    assert {attrs["title"]: attrs.get("seed", False) for _, attrs in G.nodes(data=True)} == {
        "A": True,
        "B": False,
    }
