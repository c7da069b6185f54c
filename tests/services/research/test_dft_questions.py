"""The published study imported as a job run (SQLite and PostgreSQL): its cards keep the question they
answered where the study's votes and impressions say so, so dedup review (values by question), dedup
(pending cards) and upgrade stories (pairs by context) work on it; a zip upload is unpacked safely."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from interviews import stories as story_core
from services.facilitator import values
from services.jobs import dedup, runs
from services.research import dft_import
from storage import repo_values
from storage.db import session_scope
from storage.tables import Question, ValuesCard

STUDY = Path(__file__).resolve().parents[4] / "shared" / "data" / "dft-data"


def rows(name: str) -> list[dict]:
    return json.loads((STUDY / f"{name}.json").read_text(encoding="utf-8"))


def no_models() -> runs.Models:
    def fail() -> None:
        raise AssertionError("an import asks no model")

    return runs.Models(fail, fail)  # type: ignore[arg-type]


def test_the_study_imported_as_a_job_keeps_each_cards_question(engine: Engine) -> None:
    assert (STUDY / "case.json").is_file(), f"the published study is expected in {STUDY}"
    run = runs.run_here(
        engine, no_models(), kind="import", deliberation_id=None, args={"folder": str(STUDY)}, actor="ada"
    )
    assert run.status == "succeeded", run.error
    d = run.result["deliberation_id"]
    assert run.deliberation_id == d and run.result["counts"]["cards"] == 630

    # What the tables say: the cases in which each canonical value was drawn (votes and impressions).
    drawn: dict[str, set[str]] = defaultdict(set)
    for row in (*rows("vote"), *rows("impression")):
        drawn[str(row["valuesCardId"])].add(row["caseId"])
    expected = {
        str(c["id"]): next(iter(drawn[str(c["canonicalCardId"])]))
        for c in rows("valuesCard")
        if len(drawn.get(str(c["canonicalCardId"]), ())) == 1
    }
    with session_scope(engine) as s:
        case_of = {
            q.id: q.external_ref for q in s.exec(select(Question).where(Question.deliberation_id == d))
        }
        cards = s.exec(select(ValuesCard).where(ValuesCard.external_ref.is_not(None))).all()
        got = {c.external_ref: case_of[c.question_id] for c in cards if c.question_id is not None}
        by_context = repo_values.values_by_context(s, deliberation_id=d)
    assert got == expected and len(got) == 294
    assert run.result["counts"]["cards_without_question"] == 630 - 294

    # Dedup review lists values by question; dedup sees the question's cards without a value.
    weapons = next(q for q, case in case_of.items() if case == "weapons")
    listed = values.list_values(engine, deliberation_id=d, question_id=weapons)
    assert listed and all(any(card.question_id == weapons for card in v.cards) for v in listed)
    pending = dedup.pending_count(engine, deliberation_id=d)
    assert pending == sum(
        1
        for c in rows("valuesCard")
        if str(c["id"]) in expected and c.get("quality", "ok") == "ok" and not c.get("canonicalCardId")
    )
    # Stories: values meet in the contexts of their cards' questions.
    assert sum(len(v) for v in by_context.values()) > 0
    assert story_core.plan_pairs(by_context, max_pairs=20)


def test_a_zip_upload_is_unpacked_and_imported(engine: Engine, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in STUDY.glob("*.json"):
            archive.write(path, f"dft-data/{path.name}")
        archive.writestr("../evil.json", "[]")
        archive.writestr("other/case.json", "[]")
    folder = dft_import.save_upload(buffer.getvalue())
    assert folder.is_dir() and (folder / "case.json").read_bytes() == (STUDY / "case.json").read_bytes()
    assert not (folder.parent / "evil.json").exists() and {p.name for p in folder.iterdir()} <= {
        f"{n}.json" for n in (*dft_import.REQUIRED, *dft_import.OPTIONAL)
    }
    run = runs.run_here(
        engine,
        no_models(),
        kind="import",
        deliberation_id=None,
        args={"folder": str(folder), "uploaded": True, "before": "2023-10-18", "title": "Uploaded"},
        actor="ada",
    )
    assert run.status == "succeeded", run.error
    assert run.result["counts"]["judgements"] == 1540 and not folder.exists()  # the upload is removed

    with pytest.raises(InvalidInput, match="not a zip file"):
        dft_import.save_upload(b"not a zip")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InvalidInput, match="no case.json"):
        dft_import.save_upload(empty.getvalue())
    with pytest.raises(InvalidInput, match="is not a folder"):
        runs.run_here(
            engine,
            no_models(),
            kind="import",
            deliberation_id=None,
            args={"folder": str(tmp_path / "x")},
            actor="a",
        )
