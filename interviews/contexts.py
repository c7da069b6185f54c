"""Contexts: short "When ..." clauses naming the kind of choice in which a value is wise (DOMAIN.md §2).

Two sources, one set of rules:

- :func:`mine_contexts`: after a card is submitted, the contexts in which
  that participant's value is the wise way to choose (``source="mined"``);
- :func:`draft_contexts`: a facilitator asks for contexts of a question
  (``source="generated"``).

Whatever the model writes goes through :func:`clean_context` (starts with "When", 4-9 words, trimmed,
no trailing punctuation) and is deduplicated against the existing contexts and against itself by
:func:`context_key` (case, punctuation and articles ignored), and optionally by a similarity function
the caller passes in (e.g. embeddings); a near-duplicate of an existing context is reported as
``matched`` rather than added.

>>> clean_context('  "when the user is in   distress." ')
'When the user is in distress'
>>> context_key("When the user is in distress") == context_key("when a user is in distress!")
True
>>> select_contexts(["When a user is in distress", "When a person feels ashamed", "Whenever"],
...                 existing=["When the user is in distress"]).new
('When a person feels ashamed',)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from errors import StudioError
from interviews.calls import structured_call
from interviews.card_text import CardLike, card_data
from interviews.limits import CONTEXTS_PER_CALL
from interviews.prompting import as_data, load_prompt

CONTEXT_WORDS = (4, 9)
MAX_CONTEXT_CHARS = 120
#: How many new contexts one submitted card may add.
MINED_PER_CARD = 3
#: The most contexts a facilitator may generate in one call.
MAX_GENERATED = CONTEXTS_PER_CALL
#: Existing contexts quoted in a prompt (the rest are still deduplicated in code).
MAX_EXISTING_IN_PROMPT = 80
PURPOSE = "contexts"
_ARTICLES = frozenset({"a", "an", "the"})
_QUOTES = "\"'“”‘’`"

Similar = Callable[[str, str], bool]
"""``similar(candidate, other)``: True when two cleaned contexts mean the same (e.g. cosine >= 0.9)."""


class ContextError(StudioError, ValueError):
    """A text is not a context: it says which rule it breaks."""


class ContextList(BaseModel):
    """What the model fills in (bounded: a runaway model cannot flood the deliberation)."""

    contexts: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=24,
        description='Each a clause of 4-9 words starting with "When", naming a kind of situation',
    )


@dataclass(frozen=True)
class ContextSelection:
    """What became of the model's proposals.

    ``new``: clean contexts to add, in the model's order; ``matched``: existing contexts the model
    proposed again (or something that means the same); ``rejected``: ``(text, reason)`` for what broke
    a rule; ``prompt_ref``: the prompt that produced them.
    """

    new: tuple[str, ...]
    matched: tuple[str, ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()
    prompt_ref: str = ""


def clean_context(text: str) -> str:
    """``text`` as a context (whitespace collapsed, quotes, bullets and trailing punctuation removed,
    "when" capitalised), or :class:`ContextError` naming the broken rule.

    >>> clean_context("- When someone asks for medical advice.")
    'When someone asks for medical advice'
    >>> clean_context("The user is sad")
    Traceback (most recent call last):
    ...
    interviews.contexts.ContextError: a context starts with "When"
    """
    cleaned = " ".join(str(text).split())
    cleaned = re.sub(r"^(?:[-*•]|\d+[.)])\s*", "", cleaned)
    cleaned = cleaned.strip(_QUOTES + " ").rstrip(".!?;:, ").strip(_QUOTES + " ")
    words = cleaned.split()
    if not words or words[0].lower().strip(",") != "when":
        raise ContextError('a context starts with "When"')
    words[0] = "When" + words[0][4:]
    cleaned = " ".join(words)
    if not CONTEXT_WORDS[0] <= len(words) <= CONTEXT_WORDS[1]:
        raise ContextError(
            f"a context has {CONTEXT_WORDS[0]}-{CONTEXT_WORDS[1]} words (this has {len(words)})"
        )
    if len(cleaned) > MAX_CONTEXT_CHARS:
        raise ContextError(f"a context has at most {MAX_CONTEXT_CHARS} characters")
    if re.search(r"[<>{}\[\]\n]", cleaned):
        raise ContextError("a context is plain words (no brackets or markup)")
    return cleaned


def context_key(text: str) -> str:
    """The normalised form two contexts are compared by: lower case, words only, no articles.

    >>> context_key("When THE user's partner is absent.")
    "when user's partner is absent"
    """
    words = re.findall(r"[\w']+", text.lower())
    return " ".join(w for w in words if w not in _ARTICLES)


def select_contexts(
    candidates: Sequence[str],
    *,
    existing: Sequence[str],
    similar: Similar | None = None,
    limit: int | None = None,
) -> ContextSelection:
    """Clean ``candidates`` and keep those that duplicate neither ``existing`` nor an earlier candidate.

    ``limit`` caps the number of new contexts (later ones are dropped). ``existing`` texts are taken as
    they are (they were cleaned when stored, or typed by a facilitator).
    """
    by_key = {context_key(e): e for e in existing}
    new: list[str] = []
    new_keys: set[str] = set()
    matched: list[str] = []
    rejected: list[tuple[str, str]] = []
    for raw in candidates:
        try:
            text = clean_context(raw)
        except ContextError as exc:
            rejected.append((str(raw)[:MAX_CONTEXT_CHARS], str(exc)))
            continue
        key = context_key(text)
        if key in new_keys:
            continue
        same = by_key.get(key)
        if same is None and similar is not None:
            same = next((e for e in existing if similar(text, e)), None)
            if same is None and any(similar(text, n) for n in new):
                continue
        if same is not None:
            if same not in matched:
                matched.append(same)
            continue
        if limit is not None and len(new) >= limit:
            continue
        new.append(text)
        new_keys.add(key)
    return ContextSelection(tuple(new), tuple(matched), tuple(rejected))


def existing_data(existing: Sequence[str]) -> str:
    """The existing contexts as delimited data for a prompt (at most :data:`MAX_EXISTING_IN_PROMPT`)."""
    shown = list(existing)[:MAX_EXISTING_IN_PROMPT]
    return as_data("existing_contexts", "\n".join(shown) if shown else "(none yet)")


def mine_prompt(*, question: str, card: CardLike, existing: Sequence[str], count: int) -> str:
    """The rendered ``mine_contexts`` prompt (participant text only inside data tags)."""
    return load_prompt("mine_contexts").render(
        question=as_data("question", question),
        card=card_data("values_card", card),
        existing=existing_data(existing),
        count=count,
    )


def mine_contexts(
    model: BaseChatModel,
    *,
    question: str,
    card: CardLike,
    existing: Sequence[str],
    count: int = MINED_PER_CARD,
    similar: Similar | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ContextSelection:
    """Ask the model in which contexts the participant's ``card`` is wise; keep at most ``count`` new ones.

    Model errors (including :class:`~providers.errors.ModelOutputError`) propagate.
    """
    prompt = mine_prompt(question=question, card=card, existing=existing, count=count)
    proposals = _ask(model, prompt, metadata)
    selection = select_contexts(proposals, existing=existing, similar=similar, limit=count)
    return _with_ref(selection, load_prompt("mine_contexts").ref)


def generate_prompt(*, question: str, existing: Sequence[str], n: int) -> str:
    """The rendered ``generate_contexts`` prompt."""
    return load_prompt("generate_contexts").render(
        question=as_data("question", question), existing=existing_data(existing), count=n
    )


def draft_contexts(
    model: BaseChatModel,
    *,
    question: str,
    existing: Sequence[str],
    n: int,
    similar: Similar | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ContextSelection:
    """Ask for ``n`` contexts of ``question`` (for a facilitator); keep at most ``n`` new ones."""
    if not 1 <= n <= MAX_GENERATED:
        raise ValueError(f"ask for 1-{MAX_GENERATED} contexts at a time (not {n})")
    proposals = _ask(model, generate_prompt(question=question, existing=existing, n=n), metadata)
    selection = select_contexts(proposals, existing=existing, similar=similar, limit=n)
    return _with_ref(selection, load_prompt("generate_contexts").ref)


def _ask(model: BaseChatModel, prompt: str, metadata: Mapping[str, Any] | None) -> list[str]:
    return list(structured_call(model, ContextList, prompt, purpose=PURPOSE, metadata=metadata).contexts)


def _with_ref(selection: ContextSelection, ref: str) -> ContextSelection:
    return ContextSelection(selection.new, selection.matched, selection.rejected, ref)
