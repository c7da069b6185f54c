"""Contexts of a deliberation: mined from each submitted card, or generated for a facilitator.

Idempotence of mining: a card whose contexts were mined carries the flag :data:`MINED_FLAG` in its
``quality_flags`` (set in the same transaction that adds the contexts, under a row lock on the card), so
a second call for the same card adds nothing and asks no model. A model failure leaves the card
unflagged: calling again retries. A card for which the model found nothing new is flagged too.
:func:`mine_pending` reruns mining for every unflagged submitted card of a deliberation (the participant
flow mines best-effort after a submit, so a failure there leaves the card to this job).

Provenance: a context made here stores ``"<prompt ref> card=<id>"`` (mined) or
``"<prompt ref> question=<id>"`` (generated) in ``Context.external_ref``, the table's only free
provenance field, so every context can be traced to the prompt version that wrote it.

Model calls never run inside a database transaction (a slow model must not hold SQLite's write lock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from errors import InvalidInput, one_line
from interviews import contexts as core
from interviews.cards import CardDraft
from interviews.text_rules import clean_model_text
from interviews.vocabulary import CardStatus, ContextSource
from providers.errors import ModelOutputError
from storage import repo_deliberations, repo_interviews, repo_values
from storage.db import session_scope
from storage.schemas import ContextCreate, QuestionContextCreate
from storage.tables import Context

MINED_FLAG = repo_interviews.MINED_FLAG
MAX_GENERATED = core.MAX_GENERATED


def mine_for_card(
    engine: Engine, model: BaseChatModel, *, card_id: int, job_run: str | None = None
) -> list[str]:
    """Propose contexts in which the submitted card's value is wise; add the new ones to the deliberation
    (``source="mined"``) and link them, and any existing context the model named again, to the card's
    question. Returns the texts added (empty on a repeated call). ``job_run`` goes with the call's
    accounting metadata (the job run that counts it, e.g. ``pipeline-12``).
    """
    with session_scope(engine) as session:
        card = repo_interviews.get_card(session, card_id=card_id)
        if MINED_FLAG in card.quality_flags:
            return []
        if card.status != CardStatus.SUBMITTED:
            raise InvalidInput(
                f"Values card {card_id} is not submitted; contexts are mined from submitted cards."
            )
        if card.question_id is None:
            raise InvalidInput(
                f"Values card {card_id} belongs to no question; its contexts cannot be linked."
            )
        question = repo_deliberations.get_question(session, question_id=card.question_id)
        deliberation_id, question_id, question_text = (
            question.deliberation_id,
            card.question_id,
            question.text,
        )
        existing = _existing_texts(session, deliberation_id=deliberation_id, question_id=question_id)
        draft = CardDraft.of(card)
        ids = {
            "deliberation_id": deliberation_id,
            "participant_id": card.participant_id,
            "interview_id": card.interview_id,
            **({"job_run": job_run} if job_run else {}),
        }

    selection = core.mine_contexts(
        model,
        question=question_text,
        card=draft,
        existing=existing,
        metadata=ids,
    )

    with session_scope(engine) as session:
        locked = repo_interviews.lock_card(session, card_id=card_id)
        if MINED_FLAG in locked.quality_flags:  # a concurrent call got here first
            return []
        added = _store(
            session,
            deliberation_id=deliberation_id,
            question_id=question_id,
            selection=selection,
            source=ContextSource.MINED,
            provenance=f"{selection.prompt_ref} card={card_id}",
        )
        repo_interviews.add_card_flag(session, card=locked, flag=MINED_FLAG)
    return added


@dataclass(frozen=True)
class CardMining:
    """What :func:`mine_pending` did with one card (passed to ``on_card``)."""

    card_id: int
    added: tuple[str, ...] = ()
    error: str = ""  # the malformed answer's error line; the card stays unflagged
    skipped: bool = False  # no longer submitted when its turn came


@dataclass(frozen=True)
class MiningSummary:
    deliberation_id: int
    cards: int  # unflagged submitted cards found
    cards_mined: int  # of those, mined and flagged now (possibly with nothing new)
    contexts_added: int
    skipped: int
    failures: tuple[CardMining, ...] = ()


def unmined_card_ids(engine: Engine, *, deliberation_id: int) -> list[int]:
    """The submitted cards of the deliberation's questions still lacking :data:`MINED_FLAG`, oldest first."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        cards = repo_values.unflagged_cards(session, deliberation_id=deliberation_id, flag=MINED_FLAG)
        return [c.id for c in cards if c.id is not None]


def count_unmined(engine: Engine, *, deliberation_id: int) -> int:
    """How many submitted cards of the deliberation's questions still lack :data:`MINED_FLAG`."""
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        return len(repo_values.unflagged_cards(session, deliberation_id=deliberation_id, flag=MINED_FLAG))


