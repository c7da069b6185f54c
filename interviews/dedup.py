"""Deduplication: many participants' cards → canonical values (DOMAIN.md §5). Pure: no storage, no I/O.

Two steps, following the field's designs:

1. **Candidates from embeddings** (:mod:`interviews.dedup_candidates`): near-duplicate new cards are grouped
   and packed into batches, and each card is shown only the existing canonical values closest to it.
2. **One LLM "partition" call per batch** (this module). :func:`partition_cards` asks the model to sort
   every new card of the batch into groups, each joined to one existing canonical value or forming a new
   one, against the five criteria of DOMAIN.md §5 (prompt ``dedup_partition``). :func:`validate_partition`
   checks that every card appears exactly once and every referenced value was offered; a bad partition is
   sent back once with the problems, then :class:`PartitionError` is raised.

The model sees cards as ``c<id>`` and values as ``v<id>``, so a card id can never pass for a value id.

Errors::

    DedupError (ValueError)          the caller passed something unusable (duplicate ids, a batch too big);
                                     defined in interviews.dedup_candidates
    PartitionError (DedupError, providers.errors.ModelOutputError)
                                     the model's partition broke the rules, also after one retry;
                                     ``.problems`` lists each broken rule

>>> p = Partition(groups=[PartitionGroup(cards=["c1", "c2"], representative="c2")])
>>> [(d.card_ids, d.canonical_id, d.representative_id) for d in validate_partition(p, card_ids=[1, 2],
...                                                                                  canonical_ids=[])]
[((1, 2), None, 2)]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field, ValidationError

from interviews.cards import CardDraft, lint_card
from interviews.dedup_candidates import DedupError
from interviews.limits import DEDUP_BATCH_MAX
from interviews.prompting import as_data, load_prompt
from providers.errors import ModelOutputError

PROMPT = "dedup_partition"
#: Most new cards in one partition call (the output schema is bounded by it too).
MAX_BATCH = DEDUP_BATCH_MAX
#: Most existing canonical values shown in one partition call.
MAX_CANONICALS = 30
_LABEL = re.compile(r"^\s*([a-z])?\s*[-#:]?\s*(\d+)\s*$", re.I)


class PartitionError(DedupError, ModelOutputError):
    """The model's partition broke the rules (after the retry); ``problems`` lists every broken rule."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), **kwargs: Any) -> None:
        ModelOutputError.__init__(self, message, **kwargs)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ValueText:
    """A new card or an existing canonical value as the partition prompt shows it."""

    id: int
    title: str
    description: str
    policies: tuple[str, ...] = ()


class PartitionGroup(BaseModel):
    """One group of new cards: joined to an existing value, or forming a new one."""

    reason: str = Field(
        default="", max_length=600, description="what the items share, or why a card stands alone"
    )
    cards: list[str] = Field(
        min_length=1, max_length=MAX_BATCH, description='ids of the new cards in this group, e.g. ["c12"]'
    )
    join: str | None = Field(
        default=None,
        max_length=20,
        description='id of the existing value these cards are the same as, e.g. "v3"; empty for a new value',
    )
    representative: str | None = Field(
        default=None,
        max_length=20,
        description="for a new value: the card of this group whose wording best captures the group",
    )
    new_value: CardDraft | None = Field(
        default=None, description="for a new value only, when no single card captures the group"
    )


class Partition(BaseModel):
    """The model's answer: every new card in exactly one group."""

    groups: list[PartitionGroup] = Field(min_length=1, max_length=MAX_BATCH)


@dataclass(frozen=True)
class Decision:
    """A validated group: ``card_ids`` join ``canonical_id``, or (when it is ``None``) form a new canonical
    value written as ``new_value`` or, without one, copied from card ``representative_id``.
    """

    card_ids: tuple[int, ...]
    canonical_id: int | None
    representative_id: int | None
    new_value: CardDraft | None
    reason: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartitionResult:
    decisions: tuple[Decision, ...]
    prompt_ref: str
    attempts: int  # model calls made (0 for an empty batch)


