"""Seed values: canonical values a facilitator puts on a question, typed or written by the model, so that
the first participants have values to vote on and stories to judge (DOMAIN.md §3 steps 5 and 6).

A seed is a :class:`~storage.tables.CanonicalValue` with ``seed=True`` plus one submitted card of its own on
the question, with no author (:mod:`storage.repo_seeds`): the vote draw, the story pairs and the judging set
pick it up as they pick up a participant's value, and a participant's card may join it in dedup. Seeds are
marked as such wherever values are shown (the vote page, ``cli.py values``, ``cli.py seed list``) and in
the MAI JSON export (``"seed": true``).

Every seed passes the card rules (DOMAIN.md §4, :func:`interviews.cards.lint_card`): a typed one that breaks
them is refused with every problem listed; a generated one is reported and not stored. Each seed added or
removed is a moderation event (``add_seed``, ``remove_seed``) naming who did it; a generated one's event
names the prompt and the model that wrote it. A seed's contexts are given with it, or mined from it by the
model as a participant card's are (:func:`mine_seed_contexts`, or any pipeline run later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput, StudioError, one_line
from interviews import seeds as core
from interviews.cards import CardDraft, CardProblem, lint_card
from interviews.text_rules import check_text, clean_model_text
from services.facilitator import audit
from services.facilitator.seed_rows import SeedRemoval, list_seeds, own_seed, remove_seed, seed_public
from services.jobs import contexts
from services.runtime.model_clients import model_id
from storage import repo_deliberations, repo_interviews, repo_seeds, repo_values
from storage.db import Session, session_scope
from storage.repo_interviews import MINED_FLAG
from storage.schemas import SeedCreate, SeedPublic
from storage.tables import CanonicalValue

__all__ = [
    "MAX_SEEDS",
    "SeedGeneration",
    "SeedRemoval",
    "add_seed",
    "check_seed",
    "generate_seeds",
    "list_seeds",
    "mine_seed_contexts",
    "remove_seed",
    "require_question",
]

MAX_SEEDS = core.MAX_SEEDS


def _problem(p: CardProblem) -> str:
    """A card rule a seed breaks, named as the command line gives the seed's fields.

    >>> _problem(CardProblem("policies[1]", "policy_caps", "open with a plural noun in CAPS"))
    'policy 2: open with a plural noun in CAPS'
    """
    if p.field.startswith("policies["):
        return f"policy {int(p.field[9:-1]) + 1}: {p.message}"
    return f"{p.field}: {p.message}"


def check_seed(title: str, description: str, policies: Sequence[str]) -> CardDraft:
    """The seed as a card, or :class:`InvalidInput` listing every rule it breaks (the card rules of
    DOMAIN.md §4, and the text rule: no NUL or lone surrogate)."""
    for text, what in [(title, "The title"), (description, "The description")] + [
        (p, f"Policy {i}") for i, p in enumerate(policies, 1)
    ]:
        check_text(text, what=what)
    try:
        draft = CardDraft(
            title=" ".join(title.split()),
            description=" ".join(description.split()),
            policies=[" ".join(p.split()) for p in policies if p.strip()],
        )
    except ValidationError as exc:
        raise InvalidInput(f"This seed is not a values card: {InvalidInput.from_validation(exc)}") from exc
    problems = lint_card(draft)
    if problems:
        raise InvalidInput("This seed breaks the card rules: " + "; ".join(_problem(p) for p in problems))
    return draft


def _question(session: Session, question_id: int, deliberation_id: int | None) -> tuple[int, str]:
    """The question's deliberation and text; :class:`InvalidInput` when it is not ``deliberation_id``'s."""
    if deliberation_id is not None:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
    question = repo_deliberations.get_question(session, question_id=question_id)
    if deliberation_id is not None and question.deliberation_id != deliberation_id:
        raise InvalidInput(f"Question {question_id} is not part of deliberation {deliberation_id}.")
    return question.deliberation_id, question.text


def _question_values(session: Session, deliberation_id: int, question_id: int) -> list[CanonicalValue]:
    """The question's values: its seeds and the values its participants' cards joined."""
    ids = repo_values.question_value_ids(session, deliberation_id=deliberation_id, question_id=question_id)
    return list(repo_values.canonical_values_by_id(session, ids=ids).values())


def require_question(engine: Engine, *, question_id: int, deliberation_id: int | None = None) -> None:
    """Raise unless the question exists (in ``deliberation_id`` when given): checked before a model starts."""
    with session_scope(engine) as session:
        _question(session, question_id, deliberation_id)


def _store(
    session: Session,
    *,
    deliberation_id: int,
    question_id: int,
    draft: CardDraft,
    actor: str,
    given_contexts: Sequence[str] = (),
    made_by: dict[str, Any] | None = None,
) -> SeedPublic:
    """One seed in the caller's transaction: refused when a value of the question (a seed or one a
    participant's card joined) has that title."""
    titles = {core.title_key(v.title): v.id for v in _question_values(session, deliberation_id, question_id)}
    same = titles.get(core.title_key(draft.title))
    if same is not None:
        raise InvalidInput(
            f"Question {question_id} already has a value titled {draft.title!r} (value {same})."
        )
    value, card = repo_seeds.add_seed(
        session,
        data=SeedCreate(
            deliberation_id=deliberation_id,
            question_id=question_id,
            title=draft.title,
            description=draft.description,
            policies=list(draft.policies),
        ),
    )
    added: list[str] = []
    if given_contexts:
        added = contexts.add_given_contexts(
            session,
            deliberation_id=deliberation_id,
            question_id=question_id,
            texts=given_contexts,
            provenance=f"seed value={value.id}",
        )
        repo_interviews.add_card_flag(session, card=card, flag=MINED_FLAG)  # given: never mined on top
    audit.record(
        session,
        deliberation_id=deliberation_id,
        actor=actor,
        action="add_seed",
        target_type="canonical_value",
        target_id=value.id,
        details={
            "question_id": question_id,
            "card_id": card.id,
            "title": draft.title,
            "contexts": list(given_contexts),
            "contexts_added": added,
            **(made_by or {"made_by": "typed"}),
        },
    )
    return seed_public(session, value, card)


