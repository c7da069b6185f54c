"""A stale second tab answers a story answered already (issue 11 item 7): the first answer stands and the
person is told, in words; the same answer again is no change. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from services.participant import judging
from storage.db import session_scope
from storage.tables import Judgement
from tests.services.participant.test_judging import seed_stories


def _mine(engine: Engine, me: int, hypothesis_id: int) -> list[tuple[str, str | None]]:
    with session_scope(engine) as s:
        rows = s.exec(
            select(Judgement).where(Judgement.participant_id == me, Judgement.hypothesis_id == hypothesis_id)
        ).all()
        return [(j.answer, j.reason) for j in rows]


def test_a_stale_tab_is_told_and_the_first_answer_stands(engine: Engine) -> None:
    w = seed_stories(engine)
    story = w.h["low"]
    # Tab A answers; tab B still shows the story unanswered and sends another answer.
    judging.judge(
        engine, token=w.token, hypothesis_id=story, answer="upgrade", reason="Kinder.", new_only=True
    )
    with pytest.raises(InvalidInput) as refused:
        judging.judge(engine, token=w.token, hypothesis_id=story, answer="no_upgrade", new_only=True)
    assert str(refused.value) == (
        "You already answered this story in another tab: Yes. Your answer here was not saved."
    )
    assert _mine(engine, w.me, story) == [("upgrade", "Kinder.")]
    with pytest.raises(InvalidInput, match="another tab: Yes"):  # the same answer, another reason
        judging.judge(engine, token=w.token, hypothesis_id=story, answer="upgrade", new_only=True)
    assert _mine(engine, w.me, story) == [("upgrade", "Kinder.")]


def test_the_same_answer_twice_is_no_change(engine: Engine) -> None:
    w = seed_stories(engine)
    story = w.h["low"]
    first = judging.judge(engine, token=w.token, hypothesis_id=story, answer="not_sure", new_only=True)
    again = judging.judge(engine, token=w.token, hypothesis_id=story, answer="not_sure", new_only=True)
    assert first == again and again.answer == "not_sure"  # a double click
    assert _mine(engine, w.me, story) == [("not_sure", None)]


def test_without_new_only_an_answer_is_still_changed(sqlite_engine: Engine) -> None:
    w = seed_stories(sqlite_engine)
    story = w.h["low"]
    judging.judge(sqlite_engine, token=w.token, hypothesis_id=story, answer="upgrade")
    changed = judging.judge(sqlite_engine, token=w.token, hypothesis_id=story, answer="no_upgrade")
    assert changed.answer == "no_upgrade" and _mine(sqlite_engine, w.me, story) == [("no_upgrade", None)]


@pytest.mark.parametrize(
    ("answer", "word"), [("upgrade", "Yes"), ("no_upgrade", "No"), ("not_sure", "Not sure")]
)
def test_the_message_names_the_answer_as_the_page_does(answer: str, word: str) -> None:
    assert judging.ANSWER_WORDS[answer] == word
    assert f"another tab: {word}." in judging.already_answered(answer)
