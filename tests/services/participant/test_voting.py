"""The vote through the database: the draw (never my own value, least shown and most chosen, close to my
card, stable on reload) and the votes (checked, stored once, replaced on resubmit).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from providers.errors import ModelUnavailable
from services.participant import voting
from storage.db import session_scope
from storage.tables import (
    Impression,
    Participant,
    ValuesCard,
    Vote,
)
from tests.services.participant_world import (
    add_card,
    add_person,
    add_value,
    all_rows,
    new_deliberation,
    seed_votes,
    stage_of,
)


class TitleEmbeddings(Embeddings):
    """Vectors chosen per title: a text embeds as the vector of the title it starts with."""

    def __init__(self, vectors: dict[str, list[float]], fail: bool = False) -> None:
        self.vectors, self.fail, self.calls = vectors, fail, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.fail:
            raise ModelUnavailable("The embedding endpoint is down.")
        return [next(v for t, v in self.vectors.items() if text.startswith(t + ".")) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_a_draw_never_shows_my_value_nor_values_of_other_questions(engine: Engine) -> None:
    w = seed_votes(engine, shape=False, values_to_vote=12)
    draw = voting.draw_values(engine, token=w.token, question_id=w.q)
    assert sorted(v.id for v in draw.values) == sorted(w.values.values())
    assert draw.min_votes == 2 and draw.chosen == [] and draw.question_id == w.q
    assert {v.title for v in draw.values} == set("ABCDEFGH")
    impressions = all_rows(engine, Impression)
    assert [i.canonical_value_id for i in impressions] == [v.id for v in draw.values]  # display order
    assert {(i.draw_id, i.question_id) for i in impressions} == {(draw.draw_id, w.q)}


def test_a_draw_mixes_least_shown_and_most_chosen(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    draw = voting.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    # two least shown (A: 0, B: 1) and two most chosen (H: 5, G: 3)
    assert {v.title for v in draw.values} == {"A", "B", "G", "H"}
    again = seed_votes(sqlite_engine, values_to_vote=5)
    # 3 least shown, 2 most chosen
    assert {
        v.title for v in voting.draw_values(sqlite_engine, token=again.token, question_id=again.q).values
    } == {"A", "B", "C", "G", "H"}


def test_without_votes_anywhere_the_least_shown_fill_the_draw(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine, shape=False)
    with session_scope(sqlite_engine) as s:
        viewer = add_person(s, w.d)
        for name in "ABCDEFG":  # H never shown: the newest among equals comes first
            s.add(
                Impression(
                    participant_id=viewer.id, canonical_value_id=w.values[name], question_id=w.q, draw_id="d"
                )
            )
        s.add(
            Impression(
                participant_id=viewer.id, canonical_value_id=w.values["A"], question_id=w.q, draw_id="e"
            )
        )
    draw = voting.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    assert {v.title for v in draw.values} == {"H", "G", "F", "E"}


def test_a_draw_prefers_values_close_to_my_card(sqlite_engine: Engine) -> None:
    # Without closeness: E (never shown) and F (most chosen); both far from my card.
    vectors = {
        "Mine": [1.0, 0.0],
        "A": [1.0, 0.1], "B": [1.0, 0.2], "C": [1.0, 0.3], "D": [1.0, 0.4],
        "E": [0.0, 1.0], "F": [-1.0, 0.2], "G": [-1.0, 0.0], "H": [-1.0, -0.3],
    }  # fmt: skip
    w = seed_votes(sqlite_engine, shape=False, values_to_vote=2)
    with session_scope(sqlite_engine) as s:
        viewer = add_person(s, w.d)
        for name, shown in (("A", 1), ("B", 2), ("C", 3), ("D", 4), ("F", 1), ("G", 6), ("H", 6)):
            for k in range(shown):
                s.add(
                    Impression(
                        participant_id=viewer.id,
                        canonical_value_id=w.values[name],
                        question_id=w.q,
                        draw_id=f"d{k}",
                    )
                )
        for name, n in (("F", 5), ("D", 2), ("C", 1)):
            for _ in range(n):
                s.add(
                    Vote(
                        participant_id=add_person(s, w.d).id,
                        canonical_value_id=w.values[name],
                        question_id=w.q,
                        draw_id="x",
                    )
                )
    plain = seed_votes(sqlite_engine, shape=False, values_to_vote=2)  # a twin deliberation, no embeddings
    with session_scope(sqlite_engine) as s:
        viewer = add_person(s, plain.d)
        for name in "ABCDFGH":
            s.add(
                Impression(
                    participant_id=viewer.id,
                    canonical_value_id=plain.values[name],
                    question_id=plain.q,
                    draw_id="d",
                )
            )
        s.add(
            Vote(
                participant_id=viewer.id,
                canonical_value_id=plain.values["F"],
                question_id=plain.q,
                draw_id="d",
            )
        )
    assert {
        v.title for v in voting.draw_values(sqlite_engine, token=plain.token, question_id=plain.q).values
    } == {"E", "F"}

    embeddings = TitleEmbeddings(vectors)
    draw = voting.draw_values(sqlite_engine, token=w.token, question_id=w.q, embeddings=embeddings)
    # the pool is the 4 closest (A-D): A least shown, D most chosen
    assert {v.title for v in draw.values} == {"A", "D"} and embeddings.calls == 1


def test_an_embedding_failure_only_loses_closeness(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    draw = voting.draw_values(
        sqlite_engine, token=w.token, question_id=w.q, embeddings=TitleEmbeddings({}, fail=True)
    )
    assert {v.title for v in draw.values} == {"A", "B", "G", "H"}


def test_my_card_not_deduplicated_yet_excludes_nothing(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine, shape=False, values_to_vote=12)
    with session_scope(sqlite_engine) as s:
        me = s.exec(select(Participant).where(Participant.token == w.token)).one()
        card = s.exec(select(ValuesCard).where(ValuesCard.participant_id == me.id)).one()
        card.canonical_value_id = None
        s.add(card)
        other = add_person(s, w.d)
        add_card(s, other, w.q, w.own)  # someone else's card still puts Own on q
    draw = voting.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    assert w.own in {v.id for v in draw.values} and len(draw.values) == 9


def test_the_draw_is_the_same_on_reload_until_a_fresh_one_is_asked_for(engine: Engine) -> None:
    w = seed_votes(engine)
    first = voting.draw_values(engine, token=w.token, question_id=w.q)
    again = voting.draw_values(engine, token=w.token, question_id=w.q)
    assert again == first and len(all_rows(engine, Impression)) == 28 + 4
    assert voting.draw_values(engine, token=w.token, question_id=w.q, fresh=True) == first  # no votes yet

    picked = [first.values[0].id, first.values[1].id]
    voting.submit_votes(engine, token=w.token, draw_id=first.draw_id, value_ids=picked)
    back = voting.draw_values(engine, token=w.token, question_id=w.q)
    assert back.draw_id == first.draw_id and back.chosen == picked  # the back button shows my choice

    with pytest.raises(InvalidInput, match="values for you to vote on"):  # no skipping a real vote
        voting.submit_votes(engine, token=w.token, draw_id="", value_ids=[])

    fresh = voting.draw_values(engine, token=w.token, question_id=w.q, fresh=True)
    assert fresh.draw_id != first.draw_id
    assert not {v.id for v in fresh.values} & {v.id for v in first.values}  # unseen values first
    assert voting.draw_values(engine, token=w.token, question_id=w.q) == fresh


def test_few_values_lower_the_minimum_and_none_lets_me_skip(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="vote")
        add_card(s, me, q, add_value(s, d, "Own"))
        token = me.token
    empty = voting.draw_values(engine, token=token, question_id=q)
    assert (empty.draw_id, empty.values, empty.min_votes) == ("", [], 0)
    assert all_rows(engine, Impression) == []
    with pytest.raises(InvalidInput, match="among the values you were shown"):
        voting.submit_votes(engine, token=token, draw_id="", value_ids=[1])
    voting.submit_votes(engine, token=token, draw_id="", value_ids=[])
    assert stage_of(engine, token) == "judge"

    with session_scope(engine) as s:
        only = add_value(s, d, "Only")
        add_card(s, add_person(s, d), q, only)
    one = voting.draw_values(engine, token=token, question_id=q)
    assert [v.id for v in one.values] == [only] and one.min_votes == 1
    with pytest.raises(InvalidInput, match="at least 1"):
        voting.submit_votes(engine, token=token, draw_id=one.draw_id, value_ids=[])


def test_votes_are_checked_stored_once_and_replaced_on_resubmit(engine: Engine) -> None:
    w = seed_votes(engine)
    draw = voting.draw_values(engine, token=w.token, question_id=w.q)
    ids = [v.id for v in draw.values]
    with pytest.raises(InvalidInput, match="at least 2"):
        voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[:1])
    with pytest.raises(InvalidInput, match="among the values you were shown"):
        voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[ids[0], w.own])
    with pytest.raises(InvalidInput, match="not shown to you"):
        voting.submit_votes(engine, token=w.token, draw_id="d1", value_ids=ids[:2])  # someone else's
    with pytest.raises(InvalidInput, match="numbers"):
        voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[str(ids[0])])  # type: ignore[list-item]
    assert stage_of(engine, w.token) == "vote"

    def mine() -> list[int]:
        return sorted(v.canonical_value_id for v in all_rows(engine, Vote) if v.draw_id == draw.draw_id)

    for _ in range(2):  # a double click
        voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[ids[0], ids[1], ids[0]])
    assert mine() == sorted(ids[:2]) and stage_of(engine, w.token) == "judge"
    voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[1:4])  # back, change
    assert mine() == sorted(ids[1:4])
    assert len(all_rows(engine, Vote)) == 9 + 3  # the seeded votes are untouched

    with session_scope(engine) as s:
        me = s.exec(select(Participant).where(Participant.token == w.token)).one()
        me.stage = "survey"
        s.add(me)
    voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[:2])
    assert stage_of(engine, w.token) == "survey"  # never moved back


def test_a_question_of_another_deliberation_is_refused(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    _, other_q, _ = new_deliberation(sqlite_engine)
    for q in (other_q, 999_999):
        with pytest.raises(InvalidInput, match="not part of your deliberation"):
            voting.draw_values(sqlite_engine, token=w.token, question_id=q)


@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: voting.draw_values(e, token=t, question_id=1),
        lambda e, t: voting.submit_votes(e, token=t, draw_id="x", value_ids=[]),
    ],
)
def test_a_bad_token_is_a_clear_message(sqlite_engine: Engine, call: Any) -> None:
    new_deliberation(sqlite_engine)
    for token in ("", "not-a-token"):
        with pytest.raises(InvalidInput, match="This participant link is not valid"):
            call(sqlite_engine, token)


def test_two_tabs_at_once_store_one_draw_one_vote_set(engine: Engine) -> None:
    w = seed_votes(engine)
    with ThreadPoolExecutor(4) as pool:
        draws = list(pool.map(lambda _: voting.draw_values(engine, token=w.token, question_id=w.q), range(4)))
    assert len({d.draw_id for d in draws}) == 1 and len(all_rows(engine, Impression)) == 28 + 4
    ids = [v.id for v in draws[0].values][:2]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda _: voting.submit_votes(engine, token=w.token, draw_id=draws[0].draw_id, value_ids=ids),
                range(4),
            )
        )
    assert len(all_rows(engine, Vote)) == 9 + 2
