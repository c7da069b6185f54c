"""Every page shows participants', models' and facilitators' text literally (issue 10 item 4), in AppTest:
each hostile string the page shows reads back exactly as typed, and none reaches Streamlit's Markdown with
its syntax intact. The browser test (tests/e2e/test_literal_text.py) checks the same world in Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from providers.fakes import ScriptedChatModel
from services.facilitator import system
from services.participant import interviewing, joining
from settings import load_settings
from tests.app.conftest import open_page, shown
from tests.hostile import text_world
from tests.hostile.text_corpus import triggers
from ui import literal, resources

PAGES = {
    "consent": "pages/join.py",
    "choose": "pages/join.py",
    "interview": "pages/interview.py",
    "vote": "pages/vote.py",
    "judge": "pages/judge.py",
    "survey": "pages/finish.py",
    "receipt": "pages/finish.py",
}
SYNTAX = set("\\`*_~$[<&")  # inline syntax: never handed over unescaped


@pytest.fixture
def world(app_env: pytest.MonkeyPatch) -> Iterator[tuple[Engine, text_world.TextWorld]]:
    engine = system.open_database(load_settings())  # the app's own database, opened as the app opens it
    try:
        yield engine, text_world.seed(engine)
    finally:
        engine.dispose()


def markdown_sources(at: AppTest) -> list[str]:
    """The Markdown of everything Streamlit renders as Markdown: text elements, alerts, and the labels of
    widgets and expanders, radio options included."""
    sources = [e.value for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption)]
    sources += [e.value for e in (*at.error, *at.warning, *at.info, *at.success)]
    sources += [e.label for e in (*at.expander, *at.checkbox, *at.text_input, *at.text_area, *at.selectbox)]
    for radio in at.radio:
        sources += [radio.label, *radio.options]
    return [str(s) for s in sources]


def _visible(text: str) -> str:
    return "".join(c for c in text if c not in literal.ADDED)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_shows_hostile_text_as_typed(
    make_app: Callable[[], AppTest], world: tuple[Engine, text_world.TextWorld], page: str
) -> None:
    _, seeded = world
    at = open_page(make_app, PAGES[page], token=seeded.tokens[page])
    assert not at.exception
    sources = markdown_sources(at)
    read = "\n".join(shown(s) for s in sources)
    missing = [s for s in seeded.shown[page] if _visible(s) not in read]
    assert not missing, f"{page} does not show {missing[:3]!r}"
    raw = [s for s in seeded.shown[page] if set(s) & SYNTAX and len(s) > 12 and any(s in x for x in sources)]
    assert not raw, f"{page} hands Markdown syntax to Streamlit: {raw[:3]!r}"
    fired = {name: s for s in sources for name in triggers(s)}  # links, icons, symbols after parsing
    assert not fired, f"{page}: {fired}"


def test_selectbox_options_are_literal_already(
    make_app: Callable[[], AppTest], world: tuple[Engine, text_world.TextWorld]
) -> None:
    """Streamlit shows selectbox options as plain text: they get the facilitator's text unchanged."""
    _, seeded = world
    at = open_page(make_app, "pages/join.py", token=seeded.tokens["consent"])
    assert not at.exception and list(at.selectbox[0].options) == list(text_world.OPTIONS)


def test_the_facilitator_table_and_lists_hold_titles_as_typed(
    console_app: Callable[[str], AppTest], world: tuple[Engine, text_world.TextWorld]
) -> None:
    at = console_app("pages/deliberations.py")
    assert not at.exception
    titles = list(at.dataframe[0].value["title"])  # dataframe cells are literal
    assert sorted(titles) == sorted([text_world.TITLE, *text_world.OTHER_TITLES])
    options = list(at.sidebar.selectbox[0].options)  # the console's picker: "ID: TITLE (STATUS)"
    assert [o.split(": ", 1)[1].rsplit(" (", 1)[0] for o in options] == titles


def test_a_streamed_hostile_reply_is_shown_as_typed(
    make_app: Callable[[], AppTest], world: tuple[Engine, text_world.TextWorld], app_env: pytest.MonkeyPatch
) -> None:
    """A model reply full of Markdown, links and shortcodes, streamed in small pieces, reads as sent."""
    engine, seeded = world
    reply = "See [this](http://e.vil) and www.e.vil :material/warning: -- **now** &lt;b&gt;"
    app_env.setattr(resources, "chat_model", lambda: ScriptedChatModel([reply], chunk_chars=2))
    token = seeded.tokens["choose"]
    question = interviewing.start_interview(engine, token=token, question_id=_question(engine, token))
    interviewing.post_message(engine, token=token, interview_id=question.id, text="A [link](http://e.vil)")
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception
    bubbles = [shown(m.value) for message in at.chat_message for m in message.markdown]
    assert bubbles[-2:] == ["A [link](http://e.vil)", reply]
    assert all("[" not in m.value for message in at.chat_message for m in message.markdown)


def _question(engine: Engine, token: str) -> int:
    return joining.home(engine, token=token).questions[0].id


def test_ordinary_punctuation_is_left_as_typed(
    make_app: Callable[[], AppTest], world: tuple[Engine, text_world.TextWorld]
) -> None:
    """Streamlit uses a label's Markdown as the widget's accessible name: ordinary text stays as typed."""
    _, seeded = world
    at = open_page(make_app, "pages/vote.py", token=seeded.tokens["vote"])
    labels = [_visible(c.label) for c in at.checkbox]
    assert f"Wise: {text_world.ORDINARY_TITLE}" in labels
