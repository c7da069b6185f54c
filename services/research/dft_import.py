"""Import the Meaning Alignment Institute's published 2023 study dump (``dft-data/*.json``).

Mapping (DOMAIN.md §8): cases → questions, contexts (+ their cases), canonical values, participants' cards,
votes, impressions, judgements (``edge`` rows, with their stories as edge hypotheses) and demographics,
all into one new, closed deliberation. Participants are identified as ``dft:<userId>``. The dump has no
chat table, so cards keep no author or question. Rows breaking our rules (a second vote for the same
value, a repeated impression) are skipped and counted, never silently merged.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from errors import InvalidInput
from storage import repo_deliberations
from storage.db import session_scope
from storage.schemas import DeliberationCreate
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Impression,
    Judgement,
    Participant,
    QuestionContext,
    ValuesCard,
    Vote,
)

REQUIRED = (
    "case",
    "context",
    "contextsOnCases",
    "canonicalValuesCard",
    "valuesCard",
    "vote",
    "impression",
    "edge",
)
OPTIONAL = ("demographic",)


@dataclass(frozen=True)
class ImportSummary:
    deliberation_id: int
    counts: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)


def parse_time(raw: str) -> datetime:
    """A dump timestamp (``2023-09-19T11:54:18.065Z``) as aware UTC."""
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


def load_tables(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Read the dump's tables; a missing or malformed file is one clear :class:`InvalidInput`."""
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a folder (expected the dft-data folder of the study dump).")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in (*REQUIRED, *OPTIONAL):
        path = directory / f"{name}.json"
        if not path.exists():
            if name in REQUIRED:
                raise InvalidInput(f"{path} is missing: is {directory} the study's dft-data folder?")
            tables[name] = []
            continue
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{path} cannot be read as JSON: {exc}") from exc
        if not isinstance(rows, list):
            raise InvalidInput(f"{path} should hold a JSON array of rows.")
        tables[name] = rows
    return tables


def import_dft(
    engine: Engine, *, directory: Path, before: date | None = None, title: str | None = None
) -> ImportSummary:
    """Load the dump in ``directory`` into a new deliberation; ``before`` keeps only contributions
    (judgements, votes, impressions, cards) created before that day (UTC).
    """
    tables = load_tables(directory)
    cutoff = datetime(before.year, before.month, before.day, tzinfo=UTC) if before else None

    def kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if cutoff is None or parse_time(r["createdAt"]) < cutoff]

    try:
        with session_scope(engine) as session:
            return _load(session, tables, kept, title or _default_title(before))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"The dump in {directory} has an unexpected row: {exc!r}") from exc


def _default_title(before: date | None) -> str:
    return "Democratic Fine-Tuning study (MAI, 2023)" + (f", before {before.isoformat()}" if before else "")


