"""The console's monitor page (AppTest): the funnel's numbers, the median times, costs from MODEL_PRICES
or tokens only, the survey beside the published figures, and the pause of its self-refresh."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from services.facilitator import system
from settings import load_settings
from tests.app.conftest import texts
from tests.services import monitor_world
from tests.services.monitor_world import PRICES

PAGE = "pages/monitor.py"


@pytest.fixture
def world(app_env: pytest.MonkeyPatch):
    app_env.delenv("MODEL_PRICES", raising=False)
    engine = system.open_database(load_settings())
    yield monitor_world.seed(engine)
    engine.dispose()


def open_monitor(console_app: Callable[[str], AppTest], deliberation_id: int) -> AppTest:
    at = console_app(PAGE)
    assert not at.exception
    at.sidebar.selectbox[0].set_value(deliberation_id).run()
    assert not at.exception
    return at


def frame(at: AppTest, column: str):
    """The first dataframe on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_funnel_and_times_shown(console_app: Callable[[str], AppTest], world) -> None:
    at = open_monitor(console_app, world.deliberation_id)
    page = texts(at)
    assert "3 participants" in page and "never consented is not a participant" in page
    funnel = frame(at, "did it")
    assert list(funnel["step"]) == [
        "visited",
        "consented",
        "interviewed",
        "card submitted",
        "voted",
        "judged",
        "surveyed",
    ]
    assert list(funnel["did it"]) == [5, 3, 2, 2, 1, 2, 2]
    assert list(funnel["skipped"]) == [0, 0, 0, 0, 1, 0, 0]
    times = frame(at, "median")
    assert dict(zip(times["step"], times["median"], strict=True))["interview and card"] == "7 min 0 s"
    assert "first visit → consent" in list(times["measured"])
    survey = frame(at, "published")
    published = dict(zip(survey["key"], survey["published"], strict=True))
    assert published["expressed_care"].startswith("89.1%") and published["fair_position"].startswith("89.0%")
    assert published["represents_my_value"] == "no published figure"
    assert at.toggle[0].value is True


def test_prices_show_a_cost(
    console_app: Callable[[str], AppTest], world, app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("MODEL_PRICES", json.dumps({k: list(v) for k, v in PRICES.items()}))
    at = open_monitor(console_app, world.deliberation_id)
    costs = frame(at, "estimated cost")
    shown = dict(zip(costs["step"], costs["estimated cost"], strict=True))
    assert shown["job: upgrade stories"] == "0.0900"
    assert shown["embeddings (vote draws, dedup)"] == "tokens only"
    assert "Estimated from MODEL_PRICES" in texts(at) and "gpt-4o" in texts(at)


def test_no_prices_show_tokens_only(console_app: Callable[[str], AppTest], world) -> None:
    at = open_monitor(console_app, world.deliberation_id)
    costs = frame(at, "estimated cost")
    assert set(costs["estimated cost"]) == {"tokens only"}
    assert "No MODEL_PRICES set: tokens only" in texts(at)
    assert next(m for m in at.metric if m.label == "Median cost").value == "tokens only"


def test_pause_and_the_other_deliberation(console_app: Callable[[str], AppTest], world) -> None:
    at = open_monitor(console_app, world.deliberation_id)
    at.toggle[0].set_value(False).run()
    assert not at.exception and "(paused)" in texts(at)
    at.sidebar.selectbox[0].set_value(world.other_deliberation_id).run()
    assert not at.exception
    assert list(frame(at, "did it")["did it"]) == [0] * 7
    calls = frame(at, "estimated cost")
    assert list(calls["step"]) == ["job: upgrade stories"] and list(calls["calls"]) == [1]
    assert "No survey answers yet." in texts(at)
