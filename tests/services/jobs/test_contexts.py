"""Contexts through the database: mined once per submitted card (and re-mined by a job when that failed),
generated for a facilitator.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from interviews.prompting import load_prompt
from providers.errors import ModelOutputError, ModelTimeout, ModelUnavailable
from providers.fakes import ScriptedChatModel
from services.jobs import contexts
from storage import repo_deliberations
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import Context, QuestionContext, ValuesCard
from tests.services.story_world import World, seed

MINED = {
    "contexts": [
        "When a diagnosis is frightening",
        "When the family disagrees about care",  # new
        "When family members disagree.",  # = c2, which q1 already has
        "Telling the truth",  # not a context
    ]
}


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return seed(sqlite_engine)


def _contexts(engine: Engine, deliberation_id: int) -> dict[str, Context]:
    with session_scope(engine) as s:
        rows = s.exec(select(Context).where(Context.deliberation_id == deliberation_id)).all()
        return {c.text: c for c in rows}


def _linked(engine: Engine, question_id: int) -> set[str]:
    with session_scope(engine) as s:
        ids = repo_deliberations.question_context_ids(s, question_id=question_id)
        return {c.text for c in s.exec(select(Context).where(Context.id.in_(ids))).all()}  # type: ignore[union-attr]


def test_mining_adds_links_and_is_idempotent(sqlite_engine: Engine, world: World) -> None:
    w = world
    model = ScriptedChatModel([MINED])
    added = contexts.mine_for_card(sqlite_engine, model, card_id=w.card1)
    assert added == ["When a diagnosis is frightening", "When the family disagrees about care"]
    stored = _contexts(sqlite_engine, w.deliberation_id)
    for text in added:
        assert stored[text].source == "mined"
        assert stored[text].external_ref == f"{load_prompt('mine_contexts').ref} card={w.card1}"
    assert _linked(sqlite_engine, w.q1) == {
        "When a parent is seriously ill",
        "When family members disagree",
        *added,
    }
    prompt = model.calls[0][0].content
    assert "<values_card>\nTitle: Honest Presence" in prompt
    # The question's own contexts come first in the prompt's list of existing ones.
    assert "<existing_contexts>\nWhen a parent is seriously ill\nWhen family members disagree\n" in prompt

    idle = ScriptedChatModel([])
    assert contexts.mine_for_card(sqlite_engine, idle, card_id=w.card1) == []
    assert idle.calls == [] and len(_contexts(sqlite_engine, w.deliberation_id)) == 4
    with session_scope(sqlite_engine) as s:
        assert s.get(ValuesCard, w.card1).quality_flags == [contexts.MINED_FLAG]  # type: ignore[union-attr]


def test_an_existing_context_named_again_is_linked_to_the_question(
    sqlite_engine: Engine, world: World
) -> None:
    w = world
    with session_scope(sqlite_engine) as s:  # a context only q2 had
        s.add(Context(id=99, deliberation_id=w.deliberation_id, text="When a teenager asks for privacy"))
        s.flush()
        s.add(QuestionContext(question_id=w.q2, context_id=99))
    model = ScriptedChatModel([{"contexts": ["When the teenager asks for privacy"]}])
    assert contexts.mine_for_card(sqlite_engine, model, card_id=w.card1) == []  # nothing new
    assert "When a teenager asks for privacy" in _linked(sqlite_engine, w.q1)
    assert len(_contexts(sqlite_engine, w.deliberation_id)) == 3


def test_a_model_failure_leaves_the_card_to_retry(sqlite_engine: Engine, world: World) -> None:
    w = world
    with pytest.raises(ModelTimeout):
        contexts.mine_for_card(sqlite_engine, ScriptedChatModel([ModelTimeout("slow")]), card_id=w.card1)
    with session_scope(sqlite_engine) as s:
        assert s.get(ValuesCard, w.card1).quality_flags == []  # type: ignore[union-attr]
    assert len(contexts.mine_for_card(sqlite_engine, ScriptedChatModel([MINED]), card_id=w.card1)) == 2


def test_only_submitted_cards_of_a_question(sqlite_engine: Engine, world: World) -> None:
    with pytest.raises(InvalidInput, match="not submitted"):
        contexts.mine_for_card(sqlite_engine, ScriptedChatModel([]), card_id=world.draft_card)
    with pytest.raises(NotFound, match="no values card 777"):
        contexts.mine_for_card(sqlite_engine, ScriptedChatModel([]), card_id=777)


def test_generate_for_a_question(sqlite_engine: Engine, world: World) -> None:
    w = world
    model = ScriptedChatModel(
        [{"contexts": ["When money is tight", "When a parent is seriously ill", "When the user is grieving"]}]
    )
    added = contexts.generate_for_question(sqlite_engine, model, question_id=w.q2, n=3)
    assert added == ["When money is tight", "When the user is grieving"]
    stored = _contexts(sqlite_engine, w.deliberation_id)
    assert {stored[t].source for t in added} == {"generated"}
    assert stored[added[0]].external_ref == f"{load_prompt('generate_contexts').ref} question={w.q2}"
    # The existing c1 (so far only on q1) now also belongs to q2.
    assert _linked(sqlite_engine, w.q2) == {
        "When family members disagree",
        "When a parent is seriously ill",
        *added,
    }
    with pytest.raises(InvalidInput, match="1-20"):
        contexts.generate_for_question(sqlite_engine, ScriptedChatModel([]), question_id=w.q2, n=21)
    with pytest.raises(NotFound, match="no question 555"):
        contexts.generate_for_question(sqlite_engine, ScriptedChatModel([]), question_id=555, n=2)


def test_mining_on_each_backend(engine: Engine) -> None:
    w = seed(engine)
    assert len(contexts.mine_for_card(engine, ScriptedChatModel([MINED]), card_id=w.card1)) == 2
    assert contexts.mine_for_card(engine, ScriptedChatModel([]), card_id=w.card1) == []
    assert len(_contexts(engine, w.deliberation_id)) == 4


# --- re-mining what the participant flow left unmined -------------------------------------------------


def _unmined(engine: Engine, deliberation_id: int) -> list[int]:
    with session_scope(engine) as s:
        rows = s.exec(
            select(ValuesCard).where(ValuesCard.status == "submitted").order_by(ValuesCard.id)
        ).all()
        return [c.id for c in rows if contexts.MINED_FLAG not in c.quality_flags]  # type: ignore[misc]


def test_mine_pending_goes_past_a_malformed_answer_and_a_rerun_retries_it(
    sqlite_engine: Engine, world: World
) -> None:
    w = world
    contexts.mine_for_card(sqlite_engine, ScriptedChatModel([{"contexts": []}]), card_id=w.card1)
    todo = _unmined(sqlite_engine, w.deliberation_id)
    assert len(todo) == 3 and contexts.count_unmined(sqlite_engine, deliberation_id=w.deliberation_id) == 3

    model = ScriptedChatModel(
        [ModelOutputError("The answer broke the structure."), {"contexts": ["When money is tight"]}, MINED]
    )
    seen: list[contexts.CardMining] = []
    summary = contexts.mine_pending(
        sqlite_engine, model, deliberation_id=w.deliberation_id, on_card=seen.append
    )
    assert (summary.cards, summary.cards_mined, summary.contexts_added, summary.skipped) == (3, 2, 3, 0)
    assert summary.failures == (contexts.CardMining(todo[0], error="The answer broke the structure."),)
    assert [(o.card_id, o.added) for o in seen] == [
        (todo[0], ()),
        (todo[1], ("When money is tight",)),
        (todo[2], ("When a diagnosis is frightening", "When the family disagrees about care")),
    ]
    assert _unmined(sqlite_engine, w.deliberation_id) == [todo[0]]

    stubborn = ScriptedChatModel([ModelOutputError("Still broken.")])
    again = contexts.mine_pending(sqlite_engine, stubborn, deliberation_id=w.deliberation_id)
    assert (again.cards, again.cards_mined, len(again.failures)) == (1, 0, 1) and stubborn.remaining == 0
    fixed = contexts.mine_pending(
        sqlite_engine, ScriptedChatModel([{"contexts": []}]), deliberation_id=w.deliberation_id
    )
    assert (fixed.cards, fixed.cards_mined, fixed.failures) == (1, 1, ())
    idle = ScriptedChatModel([])
    assert contexts.mine_pending(sqlite_engine, idle, deliberation_id=w.deliberation_id).cards == 0
    assert idle.calls == [] and contexts.count_unmined(sqlite_engine, deliberation_id=w.deliberation_id) == 0


def test_mine_pending_stops_on_an_endpoint_error(sqlite_engine: Engine, world: World) -> None:
    w = world
    model = ScriptedChatModel(
        [{"contexts": []}, ModelUnavailable("The model endpoint could not be reached.")]
    )
    with pytest.raises(ModelUnavailable):
        contexts.mine_pending(sqlite_engine, model, deliberation_id=w.deliberation_id)
    assert contexts.count_unmined(sqlite_engine, deliberation_id=w.deliberation_id) == 3  # the first is kept
    with pytest.raises(ModelTimeout):
        contexts.mine_pending(
            sqlite_engine, ScriptedChatModel([ModelTimeout("slow")]), deliberation_id=w.deliberation_id
        )
    with pytest.raises(NotFound, match="no deliberation with id 999"):
        contexts.mine_pending(sqlite_engine, ScriptedChatModel([]), deliberation_id=999)
    with pytest.raises(NotFound, match="no deliberation with id 999"):
        contexts.count_unmined(sqlite_engine, deliberation_id=999)


def test_a_card_hidden_meanwhile_is_skipped(sqlite_engine: Engine, world: World) -> None:
    w = world
    first, second, *_ = _unmined(sqlite_engine, w.deliberation_id)

    def hide_the_next(messages: list[BaseMessage]) -> dict:
        with session_scope(sqlite_engine) as s:  # a facilitator hides a card during the model call
            s.get(ValuesCard, second).status = "hidden"  # type: ignore[union-attr]
        return {"contexts": []}

    model = ScriptedChatModel([hide_the_next, {"contexts": []}, {"contexts": []}])
    summary = contexts.mine_pending(sqlite_engine, model, deliberation_id=w.deliberation_id)
    assert (summary.cards, summary.cards_mined, summary.skipped, summary.failures) == (4, 3, 1, ())
    assert first == w.card1 and model.remaining == 0
