"""A deliberation's cards for the dedup and values tests: title-keyed embeddings, a partition judge that
groups cards by title, seeding helpers.
"""

from __future__ import annotations

import re

from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine
from sqlmodel import select

from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from storage.db import session_scope
from storage.tables import ModerationEvent, Participant, Question, ValuesCard


class TitleEmbeddings(Embeddings):
    """Same title, same vector; different titles are orthogonal (so candidates are exactly the twins)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        vectors = []
        for text in texts:
            slot = self.index.setdefault(text.split(". ")[0], len(self.index))
            vector = [0.0] * 64
            vector[slot] = 1.0
            vectors.append(vector)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


ITEM = re.compile(r"^\[([cv])(\d+)\] (.+)$", re.M)


def title_judge(messages: list[BaseMessage]) -> dict:
    """A partition that groups cards by title and joins an offered value with the same title."""
    offered: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for kind, number, title in ITEM.findall(str(messages[0].content)):
        if kind == "v":
            offered.setdefault(title, f"v{number}")
        else:
            groups.setdefault(title, []).append(f"c{number}")
    return {
        "groups": [
            {"reason": "same title", "cards": cards}
            | ({"join": offered[title]} if title in offered else {"representative": cards[0]})
            for title, cards in groups.items()
        ]
    }


def drop_all_but_one(messages: list[BaseMessage]) -> dict:
    """A partition that names only the batch's first card (every other card is missing)."""
    first = next(number for kind, number, _ in ITEM.findall(str(messages[0].content)) if kind == "c")
    return {"groups": [{"cards": [f"c{first}"]}]}


def judge(n: int = 10) -> ScriptedChatModel:
    return ScriptedChatModel([title_judge] * n)


def new_deliberation(engine: Engine, questions: tuple[str, ...] = ("Q one?",)) -> tuple[int, list[int]]:
    created = deliberations.create_deliberation(engine, title="Dedup", questions=list(questions))
    return created.id, [q.id for q in created.questions]


def add_cards(engine: Engine, question_id: int, titles: list[str], *, status: str = "submitted") -> list[int]:
    ids = []
    with session_scope(engine) as session:
        deliberation_id = session.get(Question, question_id).deliberation_id
        for title in titles:
            person = Participant(deliberation_id=deliberation_id)
            session.add(person)
            session.flush()
            card = ValuesCard(
                participant_id=person.id,
                question_id=question_id,
                title=title,
                description=f"What {title.lower()} asks of us.",
                policies=[f"MOMENTS of {title.lower()}", "CHOICES people make for themselves"],
                status=status,
            )
            session.add(card)
            session.flush()
            ids.append(card.id)
    return ids


def canonical_of(engine: Engine, card_ids: list[int]) -> list[int | None]:
    with session_scope(engine) as session:
        return [session.get(ValuesCard, i).canonical_value_id for i in card_ids]


def events(engine: Engine, action: str) -> list[ModerationEvent]:
    with session_scope(engine) as session:
        statement = select(ModerationEvent).where(ModerationEvent.action == action)
        return list(session.exec(statement.order_by(ModerationEvent.id)).all())
