"""A values card as plain text for a prompt, wrapped as delimited data (DOMAIN.md §4's card shape).

Anything with ``title``, ``description`` and ``policies`` is a card here: a participant's
:class:`~interviews.cards.CardDraft` or a canonical value handed in by a service.

>>> from interviews.cards import CardDraft
>>> card = CardDraft(title="Faith in People", description="Trusting people.",
...                  policies=["CHANGES in people when entrusted with self-determination"])
>>> print(card_data("value_a", card))
<value_a>
Title: Faith in People
Description: Trusting people.
What they attend to when choosing:
- CHANGES in people when entrusted with self-determination
</value_a>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from interviews.prompting import as_data


class CardLike(Protocol):
    """The three fields every values card has."""

    @property
    def title(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def policies(self) -> Sequence[str]: ...


def card_text(card: CardLike) -> str:
    """Title, description and one line per policy (blank fields are left out)."""
    lines = [f"Title: {card.title.strip()}"]
    if card.description.strip():
        lines.append(f"Description: {card.description.strip()}")
    policies = [p.strip() for p in card.policies if p.strip()]
    if policies:
        lines.append("What they attend to when choosing:")
        lines.extend(f"- {p}" for p in policies)
    return "\n".join(lines)


def card_data(tag: str, card: CardLike) -> str:
    """:func:`card_text` inside ``<tag>…</tag>`` as inert data (participant-written text)."""
    return as_data(tag, card_text(card))
