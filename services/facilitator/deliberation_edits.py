"""Facilitator actions that change a deliberation after it was created: its texts and settings, its
questions, a copy of it, and deleting it with every row it holds.

Every change goes through the same check as a new deliberation
(:func:`services.facilitator.deliberations.checked`) and is a moderation event naming its ``actor``, with
what it was before and after (``deliberation_edit``, ``question_add``, ``question_edit``,
``question_remove``, ``deliberation_duplicate``). Deleting removes the deliberation's log with it and
writes one ``deliberation_delete`` event of the console's own log (no deliberation; the System page): the
id, the title and how many rows of each kind went, its moderation events among them.
Imports no model library (``tests/test_cli_imports.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import check_text
from services.facilitator import audit
from services.facilitator.deliberations import SYSTEM_ACTOR, checked, public, record
from services.facilitator.settings_json import merged
from services.jobs import runs
from storage import repo_deliberations, repo_jobs
from storage.db import session_scope
from storage.schemas import (
    ContextCreate,
    DeliberationConfig,
    DeliberationCreate,
    DeliberationPublic,
    QuestionContextCreate,
    QuestionCreate,
    QuestionPublic,
)
from storage.tables import utcnow

log = logging.getLogger(__name__)
#: Kinds of rows that make a question "answered" (it is then kept; see :func:`remove_question`).
ANSWERS = ("interviews", "cards", "impressions", "votes")
#: The longest reason of a deletion (as long as a moderation action's).
MAX_REASON = 2000


def edit_deliberation(
    engine: Engine,
    *,
    deliberation_id: int,
    actor: str,
    title: str | None = None,
    welcome_text: str | None = None,
    consent_text: str | None = None,
    config: dict[str, Any] | None = None,
) -> DeliberationPublic:
    """Change a deliberation's texts and settings (``None``: as it is). ``config`` holds the settings to
    change (keys not given keep their value); the whole result is checked as new input, so a stored setting
    that breaks a newer rule has to be fixed with the edit. Logged ``deliberation_edit`` with each changed
    field before and after; an edit that changes nothing is not logged."""
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        questions = [
            q.text for q in repo_deliberations.list_questions(session, deliberation_id=deliberation_id)
        ]
        current = DeliberationConfig.stored(deliberation.config).model_dump()
        if config is not None and not isinstance(config, dict):
            raise InvalidInput("The settings should be an object of settings.")
        data = checked(
            title=deliberation.title if title is None else title,
            questions=questions,
            welcome_text=deliberation.welcome_text if welcome_text is None else welcome_text,
            consent_text=deliberation.consent_text if consent_text is None else consent_text,
            config=merged(current, config or {}),
        )
        before = {
            "title": deliberation.title,
            "welcome_text": deliberation.welcome_text,
            "consent_text": deliberation.consent_text,
            **{f"config.{k}": v for k, v in current.items()},
        }
        after = {
            "title": data.title,
            "welcome_text": data.welcome_text,
            "consent_text": data.consent_text,
            **{f"config.{k}": v for k, v in data.config.items()},
        }
        changed = {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}
        if not changed and deliberation.config == data.config:
            return public(session, deliberation)
        deliberation.title, deliberation.welcome_text = data.title, data.welcome_text
        deliberation.consent_text, deliberation.config = data.consent_text, data.config
        deliberation.updated_at = utcnow()
        session.add(deliberation)
        if changed:
            record(
                session,
                deliberation_id=deliberation_id,
                actor=actor,
                action="deliberation_edit",
                details={"changed": changed},
            )
        return public(session, deliberation)


def _question_text(text: str, *, what: str = "The question") -> str:
    check_text(text, what=what)
    try:
        return DeliberationCreate(title="-", questions=[text]).questions[0]
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


def add_question(engine: Engine, *, deliberation_id: int, text: str, actor: str) -> QuestionPublic:
    """Add a question at the end of the deliberation's questions; logged ``question_add``."""
    cleaned = _question_text(text)
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        existing = repo_deliberations.list_questions(session, deliberation_id=deliberation_id)
        checked(title=deliberation.title, questions=[*(q.text for q in existing), cleaned])  # the cap
        question = repo_deliberations.add_question(
            session,
            data=QuestionCreate(
                deliberation_id=deliberation_id,
                position=max((q.position for q in existing), default=-1) + 1,
                text=cleaned,
            ),
        )
        assert question.id is not None
        deliberation.updated_at = utcnow()
        session.add(deliberation)
        record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="question_add",
            target_type="question",
            target_id=question.id,
            details={"after": cleaned},
        )
        return QuestionPublic.model_validate(question)


def edit_question(engine: Engine, *, question_id: int, text: str, actor: str) -> QuestionPublic:
    """Change a question's text (people who answered it keep their answers); logged ``question_edit``."""
    cleaned = _question_text(text)
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        if question.text != cleaned:
            before, question.text = question.text, cleaned
            session.add(question)
            _touch(session, question.deliberation_id)
            record(
                session,
                deliberation_id=question.deliberation_id,
                actor=actor,
                action="question_edit",
                target_type="question",
                target_id=question_id,
                details={"before": before, "after": cleaned},
            )
        return QuestionPublic.model_validate(question)


def question_use(engine: Engine, *, question_id: int) -> dict[str, int]:
    """What hangs on a question: interviews, cards, impressions and votes (a question with any is kept)."""
    with session_scope(engine) as session:
        repo_deliberations.get_question(session, question_id=question_id)
        return repo_deliberations.question_use(session, question_id=question_id)


