"""After the card (issue 11 item 6): ask for changes, or go back to the conversation and talk more."""

from __future__ import annotations

import pytest

from interviews.flow import (
    CONVERSATION,
    Event,
    InvalidTransition,
    Stage,
    advance,
    back_to_conversation,
    can_go_back,
    chat_placeholder,
)


@pytest.mark.parametrize("card_stage", [Stage.SHOW_CARD, Stage.REVISE])
@pytest.mark.parametrize(
    ("user_turns", "expected"),
    [(1, Stage.STORY), (2, Stage.ZOOM_IN), (3, Stage.ZOOM_IN), (4, Stage.ATTENTION), (11, Stage.ATTENTION)],
)
def test_back_from_the_card_lands_in_the_conversation_stage_of_its_turns(
    card_stage: Stage, user_turns: int, expected: Stage
) -> None:
    assert advance(card_stage, Event.BACK, user_turns=user_turns, turn_limit=12) == expected


def test_the_conversation_then_goes_on_and_ends_in_a_new_card() -> None:
    stage = advance(Stage.SHOW_CARD, Event.BACK, user_turns=4, turn_limit=7)
    assert stage in CONVERSATION
    for turns in (5, 6):  # the participant's messages continue the interview, not change the card
        stage = advance(stage, Event.USER_MESSAGE, user_turns=turns, turn_limit=7)
        assert stage == Stage.ATTENTION
    assert advance(stage, Event.SHOW_CARD, user_turns=6, turn_limit=7) == Stage.SHOW_CARD
    assert advance(stage, Event.USER_MESSAGE, user_turns=7, turn_limit=7) == Stage.SHOW_CARD  # the limit


def test_a_message_on_the_card_is_a_change_request() -> None:
    assert advance(Stage.SHOW_CARD, Event.USER_MESSAGE, user_turns=5, turn_limit=12) == Stage.REVISE
    assert chat_placeholder(Stage.SHOW_CARD) == chat_placeholder(Stage.REVISE)
    assert "change about the card" in chat_placeholder(Stage.SHOW_CARD)
    assert {chat_placeholder(s) for s in CONVERSATION} == {"Write your answer..."}


def test_back_is_idempotent_in_the_conversation() -> None:
    for stage in CONVERSATION:
        assert advance(stage, Event.BACK, user_turns=2, turn_limit=12) == stage


def test_at_the_turn_limit_there_is_no_way_back() -> None:
    assert can_go_back(user_turns=11, turn_limit=12) and not can_go_back(user_turns=12, turn_limit=12)
    with pytest.raises(InvalidTransition, match="length limit"):
        advance(Stage.SHOW_CARD, Event.BACK, user_turns=12, turn_limit=12)
    with pytest.raises(InvalidTransition, match="length limit"):
        back_to_conversation(Stage.REVISE, user_turns=15, turn_limit=12)


@pytest.mark.parametrize("stage", [Stage.SUBMITTED, Stage.ABANDONED])
def test_no_way_back_after_the_end(stage: Stage) -> None:
    with pytest.raises(InvalidTransition):
        advance(stage, Event.BACK, user_turns=3, turn_limit=12)
    with pytest.raises(InvalidTransition, match="no card to go back from"):
        back_to_conversation(stage, user_turns=3, turn_limit=12)