def mine_pending(
    engine: Engine,
    model: BaseChatModel,
    *,
    deliberation_id: int,
    on_card: Callable[[CardMining], None] | None = None,
) -> MiningSummary:
    """Run :func:`mine_for_card` for every submitted card of the deliberation not flagged yet, oldest first.

    A card whose model answer is malformed (:class:`~providers.errors.ModelOutputError`) is reported in
    ``failures``, stays unflagged for the next run, and the run goes on; a card hidden meanwhile is skipped.
    Any other model error (the endpoint unreachable, a timeout) stops the run; the cards mined before it
    keep their contexts. Every card is visited once, so a run always ends.
    """
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        card_ids = [
            c.id
            for c in repo_values.unflagged_cards(session, deliberation_id=deliberation_id, flag=MINED_FLAG)
            if c.id is not None
        ]
    mined = added_total = skipped = 0
    failures: list[CardMining] = []
    for card_id in card_ids:
        try:
            outcome = CardMining(card_id, tuple(mine_for_card(engine, model, card_id=card_id)))
            mined += 1
            added_total += len(outcome.added)
        except ModelOutputError as exc:
            outcome = CardMining(card_id, error=one_line(exc))
            failures.append(outcome)
        except InvalidInput:  # hidden or withdrawn since the list was read
            outcome = CardMining(card_id, skipped=True)
            skipped += 1
        if on_card is not None:
            on_card(outcome)
    return MiningSummary(deliberation_id, len(card_ids), mined, added_total, skipped, tuple(failures))


def generate_for_question(
    engine: Engine, model: BaseChatModel, *, question_id: int, n: int, job_run: str | None = None
) -> list[str]:
    """Ask the model for ``n`` contexts of the question (for a facilitator); add the new ones
    (``source="generated"``) linked to the question. Returns the texts added (possibly fewer than ``n``:
    duplicates of existing contexts and texts that break the context rules are dropped). ``job_run`` goes
    with the call's accounting metadata (the job run that counts it, e.g. ``job-12``).
    """
    if not 1 <= n <= MAX_GENERATED:
        raise InvalidInput(f"Ask for 1-{MAX_GENERATED} contexts at a time (not {n}).")
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        deliberation_id, question_text = question.deliberation_id, question.text
        existing = _existing_texts(session, deliberation_id=deliberation_id, question_id=question_id)

    selection = core.draft_contexts(
        model,
        question=question_text,
        existing=existing,
        n=n,
        metadata={"deliberation_id": deliberation_id, **({"job_run": job_run} if job_run else {})},
    )

    with session_scope(engine) as session:
        return _store(
            session,
            deliberation_id=deliberation_id,
            question_id=question_id,
            selection=selection,
            source=ContextSource.GENERATED,
            provenance=f"{selection.prompt_ref} question={question_id}",
        )


def add_given_contexts(
    session: Any, *, deliberation_id: int, question_id: int, texts: Sequence[str], provenance: str
) -> list[str]:
    """Add contexts a facilitator wrote (``source="facilitator"``) and link them, and the existing ones
    they repeat, to the question, in the caller's transaction; every text must follow the context rules
    (:class:`InvalidInput` lists each one that breaks them). Returns the texts added.
    """
    existing = _existing_texts(session, deliberation_id=deliberation_id, question_id=question_id)
    selection = core.select_contexts(texts, existing=existing)
    if selection.rejected:
        raise InvalidInput("; ".join(f"{text!r}: {reason}" for text, reason in selection.rejected))
    return _store(
        session,
        deliberation_id=deliberation_id,
        question_id=question_id,
        selection=selection,
        source=ContextSource.FACILITATOR,
        provenance=provenance,
    )


def require_question(engine: Engine, *, question_id: int) -> None:
    """Raise ``NotFound`` unless the question exists (a front end checks before starting a model)."""
    with session_scope(engine) as session:
        repo_deliberations.get_question(session, question_id=question_id)


def _existing_texts(session: Any, *, deliberation_id: int, question_id: int) -> list[str]:
    """Every context of the deliberation, those of this question first (they matter most in a prompt)."""
    contexts: Sequence[Context] = repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
    linked = repo_deliberations.question_context_ids(session, question_id=question_id)
    return [c.text for c in sorted(contexts, key=lambda c: (c.id not in linked, c.id))]


def _store(
    session: Any,
    *,
    deliberation_id: int,
    question_id: int,
    selection: core.ContextSelection,
    source: ContextSource,
    provenance: str,
) -> list[str]:
    """Add the new contexts and link new and matched ones to the question; the texts actually added.

    The deduplication is repeated against the contexts stored now (another card may have added one
    meanwhile), so two racing calls never add the same context twice.
    """
    stored = repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
    by_key = {core.context_key(c.text): c for c in stored}
    added: list[str] = []
    for written in (*selection.new, *selection.matched):
        text = clean_model_text(written)  # the model wrote it (interviews.text_rules)
        context = by_key.get(core.context_key(text))
        if context is None:
            context, created = repo_deliberations.add_context(
                session,
                data=ContextCreate(
                    deliberation_id=deliberation_id, text=text, source=source, external_ref=provenance[:300]
                ),
            )
            by_key[core.context_key(text)] = context
            if created:
                added.append(text)
        assert context.id is not None
        repo_deliberations.link_context(
            session, data=QuestionContextCreate(question_id=question_id, context_id=context.id)
        )
    return added
