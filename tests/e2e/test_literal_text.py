"""Hostile text is shown literally on every page, in Chromium (issue 10 item 4).

A deliberation whose every shown text comes from the hostile corpus (:mod:`tests.hostile.text_world`: the
facilitator's title, questions, welcome, consent and labels, peers' values, a context and stories, a chat
of participant and interviewer messages, a card, a receipt's related values, the facilitator's table) is
opened page by page at desktop and phone width. On each: no link, image, icon, LaTeX, colour or other
element made from text; each string the page shows reads exactly as typed in the DOM (the helper's
invisible word joiners and isolates aside) inside an element that holds nothing but text and line breaks;
nothing scrolls sideways. Screenshots go to artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage import db
from tests.e2e.conftest import (
    AppServer,
    Locator,
    Page,
    expect,
    horizontal_overflow,
    settled,
    sign_in,
    wait_idle,
)
from tests.hostile import text_world
from ui import literal

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PAGES = {  # the world's page name → the app's URL path, and a button drawn last on it
    "consent": ("join", "Continue"),
    "choose": ("join", "Start the interview"),
    "interview": ("interview", "Edit it myself"),
    "vote": ("vote", "Continue"),
    "judge": ("judge", "Save my answer"),
    "survey": ("finish", "Finish"),
    "receipt": ("finish", "No"),
}

# Runs in the page: what the main area holds that text must never produce, and for each string the
# innermost elements whose text (the helper's U+2060, U+2068, U+2069 removed) contains it, with the tags
# of everything inside them.
INSPECT = """(strings) => {
    const main = document.querySelector(
        '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"]');  // the chat page's
    const plain = (t) => t.replace(/[\\u2060\\u2068\\u2069]/g, '');
    const made = [];
    for (const a of main.querySelectorAll('a')) {
        const href = a.getAttribute('href') || '';
        if (href.startsWith('#') || a.closest('[data-testid="stPageLink"]')) continue;  // the app's own
        made.push('link ' + href);
    }
    for (const img of main.querySelectorAll('img')) made.push('image ' + img.getAttribute('src'));
    const fromText = [
        '[data-testid="stMarkdownContainer"] span[role="img"]', '.katex', '.stMarkdownColoredText',
        '.stMarkdownColoredBackground', '.stMarkdownBadge', '.stMarkdownShimmer', 'iframe', 'script',
        'style:not(head style)',
        '[data-testid="stMarkdownContainer"] :is(code, pre, table, blockquote, hr, del, input, sup, ' +
        'section, h1, h2, h3, h5, h6)',
    ];
    for (const el of main.querySelectorAll(fromText.join(', '))) {
        if (/^H[1-6]$/.test(el.tagName) && el.closest('[data-testid="stHeading"]')) continue;  // st.title...
        made.push(el.tagName + ' ' + el.className);
    }
    const elements = [...main.querySelectorAll('*')].filter((e) => !['SCRIPT', 'STYLE'].includes(e.tagName));
    const texts = new Map(elements.map((e) => [e, plain(e.textContent || '')]));
    const found = strings.map((raw) => {
        const s = plain(raw);
        const holders = elements.filter((e) => texts.get(e).includes(s));
        const innermost = holders.filter((e) => ![...e.children].some((c) => texts.get(c)?.includes(s)));
        return innermost.map((e) => [e.tagName, ...[...e.querySelectorAll('*')].map((c) => c.tagName)]);
    });
    return {made, found};
}"""


def _plain(text: str) -> str:
    return "".join(c for c in text if c not in literal.ADDED)


def _open_options(page: Page, combobox: Locator) -> None:
    """Open a selectbox's list of options (a click focuses it; the arrow key opens it)."""
    combobox.click()
    page.keyboard.press("ArrowDown")


def _seed(app: AppServer) -> text_world.TextWorld:
    engine = db.init_db(app.database_url)
    try:
        return text_world.seed(engine)
    finally:
        engine.dispose()


def _check(page: Page, strings: list[str], where: str) -> None:
    report: dict[str, Any] = page.evaluate(INSPECT, strings)
    assert not report["made"], f"{where}: made from text: {report['made'][:5]}"
    missing = [s for s, holders in zip(strings, report["found"], strict=True) if not holders]
    assert not missing, f"{where}: not shown as typed: {missing[:3]!r}"
    marked = {
        s: holders
        for s, holders in zip(strings, report["found"], strict=True)
        if any(set(tags[1:]) - {"BR"} for tags in holders)
    }
    assert not marked, f"{where}: text turned into elements: {list(marked.items())[:3]!r}"
    widths = horizontal_overflow(page)
    assert widths["document"] <= widths["viewport"] and widths["main"] <= widths["mainClient"] + 1, where


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_every_page_shows_hostile_text_as_typed(
    start_app: Callable[..., AppServer],
    make_page: Callable[..., Page],
    shot: Callable[..., Path],
    phone: bool,
) -> None:
    app = start_app()
    world = _seed(app)
    page = make_page(phone=phone)
    for name, (path, last) in PAGES.items():
        page.goto(f"{app.base_url}/{path}?token={world.tokens[name]}")
        settled(page, page.get_by_role("button", name=last, exact=True).last)
        if name == "interview":  # the question sits in a collapsed expander
            page.get_by_text("The message we are thinking about").click()
            wait_idle(page)
        _check(page, world.shown[name], name)
        if name == "vote":  # ordinary punctuation reaches assistive technology as typed
            names = page.get_by_role("checkbox").evaluate_all("(boxes) => boxes.map((b) => b.ariaLabel)")
            assert f"Wise: {text_world.ORDINARY_TITLE}" in [_plain(n) for n in names]
        shot(name, page)

    page.goto(f"{app.base_url}/join?token={world.tokens['consent']}")
    settled(page, page.get_by_role("button", name="Continue"))
    _open_options(page, page.get_by_role("combobox"))  # a demographics choice: its options, as typed
    expect(page.get_by_role("option")).to_have_count(len(text_world.OPTIONS))
    assert page.get_by_role("option").all_inner_texts() == list(text_world.OPTIONS)
    shot("consent-options", page)
    page.keyboard.press("Escape")

    sign_in(page, app, "literal-tester", "a long enough password")
    page.goto(f"{app.base_url}/deliberations")
    settled(page, page.get_by_role("button", name="Change the status"))
    _check(page, [], "deliberations")  # the table is drawn on a canvas: nothing in it may become a link
    if phone:  # the console's picker is in the sidebar, collapsed on a phone
        page.get_by_test_id("stExpandSidebarButton").click()
    _open_options(page, page.get_by_test_id("stSidebar").get_by_role("combobox"))  # the console's picker
    expect(page.get_by_role("option")).to_have_count(len(world.shown["deliberations"]))
    options = page.get_by_role("option").all_inner_texts()  # "ID: TITLE (STATUS)"
    titles = [o.split(": ", 1)[1].rsplit(" (", 1)[0] for o in options]
    assert sorted(titles) == sorted(world.shown["deliberations"])
    chosen = page.get_by_role("option", selected=True).inner_text().split(": ", 1)[1].rsplit(" (", 1)[0]
    shot("deliberations", page)
    page.keyboard.press("Escape")
    _check(page, [chosen], "deliberations")  # the chosen one's title heads its actions, as typed
