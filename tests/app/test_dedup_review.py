"""The console's dedup review page (AppTest): the values, a merge previewed (what moves, per value) and then
confirmed with a reason, a split previewed and confirmed, hiding a value, and the likely missed merges."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from services.facilitator import moderation, system, values
from settings import load_settings
from storage.db import session_scope
from storage.tables import CanonicalValue
from tests.app.conftest import CONSOLE_ACCOUNT, texts
from tests.services.facilitator.test_values import seed_graph

PAGE = "pages/dedup_review.py"


@pytest.fixture
def world(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    ids = seed_graph(engine)
    with session_scope(engine) as s:
        s.get(CanonicalValue, ids["C"]).title = "<i>Value</i> **C**"  # shown literally
    yield ids
    engine.dispose()


def open_page(console_app: Callable[[str], AppTest], ids: dict[str, int]) -> AppTest:
    at = console_app(PAGE)
    assert not at.exception
    at.sidebar.selectbox[0].set_value(ids["d"]).run()
    assert not at.exception
    return at


def frame(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_merge_with_a_preview_then_confirm(
    console_app: Callable[[str], AppTest], world: dict[str, int]
) -> None:
    at = open_page(console_app, world)
    table = frame(at, "origin")
    assert list(table["id"]) == [world["A"], world["B"], world["C"]]
    assert "<i>Value</i> **C**" in list(table["title"])
    at.selectbox(key="dedup-keep").set_value(world["A"]).run()
    at.multiselect(key="dedup-merge").select(world["B"]).run()
    assert not at.exception
    preview = frame(at, "judgements")
    assert list(preview["role"]) == ["keep", "merge"]
    assert list(preview["cards"]) == [2, 1] and list(preview["stories"]) == [2, 3]
    assert "The merge would do: 1 cards moved" in texts(at)

    at.text_input(key="dedup-merge-reason").input("Same value twice")
    next(b for b in at.button if b.label == "Confirm the merge").click().run()
    assert not at.exception
    assert f"Merged values {world['B']} into value {world['A']}." in texts(at)
    assert list(frame(at, "origin")["id"]) == [world["A"], world["C"]]
    engine = system.open_database(load_settings())
    (event,) = [e for e in moderation.log(engine, deliberation_id=world["d"]) if e.action == "merge_values"]
    engine.dispose()
    assert (event.actor, event.reason) == (CONSOLE_ACCOUNT, "Same value twice")


def test_split_with_a_preview_and_hide_a_value(
    console_app: Callable[[str], AppTest], world: dict[str, int]
) -> None:
    at = open_page(console_app, world)
    at.selectbox(key="dedup-split-value").set_value(world["A"]).run()
    at.multiselect(key="dedup-split").select(world["a2"]).run()
    assert not at.exception
    assert list(frame(at, "card")["card"])[:1] == [world["a2"]]
    assert "1 votes, 2 stories and 2 judgements stay" in texts(at)
    next(b for b in at.button if b.label == "Confirm the split").click().run()
    assert not at.exception and "Give a reason" in texts(at)
    at.text_input(key="dedup-split-reason").input("Different values")
    next(b for b in at.button if b.label == "Confirm the split").click().run()
    assert not at.exception and f"Split cards off value {world['A']} into value" in texts(at)
    assert len(frame(at, "origin")) == 4

    at.selectbox(key="dedup-hide-value").set_value(world["C"])
    at.text_input(key="dedup-hide-reason").input("Off topic")
    next(b for b in at.button if b.label == "Hide value").click().run()
    assert not at.exception and f"Value {world['C']} hidden." in texts(at)
    table = frame(at, "origin")
    assert bool(table[table["id"] == world["C"]]["hidden"].iloc[0])


def test_likely_missed_merges(
    console_app: Callable[[str], AppTest], world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def closest(engine, embeddings, *, deliberation_id: int, top: int) -> list[values.MissedMerge]:
        assert deliberation_id == world["d"] and top == 10
        return [values.MissedMerge(world["A"], "Value A", world["B"], "Value B", 0.97)]

    monkeypatch.setattr(values, "missed_merges", closest)  # the page's embedding call, scripted
    monkeypatch.setattr("ui.resources.embeddings", lambda: None)
    at = open_page(console_app, world)
    at.toggle(key="dedup-missed").set_value(True).run()
    assert not at.exception
    pairs = frame(at, "similarity")
    assert list(pairs["value"]) == [world["A"]] and list(pairs["similarity"]) == [0.97]


def test_a_merge_of_hidden_and_visible_values_is_refused_in_the_preview(
    console_app: Callable[[str], AppTest], world: dict[str, int]
) -> None:
    engine = system.open_database(load_settings())
    moderation.hide_value(engine, deliberation_id=world["d"], value_id=world["B"], reason="Spam", actor="Ana")
    engine.dispose()
    at = open_page(console_app, world)
    at.selectbox(key="dedup-keep").set_value(world["A"]).run()
    at.multiselect(key="dedup-merge").select(world["B"]).run()
    assert not at.exception
    page = texts(at)
    assert f"Value {world['B']} is hidden and value {world['A']} is not" in page
    assert "Show the hidden value again (or hide the other) first" in page
    assert not [b for b in at.button if b.label == "Confirm the merge"]  # nothing to confirm

    at.multiselect(key="dedup-merge").unselect(world["B"]).select(world["C"]).run()
    assert not at.exception and list(frame(at, "judgements")["hidden"]) == [False, False]