def _parse_label(text: str | None, kind: str) -> int | str | None:
    """``"c12"`` → 12 for kind ``c``; a bare ``"12"`` is accepted; anything else → an error message."""
    if text is None or not text.strip() or text.strip().lower() in ("none", "null", "new"):
        return None
    match = _LABEL.match(text)
    if not match or (match[1] and match[1].lower() != kind):
        noun = "a card" if kind == "c" else "an existing value"
        return f"{text.strip()!r} is not {noun} id (write {kind}<number>)"
    return int(match[2])


def validate_partition(
    partition: Partition, *, card_ids: Sequence[int], canonical_ids: Sequence[int]
) -> tuple[Decision, ...]:
    """Check ``partition`` against the batch; return one :class:`Decision` per group.

    Raises :class:`PartitionError` naming every problem: a card missing or listed twice, an unknown card,
    a ``join`` that is not one of the offered values, a group that both joins a value and writes a new one,
    a representative from outside its group. A rewritten ``new_value`` that breaks a card rule is dropped in
    favour of the representative card (noted in ``Decision.notes``), not rejected.

    >>> p = Partition(groups=[PartitionGroup(cards=["c1", "c1"], join="v9")])
    >>> validate_partition(p, card_ids=[1, 2], canonical_ids=[3])
    Traceback (most recent call last):
    ...
    interviews.dedup.PartitionError: The partition is invalid: card c1 appears more than once; group 1 joins v9, which is not one of the existing values offered; card c2 is missing.
    """  # noqa: E501
    expected, offered = set(card_ids), set(canonical_ids)
    problems: list[str] = []
    seen: set[int] = set()
    decisions = []
    for number, group in enumerate(partition.groups, start=1):
        members: list[int] = []
        for label in group.cards:
            parsed = _parse_label(label, "c")
            if isinstance(parsed, str) or parsed is None:
                problems.append(f"group {number}: {parsed or 'an empty card id'}")
            elif parsed not in expected:
                problems.append(f"group {number} lists c{parsed}, which is not one of the new cards")
            elif parsed in seen:
                problems.append(f"card c{parsed} appears more than once")
            else:
                seen.add(parsed)
                members.append(parsed)
        join = _parse_label(group.join, "v")
        if isinstance(join, str):
            problems.append(f"group {number}: join {join}")
            join = None
        elif join is not None and join not in offered:
            problems.append(f"group {number} joins v{join}, which is not one of the existing values offered")
            join = None
        if join is not None and group.new_value is not None:
            problems.append(f"group {number} both joins v{join} and writes a new value; choose one")
        representative = _parse_label(group.representative, "c")
        notes: list[str] = []
        if join is None:
            if isinstance(representative, str):
                problems.append(f"group {number}: representative {representative}")
            elif representative is not None and representative not in members:
                where = "in this group" if representative in expected else "one of the new cards"
                problems.append(f"group {number}: representative c{representative} is not {where}")
            elif representative is None and members:
                representative = members[0]
                notes.append(f"no representative named: c{representative} used")
        new_value = group.new_value if join is None else None
        if new_value is not None and lint_card(new_value):
            broken = "; ".join(str(p) for p in lint_card(new_value))
            notes.append(f"rewritten value dropped ({broken}); card c{representative} used")
            new_value = None
        if members:
            decisions.append(
                Decision(
                    card_ids=tuple(members),
                    canonical_id=join,
                    representative_id=representative
                    if join is None and isinstance(representative, int)
                    else None,
                    new_value=new_value,
                    reason=group.reason.strip(),
                    notes=tuple(notes),
                )
            )
    missing = [c for c in card_ids if c not in seen]
    if missing:
        shown = ", ".join(f"c{c}" for c in missing[:20]) + (" ..." if len(missing) > 20 else "")
        problems.append(
            f"card{'s' if len(missing) > 1 else ''} {shown} {'are' if len(missing) > 1 else 'is'} missing"
        )
    if problems:
        raise PartitionError(_problem_message(problems), problems=problems)
    return tuple(decisions)


