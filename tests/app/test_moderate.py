"""The console's moderation page (AppTest): cards and transcripts found by a search, hiding a card (then
finding it in the moderation log, attributed to the signed-in account), editing a card's wording against
the card rules, and participants' words shown literally."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from services.facilitator import system
from settings import load_settings
from storage.db import session_scope
from storage.tables import CanonicalValue, ValuesCard
from tests.app.conftest import CONSOLE_ACCOUNT, texts
from tests.services.story_world import World, seed

PAGE = "pages/moderate.py"


@pytest.fixture
def world(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    w = seed(engine)
    with session_scope(engine) as s:  # a participant's words that look like markup stay words
        s.get(ValuesCard, w.card1).title = "**Honest** <b>Presence</b>"
    yield w
    engine.dispose()


def open_page(console_app: Callable[[str], AppTest], w: World) -> AppTest:
    at = console_app(PAGE)
    assert not at.exception
    at.sidebar.selectbox[0].set_value(w.deliberation_id).run()
    assert not at.exception
    return at


def show_tab(at: AppTest, label: str) -> AppTest:
    """Switch to a tab: only the chosen one runs."""
    at.session_state["moderate-tab"] = label
    at.run()
    assert not at.exception
    return at


def log_frame(at: AppTest):
    show_tab(at, "Moderation log")
    return next(d.value for d in at.dataframe if "who" in d.value.columns)


def test_hide_a_card_and_find_it_in_the_log(console_app: Callable[[str], AppTest], world: World) -> None:
    at = open_page(console_app, world)
    page = texts(at)
    assert "**Honest** <b>Presence</b>" in page  # literally, not bold, not HTML
    assert f"Card {world.card1} · submitted" in page

    at.text_input(key=f"card-reason-{world.card1}").input("Names a relative")
    at.button(key=f"hide-card-{world.card1}").click().run()
    assert not at.exception
    assert f"Card {world.card1} hidden." in texts(at)
    assert f"Card {world.card1} · hidden" in texts(at)
    log = log_frame(at)
    row = log[log["action"] == "hide_card"].iloc[0]
    assert (row["who"], row["target"], row["reason"]) == (
        CONSOLE_ACCOUNT,
        f"card {world.card1}",
        "Names a relative",
    )
    engine = system.open_database(load_settings())
    with session_scope(engine) as s:
        assert s.get(ValuesCard, world.card1).status == "hidden"
    engine.dispose()

    at.selectbox(key="moderate-log-action").set_value("hide_card").run()
    assert not at.exception and "criterion" not in texts(at)  # the other tabs do not run
    assert not [t for t in at.text_input if t.key == "moderate-card-search"]
    assert not at.exception and list(log_frame(at)["action"]) == ["hide_card"]


def test_a_reason_is_required_and_the_card_rules_apply(
    console_app: Callable[[str], AppTest], world: World
) -> None:
    at = open_page(console_app, world)
    at.button(key=f"hide-card-{world.card1}").click().run()
    assert not at.exception and "Give a reason" in texts(at)

    edit = next(t for t in at.text_input if t.key and t.key.startswith(f"edit-title-{world.card1}-"))
    edit.input("Honesty")
    reason = next(t for t in at.text_input if t.key and t.key.startswith(f"edit-reason-{world.card1}-"))
    reason.input("Shorter")
    next(b for b in at.button if b.key and b.key.startswith(f"edit-card-{world.card1}-")).click().run()
    assert not at.exception and "card rules: title: use 2-5 words" in texts(at)
    engine = system.open_database(load_settings())
    with session_scope(engine) as s:
        assert (
            s.exec(select(ValuesCard).where(ValuesCard.id == world.card1))
            .one()
            .title.startswith("**Honest**")
        )
    engine.dispose()


def test_search_the_transcripts(console_app: Callable[[str], AppTest], world: World) -> None:
    at = open_page(console_app, world)
    assert f"Interview {world.interview_id}" not in texts(at)  # the transcripts tab runs when chosen
    show_tab(at, "Transcripts")
    at.text_input(key="moderate-talk-search").input("AUNT").run()
    assert not at.exception
    page = texts(at)
    assert f"Interview {world.interview_id}" in page and "Participant: My aunt told me the truth." in page
    assert "1 user (complete): My aunt told me the truth." not in page  # the whole talk loads when opened
    at.session_state[f"moderate-talk-{world.interview_id}"] = True
    at.run()
    assert not at.exception and "1 user (complete): My aunt told me the truth." in texts(at)
    show_tab(at, "Cards")
    at.text_input(key="moderate-card-search").input("no such words").run()
    assert not at.exception and "No cards match." in texts(at)


def test_grade_a_transcript_with_the_demo_model(console_app: Callable[[str], AppTest], world: World) -> None:
    at = show_tab(open_page(console_app, world), "Transcripts")
    at.button(key=f"grade-{world.interview_id}").click().run()
    assert not at.exception
    assert f"Interview {world.interview_id} graded " in texts(at)
    assert "criterion" in next(d.value for d in at.dataframe if "grade" in d.value.columns).columns
    page = texts(show_tab(at, "Cards"))
    assert "not graded" not in page.split(f"Card {world.card1} ·")[1].split("\n")[0]  # its card shows it


def test_hiding_a_card_whose_words_its_value_carries_asks_about_the_value(
    console_app: Callable[[str], AppTest], world: World
) -> None:
    engine = system.open_database(load_settings())
    with session_scope(engine) as s:  # v1 has card1's words, and another visible card
        card, value = s.get(ValuesCard, world.card1), s.get(CanonicalValue, world.v1)
        value.title, value.description, value.policies = card.title, card.description, list(card.policies)
        s.add(
            ValuesCard(
                question_id=world.q1,
                canonical_value_id=world.v1,
                status="submitted",
                title="Kind Truth Telling",
                description="Staying truthful and kind when someone faces a frightening choice.",
                policies=["MOMENTS where the person can voice their fear"],
            )
        )
    at = open_page(console_app, world)
    at.text_input(key=f"card-reason-{world.card1}").input("Names a relative")
    at.button(key=f"hide-card-{world.card1}").click().run()
    assert not at.exception
    assert f"Value {world.v1} carries card {world.card1}'s words word for word" in texts(at)
    assert f"Card {world.card1} · submitted" in texts(at)

    at.radio(key=f"hide-card-value-{world.card1}").set_value("hide")
    at.button(key=f"hide-card-{world.card1}").click().run()
    assert not at.exception and f"Card {world.card1} hidden and value {world.v1} with it." in texts(at)
    with session_scope(engine) as s:
        assert s.get(ValuesCard, world.card1).status == "hidden" and s.get(CanonicalValue, world.v1).hidden
    engine.dispose()
