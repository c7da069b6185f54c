"""Import the Meaning Alignment Institute's published 2023 study dump (``dft-data/*.json``).

Mapping (DOMAIN.md §8): cases → questions, contexts (+ their cases), canonical values, participants' cards,
votes, impressions, judgements (``edge`` rows, with their stories as edge hypotheses) and demographics,
all into one new, closed deliberation. Participants are identified as ``dft:<userId>``. Rows breaking our
rules (a second vote for the same value, a repeated impression) are skipped and counted, never silently
merged.

Which question a card answered. The dump has no chat table (a card's ``chatId`` leads nowhere), so cards
keep no author. Their question comes from the tables that do name a case: a vote or an impression names
the case (``caseId``) in which a canonical value was drawn, and the study drew a case's values from the
cards written for it; so a card whose canonical value was drawn in exactly one case answered that case's
question. A card whose value was drawn in several cases (or never, or which has no canonical value) keeps
no question: the tables do not say which one it answered (``counts["cards_without_question"]``). Cards
with a question belong to the deliberation like cards made in the app: dedup review, contexts and
stories work on them.

The console imports a zip upload too (:func:`unpack_upload`: only the dump's JSON tables are taken out).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path, PurePosixPath
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
#: The most an upload may hold, unpacked (the published dump is about 4.5 MB).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


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


def unpack_upload(data: bytes, *, into: Path) -> Path:
    """Take the dump's tables (``case.json``, ``valuesCard.json``...) out of a zip file's bytes into the
    folder ``into`` and return it: only those names, from the one folder of the archive that holds
    ``case.json``, never a path outside ``into``, at most :data:`MAX_UPLOAD_BYTES` unpacked."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput("The upload is not a zip file (zip the study's dft-data folder).") from exc
    wanted = {f"{name}.json" for name in (*REQUIRED, *OPTIONAL)}
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        folders = sorted(
            (
                str(PurePosixPath(m.filename).parent)
                for m in members
                if PurePosixPath(m.filename).name == "case.json"
            ),
            key=lambda f: (f.count("/"), f),
        )
        if not folders:
            raise InvalidInput("The zip file holds no case.json: is it the study's dft-data folder?")
        chosen = [
            m
            for m in members
            if str(PurePosixPath(m.filename).parent) == folders[0]
            and PurePosixPath(m.filename).name in wanted
        ]
        if sum(m.file_size for m in chosen) > MAX_UPLOAD_BYTES:
            raise InvalidInput(f"The zip file unpacks to more than {MAX_UPLOAD_BYTES // 2**20} MB.")
        into.mkdir(parents=True, exist_ok=True)
        for member in chosen:
            (into / PurePosixPath(member.filename).name).write_bytes(archive.read(member))
    return into


def save_upload(data: bytes) -> Path:
    """Unpack an uploaded zip of the dump (:func:`unpack_upload`) into a new temporary folder and return
    it; the import job removes the folder when it ends."""
    folder = Path(tempfile.mkdtemp(prefix="dft-upload-"))
    try:
        return unpack_upload(data, into=folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def import_dft(
    engine: Engine,
    *,
    directory: Path,
    before: date | None = None,
    title: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Load the dump in ``directory`` into a new deliberation; ``before`` keeps only contributions
    (judgements, votes, impressions, cards) created before that day (UTC); ``title`` keeps the text rule
    of every title (checked before the dump is read; blank: the default title). ``on_step`` hears a line
    once the tables are read (the load itself is one transaction).
    """
    title = check_text(title.strip(), what="The title", limit=MAX_TITLE) if title else None
    tables = load_tables(directory)
    if on_step is not None:
        on_step(
            f"Read {sum(len(rows) for rows in tables.values())} rows of {len(tables)} tables; loading them."
        )
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
    drawn_in = cases_of_values(tables)
    card_rows = []
    for row in cards:
        ok = row.get("quality", "ok") == "ok"
        cases_drawn = drawn_in.get(str(row.get("canonicalCardId")), set())
        card_rows.append(
            ValuesCardCreate(
                question_id=questions.get(next(iter(cases_drawn))) if len(cases_drawn) == 1 else None,
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
        "cards_without_question": sum(1 for c in card_rows if c.question_id is None),
        "participants": len(people),
        "votes": len(kept_votes),
        "impressions": len(kept_impressions),
        "stories": len(hypotheses),
        "judgements": len(seen_judgements),
    }
    return ImportSummary(deliberation_id=d, counts=counts, skipped=dict(skipped))


def cases_of_values(tables: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    """For each canonical value (its dump id), the cases in which it was drawn: the ``caseId`` of every
    vote and impression of it (all of them, whatever the cut-off: where a value was drawn is a fact of the
    study, not a contribution).

    >>> vote, impression = {"valuesCardId": "7", "caseId": "a"}, {"valuesCardId": 8, "caseId": "b"}
    >>> cases_of_values({"vote": [vote], "impression": [vote, impression]})
    {'7': {'a'}, '8': {'b'}}
    """
    found: dict[str, set[str]] = defaultdict(set)
    for row in (*tables.get("vote", []), *tables.get("impression", [])):
        found[str(row["valuesCardId"])].add(str(row["caseId"]))
    return dict(found)


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