def _load(session: Any, tables: dict[str, list[dict[str, Any]]], kept: Any, title: str) -> ImportSummary:
    cases = tables["case"]
    deliberation = repo_deliberations.create_deliberation(
        session,
        data=DeliberationCreate(
            title=title,
            status="closed",
            welcome_text="Imported from the Meaning Alignment Institute's published study data.",
            questions=[c["question"] for c in cases],
        ),
    )
    d = deliberation.id
    deliberation.external_ref = "dft"
    questions = {}
    for case, question in zip(
        cases, repo_deliberations.list_questions(session, deliberation_id=d), strict=True
    ):
        question.title, question.external_ref = case["title"], case["id"]
        questions[case["id"]] = question.id

    contexts = {
        row["id"]: Context(deliberation_id=d, text=row["id"][:300], source="imported", external_ref=row["id"])
        for row in tables["context"]
    }
    session.add_all(contexts.values())
    session.flush()
    session.add_all(
        QuestionContext(question_id=questions[row["caseId"]], context_id=contexts[row["contextId"]].id)
        for row in tables["contextsOnCases"]
    )

    values = {}
    for row in tables["canonicalValuesCard"]:
        values[row["id"]] = CanonicalValue(
            deliberation_id=d,
            title=row["title"],
            description=row.get("instructionsShort") or "",
            policies=list(row.get("evaluationCriteria") or []),
            dedup_run="dft",
            external_ref=str(row["id"]),
            created_at=parse_time(row["createdAt"]),
        )
    session.add_all(values.values())
    session.flush()

    cards = kept(tables["valuesCard"])
    for row in cards:
        ok = row.get("quality", "ok") == "ok"
        canonical = values.get(row.get("canonicalCardId"))
        session.add(
            ValuesCard(
                title=row["title"],
                description=row.get("instructionsShort") or "",
                policies=list(row.get("evaluationCriteria") or []),
                status="submitted" if ok else "hidden",
                quality_flags=[] if ok else [f"dft:{row.get('quality')}"],
                canonical_value_id=canonical.id if canonical else None,
                external_ref=str(row["id"]),
                created_at=parse_time(row["createdAt"]),
                submitted_at=parse_time(row["createdAt"]),
            )
        )

    votes, impressions, edges = kept(tables["vote"]), kept(tables["impression"]), kept(tables["edge"])
    demographics = {row["userId"]: row for row in tables["demographic"]}
    users = sorted({r["userId"] for r in (*votes, *impressions, *edges)} | set(demographics))
    people = {}
    for user in users:
        info = {k: v for k, v in demographics.get(user, {}).items() if k not in ("id", "userId")}
        people[user] = Participant(
            deliberation_id=d, external_id=f"dft:{user}", stage="done", demographics=info
        )
    session.add_all(people.values())
    session.flush()

    skipped: Counter[str] = Counter()
    kept: dict[str, int] = {}
    for table, rows, key, reason in (
        (Vote, votes, "caseId", "duplicate_vote"),  # one vote per person, value and question
        (Impression, impressions, "drawId", "duplicate_impression"),  # one impression per draw
    ):
        seen: set[tuple[int, int, str]] = set()
        for row in rows:
            unique = (row["userId"], row["valuesCardId"], row[key])
            if unique in seen:
                skipped[reason] += 1
                continue
            seen.add(unique)
            session.add(
                table(
                    participant_id=people[row["userId"]].id,
                    canonical_value_id=values[row["valuesCardId"]].id,
                    question_id=questions[row["caseId"]],
                    draw_id=row["drawId"],
                    created_at=parse_time(row["createdAt"]),
                )
            )
        kept[table.__name__] = len(seen)

    hypotheses: dict[tuple[int, int, str, str], EdgeHypothesis] = {}
    for row in edges:
        key = (row["fromId"], row["toId"], row["contextId"], row["runId"])
        if key not in hypotheses:
            hypotheses[key] = EdgeHypothesis(
                deliberation_id=d,
                from_value_id=values[row["fromId"]].id,
                to_value_id=values[row["toId"]].id,
                context_id=contexts[row["contextId"]].id,
                story=row.get("story") or "",
                run_id=str(row["runId"])[:64],
                created_at=parse_time(row["createdAt"]),
            )
    session.add_all(hypotheses.values())
    session.flush()
    seen_judgements: set[tuple[int, int]] = set()
    for row in edges:
        hypothesis = hypotheses[(row["fromId"], row["toId"], row["contextId"], row["runId"])]
        if (row["userId"], hypothesis.id) in seen_judgements:
            skipped["duplicate_judgement"] += 1
            continue
        seen_judgements.add((row["userId"], hypothesis.id))
        session.add(
            Judgement(
                deliberation_id=d,
                participant_id=people[row["userId"]].id,
                hypothesis_id=hypothesis.id,
                from_value_id=hypothesis.from_value_id,
                to_value_id=hypothesis.to_value_id,
                context_id=hypothesis.context_id,
                answer=row["relationship"],
                reason=row.get("comment"),
                created_at=parse_time(row["createdAt"]),
            )
        )
    session.flush()
    counts = {
        "questions": len(questions),
        "contexts": len(contexts),
        "canonical_values": len(values),
        "cards": len(cards),
        "participants": len(people),
        "votes": kept["Vote"],
        "impressions": kept["Impression"],
        "stories": len(hypotheses),
        "judgements": len(seen_judgements),
    }
    assert d is not None
    return ImportSummary(deliberation_id=d, counts=counts, skipped=dict(skipped))
