"""What each kind of job run does (:mod:`services.jobs.runs` persists and schedules them).

Every kind has a ``check`` (the arguments made canonical, or :class:`InvalidInput`/``NotFound`` before
anything is stored or a model started) and a ``run`` that wraps the existing service, reports progress
and log lines, and returns an :class:`~services.jobs.runs.Outcome`:

=================  ===========================================  ==========================================
kind               arguments                                    fails when
=================  ===========================================  ==========================================
dedup              question_id (or None), batch_size            an error, or every batch failed
generate_contexts  question_id, n                               an error
mine_contexts      (none)                                       an error, or every card failed
stories            max_pairs, run_id (blank: ``console-<d>``)   an error, or every story failed
grade              (none: every ungraded submitted interview)   an error, or every interview failed
build              (none)                                       an error
import             folder, before, title, uploaded              an error (an import makes a deliberation)
=================  ===========================================  ==========================================

One run of a kind is active on a deliberation at a time, whatever its arguments (``Kind.same``): generating
contexts once per question, an import once per folder and arguments. A stories job without a run id
continues the deliberation's own story run (``console-<d>``), so starting it again resumes.

The model calls of dedup, generating and mining contexts, stories and grading carry the run's name
(``job-<id>``) in their accounting (``LLMCall.job_run``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from tempfile import gettempdir
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from errors import InvalidInput, one_line
from interviews.limits import CONTEXTS_PER_CALL, DEDUP_BATCH, DEDUP_BATCH_MAX, STORY_PAIRS, STORY_PAIRS_MAX
from interviews.text_rules import parse_id
from interviews.vocabulary import JobKind
from services.jobs.runs import Models, Outcome, Progress, Started

if TYPE_CHECKING:
    from services.runtime.background import BackgroundJobs
from storage import repo_deliberations
from storage.db import session_scope

Check = Callable[[Engine, int | None, dict[str, Any]], dict[str, Any]]
Run = Callable[[Engine, Models, Progress, int | None, dict[str, Any]], Outcome]
Same = Callable[[dict[str, Any]], Any]
#: How the temporary folder of an uploaded study begins (``dft_import.save_upload``): the only folder an
#: import removes when it ends.
UPLOAD_PREFIX = "dft-upload-"


def _whole_deliberation(args: dict[str, Any]) -> Any:
    """One run of the kind at a time on a deliberation, whatever its arguments."""
    return ()


@dataclass(frozen=True)
class Kind:
    kind: JobKind
    label: str  # what the console's button and list call it
    check: Check
    run: Run
    #: What makes two runs of the kind on one deliberation the same job (only one of them is active at a
    #: time; starting another returns the active one): by default the deliberation alone.
    same: Same = _whole_deliberation


def deliberation_of_question(engine: Engine, *, question_id: int) -> int:
    """The deliberation a question belongs to (``NotFound`` when there is no such question)."""
    with session_scope(engine) as session:
        return repo_deliberations.get_question(session, question_id=question_id).deliberation_id


def kind(name: str | JobKind) -> Kind:
    """The kind called ``name``; :class:`InvalidInput` for one that does not exist."""
    found = KINDS.get(str(name))
    if found is None:
        raise InvalidInput(f"There is no job kind {name!r} (one of {', '.join(KINDS)}).")
    return found


def start_import(
    engine: Engine,
    jobs: BackgroundJobs,
    models: Models,
    *,
    folder: str,
    upload: bytes | None,
    before: str | None,
    title: str | None,
    actor: str,
) -> Started:
    """Start an import of the published study from ``folder`` on the server or from ``upload`` (a zip of
    it, unpacked into a temporary folder the run removes when it ends). When the run is refused (its
    arguments, the same import already active) the unpacked folder is removed here."""
    from services.jobs import runs
    from services.research import dft_import

    unpacked = dft_import.save_upload(upload) if upload is not None else None
    args = {
        "folder": str(unpacked) if unpacked is not None else folder.strip(),
        "before": (before or "").strip() or None,
        "title": title,
        "uploaded": unpacked is not None,
    }
    try:
        outcome = runs.start(
            engine, jobs, models, kind=JobKind.IMPORT, deliberation_id=None, args=args, actor=actor
        )
    except BaseException:
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)
        raise
    if unpacked is not None and not outcome.created:  # not this run's folder
        shutil.rmtree(unpacked, ignore_errors=True)
    return outcome


# --- argument checks --------------------------------------------------------------------------------


def _deliberation(engine: Engine, deliberation_id: int | None) -> int:
    if deliberation_id is None:
        raise InvalidInput("This job works on a deliberation: choose one.")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
    return deliberation_id


def _int(args: dict[str, Any], key: str, default: int | None, low: int, high: int, what: str) -> int:
    raw = args.get(key, default)
    if raw is None:
        raise InvalidInput(f"{what} is missing.")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InvalidInput(f"{what} is a whole number, not {raw!r}.")
    value = parse_id(str(raw)) if not isinstance(raw, int) else raw
    if not low <= value <= high:
        raise InvalidInput(f"{what} is {low}-{high} (not {value}).")
    return value


def _question_of(engine: Engine, deliberation_id: int, raw: Any) -> int:
    question_id = parse_id(str(raw))
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        if question.deliberation_id != deliberation_id:
            raise InvalidInput(f"Question {question_id} is not part of deliberation {deliberation_id}.")
    return question_id


def _no_args(engine: Engine, deliberation_id: int | None, args: dict[str, Any]) -> dict[str, Any]:
    _deliberation(engine, deliberation_id)
    return {}


def _check_dedup(engine: Engine, deliberation_id: int | None, args: dict[str, Any]) -> dict[str, Any]:
    d = _deliberation(engine, deliberation_id)
    question = args.get("question_id")
    return {
        "question_id": _question_of(engine, d, question) if question is not None else None,
        "batch_size": _int(args, "batch_size", DEDUP_BATCH, 1, DEDUP_BATCH_MAX, "The batch size"),
    }


def _check_generate(engine: Engine, deliberation_id: int | None, args: dict[str, Any]) -> dict[str, Any]:
    d = _deliberation(engine, deliberation_id)
    if args.get("question_id") is None:
        raise InvalidInput("Choose the question to generate contexts for.")
    return {
        "question_id": _question_of(engine, d, args["question_id"]),
        "n": _int(args, "n", 5, 1, CONTEXTS_PER_CALL, "The number of contexts"),
    }


def _check_stories(engine: Engine, deliberation_id: int | None, args: dict[str, Any]) -> dict[str, Any]:
    from services.jobs import stories

    d = _deliberation(engine, deliberation_id)
    run_id = str(args.get("run_id") or "").strip()
    return {
        "max_pairs": _int(args, "max_pairs", STORY_PAIRS, 1, STORY_PAIRS_MAX, "The number of pairs"),
        "run_id": stories.check_run_id(run_id) if run_id else console_story_run(d),
    }


def console_story_run(deliberation_id: int) -> str:
    """The story run a stories job continues when it names none: one per deliberation, so starting the job
    again resumes it (the pairs already judged are skipped) instead of writing every story anew.

    >>> console_story_run(7)
    'console-7'
    """
    return f"console-{deliberation_id}"


def _check_import(engine: Engine, deliberation_id: int | None, args: dict[str, Any]) -> dict[str, Any]:
    from interviews.text_rules import check_text
    from storage.schemas import MAX_TITLE

    if deliberation_id is not None:
        raise InvalidInput("An import makes a new deliberation; it is not started on one.")
    folder = str(args.get("folder") or "").strip()
    if not folder:
        raise InvalidInput("Give the folder of the study's tables (its dft-data folder) or upload a zip.")
    if not Path(folder).is_dir():
        raise InvalidInput(f"{folder} is not a folder (expected the dft-data folder of the study dump).")
    before = args.get("before") or None
    if before is not None:
        try:
            before = date.fromisoformat(str(before)).isoformat()
        except ValueError as exc:
            raise InvalidInput(f"The day is YYYY-MM-DD, not {before!r}.") from exc
    title = str(args.get("title") or "").strip() or None
    uploaded = bool(args.get("uploaded", False))
    where = Path(folder).resolve()
    if uploaded and not (
        where.name.startswith(UPLOAD_PREFIX) and where.parent == Path(gettempdir()).resolve()
    ):
        raise InvalidInput("Only an upload's own temporary folder is removed after the import.")
    return {
        "folder": str(where),
        "before": before,
        "title": check_text(title, what="The title", limit=MAX_TITLE) if title else None,
        "uploaded": uploaded,
    }


# --- runs ----------------------------------------------------------------------------------------------


def _run_dedup(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from services.jobs import dedup

    assert deliberation_id is not None
    pending = dedup.pending_count(engine, deliberation_id=deliberation_id, question_id=args["question_id"])
    if not pending:
        progress.update(
            "Nothing to deduplicate: every submitted card has a value.", done=0, total=0, echo=False
        )
        return Outcome({"pending": 0, "batches": 0, "cards_processed": 0})
    progress.update(f"{pending} cards to deduplicate.", echo=False)

    def on_batch(b: dedup.BatchReport) -> None:
        if b.failed:
            line = f"batch {b.number}/{b.of}: failed, {b.failed} cards left for the next run: {b.error}"
        else:
            line = f"batch {b.number}/{b.of}: {b.cards} cards, {b.created} new values, {b.joined} joined"
        progress.update(line, done=b.number, total=b.of)

    s = dedup.dedup(
        engine,
        models.chat(),
        models.embeddings(),
        deliberation_id=deliberation_id,
        question_id=args["question_id"],
        batch_size=args["batch_size"],
        on_batch=on_batch,
        job_run=progress.job_run,
        actor=progress.actor or "dedup",
    )
    result = {
        "pending": pending,
        "dedup_run": s.run_id,
        "batches": s.batches,
        "cards_processed": s.cards_processed,
        "canonicals_created": s.canonicals_created,
        "cards_joined": s.cards_joined,
        "cards_skipped": s.cards_skipped,
        "failed_batches": s.failed_batches,
        "failed_cards": s.failed_cards,
        "failures": [
            {"number": f.number, "card_ids": list(f.card_ids), "event_id": f.event_id, "error": f.error}
            for f in s.failures
        ],
        "prompt_ref": s.prompt_ref,
    }
    if s.batches and s.failed_batches == s.batches:
        return Outcome(
            result, f"every batch failed ({s.failed_batches}; {s.failed_cards} cards left for the next run)"
        )
    return Outcome(result)


def _run_generate(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from services.jobs import contexts

    progress.update(
        f"Asking the model for {args['n']} contexts of question {args['question_id']}.", total=1, echo=False
    )
    added = contexts.generate_for_question(
        engine, models.chat(), question_id=args["question_id"], n=args["n"], job_run=progress.job_run
    )
    for text in added:
        progress.update(f"added: {text}", echo=False)
    progress.update(f"Added {len(added)} of {args['n']} requested contexts.", done=1, echo=False)
    return Outcome({"question_id": args["question_id"], "requested": args["n"], "added": added})


def _run_mine(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from providers.errors import ModelOutputError
    from services.jobs import contexts

    assert deliberation_id is not None
    card_ids = contexts.unmined_card_ids(engine, deliberation_id=deliberation_id)
    progress.update(f"{len(card_ids)} cards to mine.", done=0, total=len(card_ids), echo=False)
    if not card_ids:
        return Outcome({"cards": 0, "cards_mined": 0, "contexts_added": 0, "skipped": 0, "failed": 0})
    model = models.chat()
    mined = added = skipped = 0
    failures: list[dict[str, Any]] = []
    for card_id in card_ids:
        try:
            texts = contexts.mine_for_card(engine, model, card_id=card_id, job_run=progress.job_run)
            mined += 1
            added += len(texts)
            line = f"card {card_id}: {len(texts)} contexts added"
        except ModelOutputError as exc:
            failures.append({"card_id": card_id, "error": one_line(exc)})
            line = f"failed: card {card_id}: {one_line(exc)}"
        except InvalidInput:  # hidden or withdrawn since the list was read
            skipped += 1
            line = f"skipped: card {card_id} (no longer submitted)"
        progress.update(line, step=1)
    result = {
        "cards": len(card_ids),
        "cards_mined": mined,
        "contexts_added": added,
        "skipped": skipped,
        "failed": len(failures),
        "failures": failures,
    }
    if failures and not mined:
        return Outcome(result, f"every card failed ({len(failures)}; a rerun retries them)")
    return Outcome(result)


def _run_stories(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from interviews import stories as core
    from services.jobs import stories
    from storage import repo_values

    assert deliberation_id is not None
    run_id = args["run_id"] or console_story_run(deliberation_id)  # a run stored before it was named
    with session_scope(engine) as session:
        by_context = repo_values.values_by_context(session, deliberation_id=deliberation_id)
    pairs = core.plan_pairs(by_context, max_pairs=args["max_pairs"])
    progress.update(
        f"Story run {run_id}: {len(pairs)} pairs ({2 * len(pairs)} stories).",
        done=0,
        total=2 * len(pairs),
        echo=False,
    )

    def on_story(o: stories.StoryOutcome) -> None:
        pair = f"{o.from_value_id} -> {o.to_value_id} in context {o.context_id}"
        ended = o.status in ("judged", "skipped", "failed")
        error = f": {o.error}" if o.error else ""
        progress.update(f"{o.status}: {pair}{' (shown)' if o.shown else ''}{error}", step=1 if ended else 0)

    s = stories.generate_stories(
        engine,
        models.chat(),
        deliberation_id=deliberation_id,
        run_id=run_id,
        pairs=pairs,
        max_pairs=args["max_pairs"],
        on_story=on_story,
        job_run=progress.job_run,
    )
    result = {
        "story_run": s.run_id,
        "pairs": s.pairs,
        "written": s.written,
        "judged": s.judged,
        "skipped": s.skipped,
        "failed": s.failed,
        "shown": s.shown,
        "hidden": s.hidden,
        "errors": list(s.errors),
    }
    if s.failed and not (s.judged or s.skipped):
        return Outcome(
            result, f"every story failed ({s.failed}; a rerun of story run {s.run_id} retries them)"
        )
    return Outcome(result)


def _run_grade(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from providers.errors import ModelOutputError
    from services.facilitator import grading, moderation

    assert deliberation_id is not None
    ids = grading.ungraded_interviews(engine, deliberation_id=deliberation_id)
    progress.update(f"{len(ids)} submitted interviews to grade.", done=0, total=len(ids))
    if not ids:
        return Outcome({"interviews": 0, "graded": 0, "grades": []})
    model = models.chat()
    grades: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    skipped = 0
    for interview_id in ids:
        try:
            g = grading.grade_interview(engine, model, interview_id=interview_id, job_run=progress.job_run)
        except ModelOutputError as exc:
            failures.append({"interview_id": interview_id, "error": one_line(exc)})
            progress.update(f"failed: interview {interview_id}: {one_line(exc)}", step=1)
            continue
        except InvalidInput as exc:  # no answers from the participant
            skipped += 1
            progress.update(f"skipped: interview {interview_id}: {one_line(exc)}", step=1)
            continue
        moderation.record_grades(
            engine, g, actor=progress.actor or progress.job_run
        )  # the Moderate page shows them
        rows = [[label, grade, reason] for label, grade, reason in g.grades.rows()]
        overall = rows[-1][1] if rows else ""
        grades.append(
            {
                "interview_id": interview_id,
                "overall": overall,
                "rows": rows,
                "prompt_ref": g.prompt_ref,
                "model": g.model,
            }
        )
        progress.update(f"interview {interview_id}: overall {overall}", step=1)
    result = {
        "interviews": len(ids),
        "graded": len(grades),
        "skipped": skipped,
        "failed": len(failures),
        "failures": failures,
        "grades": grades,
    }
    if failures and not grades:
        return Outcome(result, f"every interview failed ({len(failures)}; a rerun retries them)")
    return Outcome(result)


def _run_build(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from services.research import graphs

    assert deliberation_id is not None
    progress.update("Building the moral graph.", total=1, echo=False)
    g = graphs.build_snapshot(engine, deliberation_id=deliberation_id)
    progress.update(
        f"Graph {g.snapshot_id}: {g.values} values, {g.edges} edges, {g.contexts} contexts from "
        f"{g.judgements} judgements.",
        done=1,
        echo=False,
    )
    if not g.judgements:  # an empty graph is right, not broken: say what fills it
        progress.update("Nobody has judged an upgrade story yet: the graph fills as participants judge.")
    return Outcome(
        {
            "snapshot_id": g.snapshot_id,
            "judgements": g.judgements,
            "values": g.values,
            "edges": g.edges,
            "contexts": g.contexts,
            "thresholds": dict(g.thresholds),
            "skipped": dict(g.skipped),
            "per_context": [
                {"context": r.context, "winner": r.winner, "support": r.support, "edges": r.edges}
                for r in g.per_context
            ],
        }
    )


def _run_import(
    engine: Engine, models: Models, progress: Progress, deliberation_id: int | None, args: dict[str, Any]
) -> Outcome:
    from services.research import dft_import

    folder = Path(args["folder"])
    try:
        progress.update(f"Reading the study's tables{'' if args['uploaded'] else f' in {folder}'}.", total=2)
        s = dft_import.import_dft(
            engine,
            directory=folder,
            before=date.fromisoformat(args["before"]) if args["before"] else None,
            title=args["title"],
            on_step=lambda line: progress.update(line, done=1),
        )
    finally:
        if args["uploaded"]:  # the upload's temporary folder (unpack_upload) is not kept
            shutil.rmtree(folder, ignore_errors=True)
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in s.counts.items())
    progress.update(f"Imported into deliberation {s.deliberation_id}: {counts}.", done=2)
    return Outcome(
        {"deliberation_id": s.deliberation_id, "counts": dict(s.counts), "skipped": dict(s.skipped)},
        deliberation_id=s.deliberation_id,
    )


KINDS: dict[str, Kind] = {
    k.kind.value: k
    for k in (
        Kind(JobKind.DEDUP, "Deduplicate cards into values", _check_dedup, _run_dedup),
        Kind(
            JobKind.GENERATE_CONTEXTS,
            "Generate contexts for a question",
            _check_generate,
            _run_generate,
            lambda args: args["question_id"],
        ),
        Kind(JobKind.MINE_CONTEXTS, "Mine contexts from cards", _no_args, _run_mine),
        Kind(JobKind.STORIES, "Write and judge upgrade stories", _check_stories, _run_stories),
        Kind(JobKind.GRADE, "Grade ungraded transcripts", _no_args, _run_grade),
        Kind(JobKind.BUILD, "Build the moral graph", _no_args, _run_build),
        Kind(JobKind.IMPORT, "Import the published study", _check_import, _run_import, lambda args: args),
    )
}