def _problem_message(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:12])
    more = f"; and {len(problems) - 12} more" if len(problems) > 12 else ""
    return f"The partition is invalid: {shown}{more}."


def _render(items: Sequence[ValueText], prefix: str) -> str:
    blocks = []
    for item in items:
        lines = [f"[{prefix}{item.id}] {item.title.strip()}", item.description.strip()]
        lines += [f"- {p.strip()}" for p in item.policies]
        blocks.append("\n".join(line for line in lines if line))
    return "\n\n".join(blocks)


def prompt_ref() -> str:
    """The ref (``name@version:sha12``) of the partition prompt, stored with what it produced."""
    return load_prompt(PROMPT).ref


def render_prompt(new_cards: Sequence[ValueText], canonicals: Sequence[ValueText]) -> str:
    """The partition prompt for a batch (participant-written text enters only through :func:`as_data`)."""
    values = _render(canonicals, "v") if canonicals else "(none yet: every group forms a new value)"
    return load_prompt(PROMPT).render(
        cards=as_data("new_cards", _render(new_cards, "c")),
        values=as_data("existing_values", values),
    )


def partition_cards(
    model: BaseChatModel,
    new_cards: Sequence[ValueText],
    canonicals: Sequence[ValueText],
    *,
    config: RunnableConfig | None = None,
    retries: int = 1,
) -> PartitionResult:
    """Sort ``new_cards`` into groups joining one of ``canonicals`` or forming new values (one model call).

    A partition that breaks the rules (or a reply that does not fit the :class:`Partition` structure) is
    sent back ``retries`` times with the problems; then :class:`PartitionError` is raised. Other model errors
    (timeouts, an unreachable endpoint) propagate unchanged. ``config`` is passed to every call (put the
    accounting metadata there: ``{"metadata": {"purpose": "dedup", "deliberation_id": ...}}``).
    """
    prompt = load_prompt(PROMPT)
    card_ids = [c.id for c in new_cards]
    canonical_ids = [c.id for c in canonicals]
    if len(set(card_ids)) != len(card_ids) or len(set(canonical_ids)) != len(canonical_ids):
        raise DedupError("partition_cards got duplicate card or value ids")
    if len(card_ids) > MAX_BATCH:
        raise DedupError(f"at most {MAX_BATCH} new cards per partition call (got {len(card_ids)})")
    if len(canonical_ids) > MAX_CANONICALS:
        raise DedupError(
            f"at most {MAX_CANONICALS} existing values per partition call (got {len(canonical_ids)})"
        )
    if not new_cards:
        return PartitionResult((), prompt.ref, 0)

    structured = model.with_structured_output(Partition)
    messages: list[BaseMessage] = [HumanMessage(render_prompt(new_cards, canonicals))]
    last_error: Exception | None = None
    for attempt in range(1, retries + 2):
        try:
            parsed = structured.invoke(messages, config=config)
            answer = parsed if isinstance(parsed, Partition) else Partition.model_validate(parsed)
            decisions = validate_partition(answer, card_ids=card_ids, canonical_ids=canonical_ids)
            return PartitionResult(decisions, prompt.ref, attempt)
        except PartitionError as exc:
            last_error = exc
            sent = json.dumps(answer.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
            feedback = (
                f"{exc} Every new card ({', '.join(f'c{c}' for c in card_ids)}) must appear exactly once."
            )
        except (ModelOutputError, OutputParserException, ValidationError) as exc:
            last_error = exc
            sent = "(an answer that did not fit the Partition structure)"
            feedback = f"Your answer did not fit the Partition structure: {' '.join(str(exc).split())[:600]}"
        messages = [
            *messages[:1],
            AIMessage(sent),
            HumanMessage(f"{feedback}\nFill in the Partition structure again, corrected."),
        ]
    problems = getattr(last_error, "problems", ()) or (str(last_error),)
    raise PartitionError(
        f"The model's partition was still invalid after {retries + 1} tries: {last_error}", problems=problems
    ) from last_error