def remove_question(engine: Engine, *, question_id: int, actor: str) -> None:
    """Delete a question nobody has answered (no interview, card, seed, impression or vote on it) with its
    context links; refused for the last question. Logged ``question_remove``."""
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        used = {
            k: n for k, n in repo_deliberations.question_use(session, question_id=question_id).items() if n
        }
        if used:
            what = ", ".join(f"{n} {k}" for k, n in used.items())
            raise InvalidInput(
                f"Question {question_id} has been answered ({what}), so it stays; edit its text instead."
            )
        siblings = repo_deliberations.list_questions(session, deliberation_id=question.deliberation_id)
        if len(siblings) <= 1:
            raise InvalidInput(
                "A deliberation needs at least one question: add another before removing this one."
            )
        deliberation_id, text = question.deliberation_id, question.text
        repo_deliberations.delete_question(session, question=question)
        _touch(session, deliberation_id)
        record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="question_remove",
            target_type="question",
            target_id=question_id,
            details={"before": text},
        )


def _touch(session: Any, deliberation_id: int) -> None:
    deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
    deliberation.updated_at = utcnow()
    session.add(deliberation)


def duplicate_deliberation(
    engine: Engine, *, deliberation_id: int, actor: str, title: str | None = None
) -> DeliberationPublic:
    """A new draft with the deliberation's texts, settings, questions and their contexts (no participants,
    invites, values, seeds or stories); titled ``Copy of <title>`` unless ``title`` is given. Logged
    ``deliberation_duplicate`` on both."""
    with session_scope(engine) as session:
        source = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        questions = repo_deliberations.list_questions(session, deliberation_id=deliberation_id)
        new_title = title if title is not None else f"Copy of {source.title}"[:200]
        data = checked(
            title=new_title,
            questions=[q.text for q in questions],
            welcome_text=source.welcome_text,
            consent_text=source.consent_text,
            config=DeliberationConfig.stored(source.config).model_dump(),
        )
        copy = repo_deliberations.create_deliberation(session, data=data)
        assert copy.id is not None
        new_questions = repo_deliberations.list_questions(session, deliberation_id=copy.id)
        question_map = {old.id: new.id for old, new in zip(questions, new_questions, strict=True)}
        context_map: dict[int, int] = {}
        for context in repo_deliberations.list_contexts(session, deliberation_id=deliberation_id):
            made, _ = repo_deliberations.add_context(
                session,
                data=ContextCreate(
                    deliberation_id=copy.id,
                    text=context.text,
                    source=context.source,
                    external_ref=context.external_ref,
                ),
            )
            assert context.id is not None and made.id is not None
            context_map[context.id] = made.id
        for question_id, context_id in repo_deliberations.context_links(
            session, deliberation_id=deliberation_id
        ):
            new_question = question_map.get(question_id)
            if new_question is not None and context_id in context_map:
                repo_deliberations.link_context(
                    session,
                    data=QuestionContextCreate(question_id=new_question, context_id=context_map[context_id]),
                )
        details = {"from": deliberation_id, "to": copy.id, "contexts": len(context_map)}
        record(
            session, deliberation_id=copy.id, actor=actor, action="deliberation_duplicate", details=details
        )
        record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action="deliberation_duplicate",
            details=details,
        )
        return public(session, copy)


def deletion_preview(engine: Engine, *, deliberation_id: int) -> dict[str, int]:
    """What deleting the deliberation would remove: how many rows of each kind (none left out)."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return repo_deliberations.deliberation_row_counts(session, deliberation_id=deliberation_id)


DELETE = "deliberation_delete"


def delete_deliberation(
    engine: Engine, *, deliberation_id: int, confirm_title: str, actor: str, reason: str = ""
) -> dict[str, int]:
    """Delete the deliberation and every row of it (participants, transcripts, cards, values, votes,
    stories, judgements, snapshots, model-call records, the moderation log...), children first, in one
    transaction; returns how many rows of each kind went. The same transaction writes the console's
    ``deliberation_delete`` event (``actor``, ``reason``; the id, title and those counts in its details).

    ``confirm_title`` must be the deliberation's title as typed by the person deleting it (the CLI's
    ``--yes`` passes it), so a stale form never deletes another one. Refused, saying why, while one of its
    jobs is queued or running (one left by a stopped process does not count); the job-start lock is held
    from that check to the end, so no job starts on it meanwhile.
    """
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        if confirm_title.strip() != deliberation.title.strip():
            raise InvalidInput(
                f"To delete deliberation {deliberation_id}, type its title exactly as it is; "
                "nothing was deleted."
            )
        repo_jobs.lock_starts(session)  # no job starts on it between this check and the delete
        running = repo_deliberations.active_job_runs(
            session, deliberation_id=deliberation_id, beaten_since=runs.stale_before()
        )
        if running:  # a run left by a stopped process (no recent heartbeat) does not hold it up
            raise InvalidInput(
                f"Deliberation {deliberation_id} has {running} job{'s' if running != 1 else ''} queued or "
                "running; wait for them to end, then delete it. Nothing was deleted."
            )
        title = deliberation.title
        counts = repo_deliberations.delete_deliberation(session, deliberation_id=deliberation_id)
        audit.record(
            session,
            deliberation_id=None,  # the console's own log: the deliberation is gone
            actor=actor or SYSTEM_ACTOR,
            action=DELETE,
            target_type="deliberation",
            target_id=deliberation_id,
            reason=" ".join(check_text(reason, what="The reason", limit=MAX_REASON).split()),
            details={"deliberation_id": deliberation_id, "title": title, "removed": counts},
        )
    log.warning("Deliberation %s (%r) deleted by %s: %s", deliberation_id, title, actor, counts)
    return counts
