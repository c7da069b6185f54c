"""What a participant reads, measured in a real browser (issue 11 item 7): captions at 4.5:1 contrast or
more against the page, headings in order (h1 → h2 → h3, no level skipped) on every participant page, and
no list of the raw page files in the sidebar on a fresh server's first load.

The contrast is WCAG 2's, of the colour the browser renders: the caption's computed colour with its alpha
and its own and its ancestors' opacity, over the first opaque background behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from services.participant import cards, interviewing, joining, judging, receipts, voting
from storage import db
from tests import worlds
from tests.e2e.conftest import REPO, AppServer, Page, expect, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MIN_CONTRAST = 4.5  # WCAG 2 AA for body text (captions are 14 px)

# Every caption's text colour, alpha and opacity (its own and its ancestors'), and the background behind it.
CAPTIONS_JS = """() => {
    const rgba = (css) => {
        const m = css.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const out = [];
    for (const box of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
        const texts = [...box.querySelectorAll('*')].filter(e =>
            [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()));
        for (const el of texts.length ? texts : [box]) {
            let opacity = 1, bg = null;
            for (let e = el; e; e = e.parentElement) {
                const style = getComputedStyle(e);
                opacity *= Number(style.opacity);
                const b = rgba(style.backgroundColor);
                if (!bg && b && b[3] > 0) bg = b;
            }
            out.push({text: el.textContent.trim(), color: rgba(getComputedStyle(el).color), opacity,
                      background: bg || [255, 255, 255, 1]});
        }
    }
    return out;
}"""
# The page's headings in document order, the sidebar's left out (the main area's container differs by
# page: a chat page scrolls in its own).
HEADINGS_JS = """() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .filter(h => h.checkVisibility() && !h.closest('[data-testid="stSidebar"]'))
    .map(h => [Number(h.tagName[1]), h.textContent.trim()])"""
# Records, from the document's first node on, the text of every link the sidebar's page menu shows.
MENU_RECORDER = """
window.__menuLinks = new Set();
new MutationObserver(() => {
    const links = '[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]';
    for (const a of document.querySelectorAll(links)) window.__menuLinks.add(a.textContent.trim());
}).observe(document, {childList: true, subtree: true});
"""


Colour = tuple[float, float, float]


def _luminance(rgb: Colour) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: Colour, bg: Colour) -> float:
    """WCAG 2 contrast ratio of two opaque colours.

    >>> round(contrast((0, 0, 0), (255, 255, 255)), 1), round(contrast((130, 129, 128), (255, 255, 255)), 1)
    (21.0, 3.9)
    """
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rendered(sample: dict[str, Any]) -> tuple[Colour, Colour]:
    """The caption's colour as rendered (alpha and opacity over its background), and the background."""
    (r, g, b, alpha), (br, bg, bb, _) = sample["color"], sample["background"]
    a = alpha * sample["opacity"]
    return (a * r + (1 - a) * br, a * g + (1 - a) * bg, a * b + (1 - a) * bb), (br, bg, bb)


def skipped_levels(levels: list[int]) -> list[str]:
    """Where a page's heading outline skips: it starts below h1, or goes down more than one level.

    >>> skipped_levels([1, 2, 3, 2, 3, 3]), skipped_levels([1, 3]), skipped_levels([2])
    ([], ['h1 → h3'], ['starts at h2'])
    """
    problems = [f"starts at h{levels[0]}"] if levels and levels[0] != 1 else []
    problems += [f"h{a} → h{b}" for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    return problems


# ------------------------------------------------------------------------------------------------ world


def _participants(app: AppServer) -> dict[str, str]:
    """One participant at each step, on the app's database: page name → the URL that opens it."""
    engine = db.init_db(app.database_url)
    try:
        d = deliberations.create_deliberation(
            engine,
            title="Hard conversations",
            questions=["My mother is ill. Should I tell her the whole prognosis?"],
            consent_text="We keep what you write, without your name.",
            config={
                "demographics": [
                    {"key": "age", "label": "Age", "kind": "number", "max": 120, "required": True},
                    {"key": "town", "label": "Town", "kind": "text"},
                ]
            },
        )
        question = d.questions[0].id
        peers = worlds.peers(engine, deliberation_id=d.id, question_id=question)
        deliberations.set_status(engine, deliberation_id=d.id, status="open")  # only an open one takes people
        links = deliberations.create_invites(engine, deliberation_id=d.id, count=6, base_url=app.base_url)
        codes = [link.invite.code for link in links]
        tokens = [joining.join(engine, invite=code).token for code in codes]
        urls = {"consent": f"{app.base_url}/join?token={tokens[0]}"}
        for token in tokens[1:]:
            joining.consent(engine, token=token, demographics={"age": "40"})
        urls["start"] = f"{app.base_url}/join?token={tokens[1]}"
        for token in tokens[2:]:
            view = interviewing.start_interview(engine, token=token, question_id=question)
            interviewing.post_message(engine, token=token, interview_id=view.id, text="Honesty, gently.")
            model = ScriptedChatModel([worlds.GOOD_CARD])
            cards.request_card(engine, model, token=token, interview_id=view.id)
        urls["card"] = f"{app.base_url}/interview?token={tokens[2]}"
        for token in tokens[3:]:
            card = interviewing.current_interview(engine, token=token).card
            cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
        urls["vote"] = f"{app.base_url}/vote?token={tokens[3]}"
        for token in tokens[4:]:
            draw = voting.draw_values(engine, token=token, question_id=question)
            voting.submit_votes(engine, token=token, draw_id=draw.draw_id, value_ids=list(peers.values[:2]))
        urls["judge"] = f"{app.base_url}/judge?token={tokens[4]}"
        token = tokens[5]
        for story in judging.stories_to_judge(engine, token=token):
            judging.judge(engine, token=token, hypothesis_id=story.hypothesis_id, answer="upgrade")
        judging.finish_judging(engine, token=token)
        urls["survey"] = f"{app.base_url}/finish?token={token}"
        with engine.begin() as connection:  # the person who finishes: their card joined a shared value
            joined = (
                "UPDATE valuescard SET canonical_value_id = :v"
                " WHERE participant_id = (SELECT id FROM participant WHERE token = :t)"
            )
            connection.execute(sa.text(joined), {"v": peers.values[0], "t": token})
        return urls
    finally:
        engine.dispose()


def _finish_survey(app: AppServer, token_url: str) -> None:
    engine = db.init_db(app.database_url)
    try:
        token = token_url.split("token=")[1]
        defaults = {"scale": 4, "yes_no": True}
        answers = {item.key: defaults.get(item.kind) for item in receipts.survey(engine, token=token)}
        receipts.submit_survey(engine, token=token, answers=answers)
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------ tests


def test_captions_are_readable_and_headings_in_order_on_every_participant_page(
    start_app: Callable[..., AppServer], page: Page, shot: Callable[..., Path]
) -> None:
    app = start_app()
    urls = _participants(app)
    visits = [*urls.items(), ("receipt", urls["survey"])]
    measured: dict[str, list[tuple[str, float]]] = {}
    outlines: dict[str, list[list[Any]]] = {}
    for name, url in visits:
        if name == "receipt":
            _finish_survey(app, url)
        page.goto(url)
        wait_idle(page)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        wait_idle(page)
        shot(name)
        outlines[name] = page.evaluate(HEADINGS_JS)
        measured[name] = [
            (sample["text"], contrast(*rendered(sample))) for sample in page.evaluate(CAPTIONS_JS)
        ]

    skips = {name: skipped_levels([level for level, _ in outline]) for name, outline in outlines.items()}
    assert skips == {name: [] for name in outlines}, outlines
    assert all(outlines[name] for name in outlines), outlines  # every page was read (each has its h1)
    assert any(level == 3 for level, _ in outlines["receipt"] + outlines["judge"])  # h3 under an h2

    low = {name: [(t, round(c, 2)) for t, c in got if c < MIN_CONTRAST] for name, got in measured.items()}
    assert low == {name: [] for name in measured}, measured
    # Not vacuous: the captions these pages always show were measured.
    assert any("It takes about 10 minutes" in t for t, _ in measured["start"])
    assert any(t.startswith("Story 1 of 3.") for t, _ in measured["judge"])
    assert any("judged stories about this value" in t for t, _ in measured["receipt"])


def _raw_page_names() -> set[str]:
    """How Streamlit's own multipage menu names the files: ``app`` and each ``pages/*.py`` stem."""
    return {"app"} | {p.stem.replace("_", " ") for p in (REPO / "pages").glob("*.py")}


@pytest.mark.parametrize("first", ["/", "/join?invite=not-a-code"])
def test_the_first_load_never_lists_the_raw_page_files(
    start_app: Callable[..., AppServer], page: Page, first: str
) -> None:
    app = start_app()  # a fresh server: its first session is the one that used to show the files
    page.add_init_script(MENU_RECORDER)
    page.goto(app.base_url + first)
    wait_idle(page)
    page.wait_for_timeout(500)
    seen = set(page.evaluate("() => [...window.__menuLinks]"))
    assert not seen & _raw_page_names(), seen
    if first == "/":  # the facilitator's menu is still there, on this very first load
        expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Welcome")).to_be_visible()
        assert any(text.endswith("Welcome") for text in seen)  # a link's text starts with its icon's name
    else:  # a participant's link shows no menu at all
        expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
        assert not seen
