"""Seed values: cards a facilitator puts on a question before participants arrive, so the first ones have
values to vote on and stories to judge (DOMAIN.md §3, steps 5 and 6).

The model writes ``count`` cards for a question in one structured call (prompt ``seed_values``); each goes
through the card rules (:func:`interviews.cards.lint_card`) and is kept only when it breaks none and its
title is new (among the question's values and the cards before it, compared by :func:`title_key`). What
is dropped is reported with its reason, never stored. Storing the kept ones is
:mod:`services.facilitator.seeds`'s.

>>> ok = CardDraft(title="Honest Presence", description="Staying truthful when a choice is frightening.",
...                policies=["MOMENTS where fear can be spoken", "FACTS the person needs to decide"])
>>> bad = ok.model_copy(update={"title": "Deep Care"})
>>> drafts = select_seeds([ok, bad, ok], existing=["Room to Decide"], count=3)
>>> [c.title for c in drafts.accepted]
['Honest Presence']
>>> for r in drafts.rejected:
...     print(f"{r.title}: {r.reason}")
Deep Care: title: say what to attend to instead of deep
Honest Presence: the same title as another value of the question
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from interviews.calls import structured_call
from interviews.cards import CardDraft, lint_card
from interviews.limits import SEEDS_PER_CALL
from interviews.prompting import as_data, load_prompt

PURPOSE = "seeds"
#: The most seed cards one call writes (the output schema is bounded by it too).
MAX_SEEDS = SEEDS_PER_CALL
#: Titles of existing values quoted in the prompt (the rest are still compared in code).
MAX_EXISTING_IN_PROMPT = 60
DUPLICATE = "the same title as another value of the question"


class SeedCards(BaseModel):
    """What the model fills in: up to :data:`MAX_SEEDS` values cards (each as the interview's card)."""

    cards: list[CardDraft] = Field(
        default_factory=list, max_length=MAX_SEEDS, description="distinct values cards, one value each"
    )


@dataclass(frozen=True)
class Rejected:
    """A card the model wrote that is not kept, and why (each broken card rule, or a repeated title)."""

    title: str
    reason: str


@dataclass(frozen=True)
class SeedDrafts:
    """The cards to keep (in the model's order, at most ``count``), the ones dropped, and the prompt."""

    accepted: tuple[CardDraft, ...]
    rejected: tuple[Rejected, ...] = ()
    prompt_ref: str = ""


def title_key(title: str) -> str:
    """The form two titles are compared by: lower case, words only.

    >>> title_key("  Honest  presence!") == title_key("honest Presence")
    True
    """
    return " ".join(re.findall(r"\w+", title.lower()))


def select_seeds(cards: Iterable[CardDraft], *, existing: Iterable[str], count: int) -> SeedDrafts:
    """Keep the cards that pass the card rules and have a new title, at most ``count`` (later ones over the
    count are dropped without a reason: they were not asked for)."""
    taken = {title_key(t) for t in existing}
    accepted: list[CardDraft] = []
    rejected: list[Rejected] = []
    for card in cards:
        title = card.title.strip()
        problems = lint_card(card)
        if problems:
            rejected.append(Rejected(title, "; ".join(str(p) for p in problems)))
        elif title_key(title) in taken:
            rejected.append(Rejected(title, DUPLICATE))
        elif len(accepted) < count:
            taken.add(title_key(title))
            accepted.append(card)
    return SeedDrafts(tuple(accepted), tuple(rejected))


def seed_prompt(*, question: str, existing: Sequence[str], count: int) -> str:
    """The rendered ``seed_values`` prompt (the question and the existing titles only as data)."""
    shown = list(existing)[:MAX_EXISTING_IN_PROMPT]
    return load_prompt("seed_values").render(
        question=as_data("question", question),
        existing=as_data("existing_values", "\n".join(shown) if shown else "(none yet)"),
        count=count,
    )


def write_seeds(
    model: BaseChatModel,
    *,
    question: str,
    existing: Sequence[str],
    count: int,
    metadata: Mapping[str, Any] | None = None,
) -> SeedDrafts:
    """Ask the model for ``count`` seed cards of ``question``; keep those :func:`select_seeds` keeps.

    Model errors (a reply that breaks the structure is :class:`~providers.errors.ModelOutputError`)
    propagate.
    """
    if not 1 <= count <= MAX_SEEDS:
        raise ValueError(f"ask for 1-{MAX_SEEDS} seed values at a time (not {count})")
    prompt = seed_prompt(question=question, existing=existing, count=count)
    answer = structured_call(model, SeedCards, prompt, purpose=PURPOSE, metadata=metadata)
    drafts = select_seeds(answer.cards, existing=existing, count=count)
    return SeedDrafts(drafts.accepted, drafts.rejected, load_prompt("seed_values").ref)
