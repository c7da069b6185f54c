"""A small deliberation for the voting, judging and receipt tests: people, canonical values and cards
seeded straight into the tables, and the vote world (my card and eight other values on one question).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from services.facilitator import deliberations
from services.participant import receipts
from storage.db import session_scope
from storage.tables import CanonicalValue, Impression, Participant, ValuesCard, Vote, utcnow


def new_deliberation(engine: Engine, **config: Any) -> tuple[int, int, int]:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q one?", "Q two?"], config=config)
    return d.id, d.questions[0].id, d.questions[1].id


def add_person(s: Any, d: int, **kw: Any) -> Participant:
    p = Participant(deliberation_id=d, **kw)
    s.add(p)
    s.flush()
    return p


def add_value(s: Any, d: int, title: str) -> int:
    v = CanonicalValue(deliberation_id=d, title=title, description=f"{title} matters.", policies=["MOMENTS"])
    s.add(v)
    s.flush()
    return v.id


def add_card(
    s: Any,
    person: Participant,
    question: int,
    value: int | None,
    status: str = "submitted",
    title: str = "Card",
) -> ValuesCard:
    card = ValuesCard(
        participant_id=person.id,
        question_id=question,
        canonical_value_id=value,
        title=title,
        description="Staying truthful and present when someone faces a frightening choice.",
        policies=["MOMENTS where the person can voice their fear", "FACTS the person needs"],
        status=status,
        submitted_at=utcnow() if status == "submitted" else None,
    )
    s.add(card)
    s.flush()
    return card


def all_rows(engine: Engine, table: type) -> list[Any]:
    with session_scope(engine) as s:
        return list(s.exec(select(table).order_by(table.id)).all())


def stage_of(engine: Engine, token: str) -> str:
    return receipts.progress(engine, token=token).stage


@dataclass
class VoteWorld:
    d: int
    q: int
    q2: int
    token: str
    own: int
    values: dict[str, int]  # "A".."H": values of other people's cards on q
    elsewhere: list[int]  # on q2 only, hidden card only, draft card only


def seed_votes(engine: Engine, *, shape: bool = True, **config: Any) -> VoteWorld:
    """Me (a card on q → Own) and eight other values on q. With ``shape``, A..H were shown 0..7 times
    and H, G, F chosen 5, 3, 1 times. Never candidates: a value on q2 only, one whose only card on q is
    hidden, one whose only card on q is a draft.
    """
    d, q, q2 = new_deliberation(engine, **{"values_to_vote": 4, **config})
    with session_scope(engine) as s:
        me = add_person(s, d, stage="vote")
        own = add_value(s, d, "Own")
        add_card(s, me, q, own, title="Mine")
        values = {}
        for name in "ABCDEFGH":
            values[name] = add_value(s, d, name)
            add_card(s, add_person(s, d), q, values[name], title=name)
        x, y, z = add_value(s, d, "X"), add_value(s, d, "Y"), add_value(s, d, "Z")
        add_card(s, add_person(s, d), q2, x)
        add_card(s, add_person(s, d), q, y, status="hidden")
        add_card(s, add_person(s, d), q, z, status="draft")
        if shape:
            viewer = add_person(s, d)
            for shown, name in enumerate("ABCDEFGH"):
                for k in range(shown):
                    s.add(
                        Impression(
                            participant_id=viewer.id,
                            canonical_value_id=values[name],
                            question_id=q,
                            draw_id=f"d{k}",
                        )
                    )
            voters = [add_person(s, d) for _ in range(5)]
            for name, n in (("H", 5), ("G", 3), ("F", 1)):
                for voter in voters[:n]:
                    s.add(
                        Vote(
                            participant_id=voter.id,
                            canonical_value_id=values[name],
                            question_id=q,
                            draw_id="x",
                        )
                    )
        return VoteWorld(d, q, q2, me.token, own, values, [x, y, z])