def add_seed(
    engine: Engine,
    *,
    question_id: int,
    title: str,
    description: str,
    policies: list[str],
    contexts: Sequence[str] = (),
    actor: str = "cli",
    deliberation_id: int | None = None,
) -> SeedPublic:
    """Seed ``question_id`` with one value typed by a facilitator (one transaction, logged ``add_seed``).

    Refused (:class:`InvalidInput`) when the card breaks a card rule (every problem listed), when the
    question already has a value of that title, or when a given context breaks the context rules.
    ``contexts`` are linked to the question as the seed's (and the seed is never mined); without them its
    contexts are mined later (:func:`mine_seed_contexts`, or a pipeline run). ``deliberation_id``, when
    given, must be the question's.
    """
    draft = check_seed(title, description, policies)
    for i, text in enumerate(contexts, 1):
        check_text(text, what=f"Context {i}")
    with session_scope(engine) as session:
        deliberation_id, _ = _question(session, question_id, deliberation_id)
        return _store(
            session,
            deliberation_id=deliberation_id,
            question_id=question_id,
            draft=draft,
            actor=actor,
            given_contexts=contexts,
        )


@dataclass(frozen=True)
class SeedGeneration:
    """What :func:`generate_seeds` did: the seeds stored, the cards dropped (with why), the contexts mined
    for the new seeds, and mining failures (the seed is kept; a later run mines it)."""

    question_id: int
    asked: int
    added: tuple[SeedPublic, ...]
    rejected: tuple[core.Rejected, ...]
    prompt_ref: str
    model: str
    contexts_added: int = 0
    mining_errors: tuple[str, ...] = ()


def generate_seeds(
    engine: Engine,
    model: BaseChatModel,
    *,
    question_id: int,
    count: int,
    actor: str = "cli",
    mine: bool = True,
    deliberation_id: int | None = None,
) -> SeedGeneration:
    """Ask the model for ``count`` seed values of the question (prompt ``seed_values``); store the ones that
    pass the card rules and repeat no value of the question, report the rest. With ``mine`` the new seeds'
    contexts are mined at once (one call each). Every call is recorded (purposes ``seeds``, ``contexts``).
    """
    if not 1 <= count <= MAX_SEEDS:
        raise InvalidInput(f"Ask for 1-{MAX_SEEDS} seed values at a time (not {count}).")
    with session_scope(engine) as session:
        deliberation_id, question = _question(session, question_id, deliberation_id)
        existing = [v.title for v in _question_values(session, deliberation_id, question_id)]
    drafts = core.write_seeds(
        model,
        question=question,
        existing=existing,
        count=count,
        metadata={"deliberation_id": deliberation_id},
    )
    name = model_id(model)
    added: list[SeedPublic] = []
    rejected = list(drafts.rejected)
    for draft in drafts.accepted:
        cleaned = CardDraft.model_construct(
            title=clean_model_text(draft.title).strip(),
            description=clean_model_text(draft.description).strip(),
            policies=[clean_model_text(p).strip() for p in draft.policies],
        )
        try:
            with session_scope(engine) as session:
                added.append(
                    _store(
                        session,
                        deliberation_id=deliberation_id,
                        question_id=question_id,
                        draft=cleaned,
                        actor=actor,
                        made_by={"made_by": "model", "prompt": drafts.prompt_ref, "model": name},
                    )
                )
        except InvalidInput as exc:  # a title another seed took meanwhile
            rejected.append(core.Rejected(cleaned.title, one_line(exc)))
    mined, errors = 0, []
    if mine:
        for seed in added:
            try:
                mined += len(mine_seed_contexts(engine, model, value_id=seed.id))
            except StudioError as exc:
                errors.append(f"seed {seed.id}: {one_line(exc)}")
    if mine and added:  # the cards now say whether their contexts were mined
        added = [
            s
            for s in list_seeds(engine, deliberation_id=deliberation_id, question_id=question_id)
            if s.id in {a.id for a in added}
        ]
    return SeedGeneration(
        question_id, count, tuple(added), tuple(rejected), drafts.prompt_ref, name, mined, tuple(errors)
    )


def mine_seed_contexts(engine: Engine, model: BaseChatModel, *, value_id: int) -> list[str]:
    """Mine the contexts in which a seed is wise, as a participant card's are (one model call; nothing when
    they were mined or given already). Returns the contexts added."""
    with session_scope(engine) as session:
        _, card = own_seed(session, value_id)
        card_id = card.id
    assert card_id is not None
    return contexts.mine_for_card(engine, model, card_id=card_id)
