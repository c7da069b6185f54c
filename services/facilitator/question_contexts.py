"""A question's contexts, as a facilitator sets them: typed, or proposed by the model and edited before
they are saved.

:func:`propose_contexts` asks the model and stores nothing (the console shows the proposals in a text
field to edit); :func:`save_contexts` makes the question's contexts exactly the ones given: new texts are
added (``source="generated"`` with the prompt's reference when the text is a proposal as the model wrote
it, else ``"facilitator"``), texts of the deliberation's other contexts are linked, and contexts left out
are unlinked from the question (they stay in the deliberation: stories and judgements may name them).
Logged ``question_contexts`` with the texts before and after.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import contexts as core
from interviews.text_rules import check_text, clean_model_text
from interviews.vocabulary import ContextSource
from services.facilitator.deliberations import record
from storage import repo_deliberations
from storage.db import session_scope
from storage.schemas import ContextCreate, QuestionContextCreate

MAX_PROPOSED = core.MAX_GENERATED
#: The most contexts one save may set on a question.
MAX_CONTEXTS_PER_QUESTION = 200


class ContextProposal(BaseModel):
    """What the model proposed for a question (nothing stored yet)."""

    question_id: int
    texts: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    prompt_ref: str = ""


class ContextsSaved(BaseModel):
    """What a save changed on the question."""

    added: list[str] = Field(default_factory=list)
    linked: list[str] = Field(default_factory=list)
    unlinked: list[str] = Field(default_factory=list)


def question_contexts(engine: Engine, *, question_id: int) -> list[str]:
    """The texts of the question's contexts, oldest first."""
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        linked = repo_deliberations.question_context_ids(session, question_id=question_id)
        every = repo_deliberations.list_contexts(session, deliberation_id=question.deliberation_id)
        return [c.text for c in every if c.id in linked]


def propose_contexts(engine: Engine, model: BaseChatModel, *, question_id: int, n: int) -> ContextProposal:
    """Ask the model for ``n`` new contexts of the question (none of the deliberation's contexts again);
    stores nothing. The call is recorded as every model call is (purpose ``contexts``)."""
    if not 1 <= n <= MAX_PROPOSED:
        raise InvalidInput(f"Ask for 1-{MAX_PROPOSED} contexts at a time (not {n}).")
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        deliberation_id, text = question.deliberation_id, question.text
        linked = repo_deliberations.question_context_ids(session, question_id=question_id)
        every = repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
        existing = [c.text for c in sorted(every, key=lambda c: (c.id not in linked, c.id))]
    selection = core.draft_contexts(
        model, question=text, existing=existing, n=n, metadata={"deliberation_id": deliberation_id}
    )
    return ContextProposal(
        question_id=question_id,
        texts=[clean_model_text(t) for t in selection.new],
        rejected=[f"{t}: {reason}" for t, reason in selection.rejected],
        prompt_ref=selection.prompt_ref,
    )


def save_contexts(
    engine: Engine,
    *,
    question_id: int,
    texts: Sequence[str],
    actor: str,
    proposal: ContextProposal | None = None,
) -> ContextsSaved:
    """Make the question's contexts exactly ``texts`` (blank lines ignored, repeats kept once); every text
    must follow the context rules ("When ...", 4-9 words; :class:`InvalidInput` lists each one that breaks
    them, and nothing is saved). ``proposal``: what the model proposed, so that a text kept as written
    is stored as generated, with its prompt."""
    wanted = [t for t in texts if t.strip()]
    if len(wanted) > MAX_CONTEXTS_PER_QUESTION:
        raise InvalidInput(
            f"A question has at most {MAX_CONTEXTS_PER_QUESTION} contexts (got {len(wanted)})."
        )
    for i, text in enumerate(wanted, 1):
        check_text(text, what=f"Context {i}")
    selection = core.select_contexts(wanted, existing=[])
    if selection.rejected:
        raise InvalidInput("; ".join(f"{text!r}: {reason}" for text, reason in selection.rejected))
    generated = (
        {core.context_key(t) for t in proposal.texts}
        if proposal is not None and proposal.question_id == question_id
        else set()
    )
    saved = ContextsSaved()
    with session_scope(engine) as session:
        question = repo_deliberations.get_question(session, question_id=question_id)
        deliberation_id = question.deliberation_id
        stored = repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
        by_key = {core.context_key(c.text): c for c in stored}
        linked = repo_deliberations.question_context_ids(session, question_id=question_id)
        before = [c.text for c in stored if c.id in linked]
        keep: set[int] = set()
        for text in selection.new:
            key = core.context_key(text)
            context = by_key.get(key)
            if context is None:
                source = ContextSource.GENERATED if key in generated else ContextSource.FACILITATOR
                ref = (
                    f"{proposal.prompt_ref} question={question_id}" if key in generated and proposal else None
                )
                context, created = repo_deliberations.add_context(
                    session,
                    data=ContextCreate(
                        deliberation_id=deliberation_id,
                        text=text,
                        source=source,
                        external_ref=ref[:300] if ref else None,
                    ),
                )
                by_key[key] = context
                if created:
                    saved.added.append(text)
            assert context.id is not None
            keep.add(context.id)
            if (
                repo_deliberations.link_context(
                    session, data=QuestionContextCreate(question_id=question_id, context_id=context.id)
                )
                and context.text not in saved.added
            ):
                saved.linked.append(context.text)
        for context in stored:
            if context.id in linked and context.id not in keep:
                repo_deliberations.unlink_context(session, question_id=question_id, context_id=context.id)
                saved.unlinked.append(context.text)
        if saved.added or saved.linked or saved.unlinked:
            after = [t for t in (by_key[core.context_key(x)].text for x in selection.new)]
            record(
                session,
                deliberation_id=deliberation_id,
                actor=actor,
                action="question_contexts",
                target_type="question",
                target_id=question_id,
                details={"before": before, "after": after, **saved.model_dump()},
            )
        return saved
