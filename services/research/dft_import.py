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
from interviews.text_rules import check_text
from interviews.vocabulary import CardStatus, ContextSource, DeliberationStatus, ParticipantStage
from storage import repo_deliberations, repo_interviews, repo_judgements, repo_participants, repo_values
from storage.db import session_scope
from storage.schemas import (
    MAX_TITLE,
    CanonicalValueCreate,
    ContextCreate,
    DeliberationCreate,
    EdgeHypothesisCreate,
    ImpressionCreate,
    JudgementCreate,
    ParticipantCreate,
    QuestionContextCreate,
    ValuesCardCreate,
    VoteCreate,
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
    (judgements, votes, impressions, cards) created before that day (UTC); ``title`` keeps the text rule
    of every title (checked before the dump is read; blank: the default title).
    """
    title = check_text(title.strip(), what="The title", limit=MAX_TITLE) if title else None
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
            status=DeliberationStatus.CLOSED,
            welcome_text="Imported from the Meaning Alignment Institute's published study data.",
            questions=[c["question"] for c in cases],
        ),
    )
    d = deliberation.id
    assert d is not None
    deliberation.external_ref = "dft"
    questions: dict[str, int] = {}
    for case, question in zip(
        cases, repo_deliberations.list_questions(session, deliberation_id=d), strict=True
    ):
        question.title, question.external_ref = case["title"], case["id"]
        questions[case["id"]] = _id(question)

    contexts: dict[str, int] = {}
    for row in tables["context"]:
        context, _ = repo_deliberations.add_context(
            session,
            data=ContextCreate(
                deliberation_id=d, text=row["id"][:300], source=ContextSource.IMPORTED, external_ref=row["id"]
            ),
        )
        contexts[row["id"]] = _id(context)
    for row in tables["contextsOnCases"]:
        repo_deliberations.link_context(
            session,
            data=QuestionContextCreate(
                question_id=questions[row["caseId"]], context_id=contexts[row["contextId"]]
            ),
        )

    value_rows = tables["canonicalValuesCard"]
    stored = repo_values.add_canonical_values(
        session,
        data=[
            CanonicalValueCreate(
                deliberation_id=d,
                title=row["title"],
                description=row.get("instructionsShort") or "",
                policies=list(row.get("evaluationCriteria") or []),
                dedup_run="dft",
                external_ref=str(row["id"]),
                created_at=parse_time(row["createdAt"]),
            )
            for row in value_rows
        ],
    )
    values = {row["id"]: _id(value) for row, value in zip(value_rows, stored, strict=True)}

    cards = kept(tables["valuesCard"])
    card_rows = []
    for row in cards:
        ok = row.get("quality", "ok") == "ok"
        card_rows.append(
            ValuesCardCreate(
                title=row["title"],
                description=row.get("instructionsShort") or "",
                policies=list(row.get("evaluationCriteria") or []),
                status=CardStatus.SUBMITTED if ok else CardStatus.HIDDEN,
                quality_flags=[] if ok else [f"dft:{row.get('quality')}"],
                canonical_value_id=values.get(row.get("canonicalCardId")),
                external_ref=str(row["id"]),
                created_at=parse_time(row["createdAt"]),
                submitted_at=parse_time(row["createdAt"]),
            )
        )
    repo_interviews.add_cards(session, data=card_rows)

    votes, impressions, edges = kept(tables["vote"]), kept(tables["impression"]), kept(tables["edge"])
    demographics = {row["userId"]: row for row in tables["demographic"]}
    users = sorted({r["userId"] for r in (*votes, *impressions, *edges)} | set(demographics))
    participants = repo_participants.create_participants(
        session,
        data=[
            ParticipantCreate(
                deliberation_id=d,
                external_id=f"dft:{user}",
                stage=ParticipantStage.DONE,
                demographics={
                    k: v for k, v in demographics.get(user, {}).items() if k not in ("id", "userId")
                },
            )
            for user in users
        ],
    )
    people = {user: _id(p) for user, p in zip(users, participants, strict=True)}

    skipped: Counter[str] = Counter()
    kept_votes = _unique(votes, "caseId", skipped, "duplicate_vote")  # one per person, value and question
    repo_participants.add_votes(
        session,
        data=[
            VoteCreate(**_choice(row, people=people, values=values, questions=questions))
            for row in kept_votes
        ],
    )
    kept_impressions = _unique(impressions, "drawId", skipped, "duplicate_impression")  # one per draw
    repo_participants.add_impressions(
        session,
        data=[
            ImpressionCreate(**_choice(row, people=people, values=values, questions=questions))
            for row in kept_impressions
        ],
        ordered=False,
    )

    story_rows: dict[tuple[int, int, str, str], EdgeHypothesisCreate] = {}
    for row in edges:
        key = (row["fromId"], row["toId"], row["contextId"], row["runId"])
        if key not in story_rows:
            story_rows[key] = EdgeHypothesisCreate(
                deliberation_id=d,
                from_value_id=values[row["fromId"]],
                to_value_id=values[row["toId"]],
                context_id=contexts[row["contextId"]],
                story=row.get("story") or "",
                run_id=str(row["runId"])[:64],
                created_at=parse_time(row["createdAt"]),
            )
    hypotheses = dict(
        zip(story_rows, repo_judgements.add_hypotheses(session, data=list(story_rows.values())), strict=True)
    )
    seen_judgements: set[tuple[int, int]] = set()
    judgements = []
    for row in edges:
        hypothesis = hypotheses[(row["fromId"], row["toId"], row["contextId"], row["runId"])]
        assert hypothesis.id is not None
        if (row["userId"], hypothesis.id) in seen_judgements:
            skipped["duplicate_judgement"] += 1
            continue
        seen_judgements.add((row["userId"], hypothesis.id))
        judgements.append(
            JudgementCreate(
                deliberation_id=d,
                participant_id=people[row["userId"]],
                hypothesis_id=hypothesis.id,
                from_value_id=hypothesis.from_value_id,
                to_value_id=hypothesis.to_value_id,
                context_id=hypothesis.context_id,
                answer=row["relationship"],
                reason=row.get("comment"),
                created_at=parse_time(row["createdAt"]),
            )
        )
    repo_judgements.add_judgements(session, data=judgements)
    counts = {
        "questions": len(questions),
        "contexts": len(contexts),
        "canonical_values": len(values),
        "cards": len(cards),
        "participants": len(people),
        "votes": len(kept_votes),
        "impressions": len(kept_impressions),
        "stories": len(hypotheses),
        "judgements": len(seen_judgements),
    }
    return ImportSummary(deliberation_id=d, counts=counts, skipped=dict(skipped))


def _id(row: Any) -> int:
    """The id of a row storage just inserted (flushed, so it has one)."""
    assert row.id is not None
    return int(row.id)


def _unique(rows: list[dict[str, Any]], key: str, skipped: Counter[str], reason: str) -> list[dict[str, Any]]:
    """The rows whose (user, value, ``key``) was not seen before; each repeat is counted under ``reason``."""
    seen: set[tuple[Any, Any, Any]] = set()
    unique = []
    for row in rows:
        mark = (row["userId"], row["valuesCardId"], row[key])
        if mark in seen:
            skipped[reason] += 1
            continue
        seen.add(mark)
        unique.append(row)
    return unique


def _choice(
    row: dict[str, Any],
    *,
    people: dict[Any, int],
    values: dict[Any, int],
    questions: dict[str, int],
) -> dict[str, Any]:
    """The columns a vote and an impression share, from a dump row."""
    return {
        "participant_id": people[row["userId"]],
        "canonical_value_id": values[row["valuesCardId"]],
        "question_id": questions[row["caseId"]],
        "draw_id": row["drawId"],
        "created_at": parse_time(row["createdAt"]),
    }
