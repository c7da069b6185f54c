"""A new participant's whole path in a real browser, from a CLI invite link to the receipt.

The interviewer is the labelled demo model (LLM_MODE=fake); three peers' values and stories are seeded so
there is something to vote on and to judge. Screenshots of every step go to artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.facilitator import deliberations
from storage import db
from tests import worlds
from tests.e2e.conftest import AppServer, Page, expect, horizontal_overflow, settled, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DEMOGRAPHICS = [
    {
        "key": "party",
        "label": "Which party do you feel closest to?",
        "options": ["Democrat", "Republican", "Other"],
    },
]


def _seed(app: AppServer) -> tuple[int, str]:
    """A deliberation (with a demographics question) on the app's database, peers, and a CLI invite link."""
    engine = db.init_db(app.database_url)
    try:
        d = deliberations.create_deliberation(
            engine,
            title="Hard conversations",
            questions=["My mother is ill. Should I tell her the whole prognosis?"],
            welcome_text="Thank you for taking part.",
            consent_text="We keep what you write, without your name.",
            config={"demographics": DEMOGRAPHICS},
        )
        worlds.peers(engine, deliberation_id=d.id, question_id=d.questions[0].id)
    finally:
        engine.dispose()
    link = app.cli("invite", str(d.id), "--count", "1").stdout.strip()
    return d.id, link


def _chat(page: Page, text: str) -> None:
    """Send one message; the participant's bubble and the interviewer's reply appear."""
    bubbles = page.get_by_test_id("stChatMessageContent")
    expect(bubbles.first).to_be_visible()  # the interview is on screen (the opening message at least)
    before = bubbles.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    wait_idle(page)
    expect(bubbles).to_have_count(before + 2)
    assert bubbles.nth(before).inner_text().strip() == text
    # The streamed reply is stored, then the page reruns to show it with its buttons; a message typed
    # before that rerun ends would be dropped by the browser, as it would for a person.
    expect(page.get_by_role("button", name="Show me my card now")).to_be_visible()
    wait_idle(page)


def _rows(app: AppServer, sql: str) -> list[tuple]:
    engine = sa.create_engine(app.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_a_new_participant_goes_from_invite_to_receipt(
    start_app: Callable[..., AppServer], make_page: Callable[..., Page], shot: Callable[..., Path]
) -> None:
    app = start_app()
    _, link = _seed(app)
    assert link.startswith(f"{app.base_url}/join?invite=")
    page = make_page(phone=True)  # the whole path at phone width
    page.goto(link)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Hard conversations")).to_be_visible()
    assert "token=" in page.url and "invite=" not in page.url
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)  # participants see no menu
    shot("consent")

    page.get_by_text("I agree to take part on these terms.").click()
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)
    settled(page, page.get_by_role("button", name="Start the interview"))
    shot("consented")
    page.get_by_role("button", name="Start the interview").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Interview")).to_be_visible()
    shot("interview-opening")

    _chat(page, "I would want to be told gently, but told.")
    _chat(page, "When my father was ill, the doctor sat with us and took her time.")
    assert len(page.get_by_test_id("stChatMessageContent").all()) == 5
    shot("interview-chat")
    page.get_by_role("button", name="Show me my card now").click()
    wait_idle(page)
    shot("card-draft")

    # The demo card breaks the card rules, so the edit form is open: fix it as a participant would.
    page.get_by_label("Title (2-5 words)").fill("Gentle Honesty")
    page.get_by_label("One sentence about this way of choosing").fill(
        "Telling the truth at a pace the other person can bear."
    )
    page.get_by_label("What you pay attention to, one per line (start each with a plural noun in CAPS)").fill(
        "MOMENTS when the person is ready to hear more\nWORDS that leave room for hope and for grief"
    )
    page.get_by_role("button", name="Save my changes").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Gentle Honesty")).to_be_visible()
    shot("card-fixed")
    page.get_by_role("button", name="This is my value: submit").click()
    wait_idle(page)

    settled(page, page.get_by_role("heading", name="Which of these values are wise?"))
    shot("vote")
    for title in ("Honest Presence", "Gentle Timing"):
        page.get_by_text(f"Wise: {title}").click()
        expect(page.get_by_role("checkbox", name=f"Wise: {title}")).to_be_checked()
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)

    settled(page, page.get_by_text("Story 1 of 3."))
    page.evaluate("window.popped = []; addEventListener('popstate', () => popped.push(location.pathname))")
    page.go_back()  # the browser's back button: the vote is done, so the app sends them on again
    wait_idle(page)
    settled(page, page.get_by_text("Story 1 of 3."))
    assert page.evaluate("window.popped") == ["/vote"] and "/judge?" in page.url
    for n in range(3):
        settled(page, page.get_by_text(f"Story {n + 1} of 3."))  # the previous answer is saved
        expect(page.get_by_role("radio", checked=True)).to_have_count(0)  # this story's own, empty form
        if n == 0:
            shot("judge")
        page.get_by_role("radiogroup").get_by_text("Yes" if n != 1 else "Not sure", exact=True).click()
        page.get_by_role("button", name="Save my answer").click()
        wait_idle(page)
    expect(page.get_by_text("you answered")).to_have_count(3)
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)

    settled(page, page.get_by_role("heading", name="A few last questions"))
    shot("survey")
    for group in page.get_by_role("radiogroup").all():
        group.get_by_text("4", exact=True).click()
    page.get_by_role("button", name="Finish").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.get_by_text("Gentle Honesty")).to_be_visible()
    widths = horizontal_overflow(page)
    assert widths["document"] <= widths["viewport"] and widths["main"] <= widths["mainClient"]
    shot("receipt")

    # The database holds exactly what the person did, once.
    assert _rows(
        app,
        "SELECT stage, consented_at IS NOT NULL FROM participant WHERE external_id IS NULL "
        "AND id NOT IN (SELECT participant_id FROM valuescard WHERE interview_id IS NULL)",
    ) == [("done", True)]
    assert _rows(
        app, "SELECT title, status, edited_by_participant FROM valuescard WHERE interview_id IS NOT NULL"
    ) == [("Gentle Honesty", "submitted", True)]
    assert _rows(app, "SELECT count(*) FROM message WHERE role = 'user'") == [(2,)]
    assert _rows(app, "SELECT count(*) FROM vote") == [(2,)] and _rows(
        app, "SELECT count(*) FROM impression"
    ) == [(3,)]
    assert sorted(_rows(app, "SELECT answer FROM judgement")) == [("not_sure",), ("upgrade",), ("upgrade",)]
    assert _rows(app, "SELECT count(*) FROM surveyresponse") == [(6,)]


def test_a_reload_in_the_middle_of_the_interview_loses_nothing(
    start_app: Callable[..., AppServer], page: Page, shot: Callable[..., Path]
) -> None:
    app = start_app()
    _, link = _seed(app)
    page.goto(link)
    wait_idle(page)
    page.get_by_text("I agree to take part on these terms.").click()
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)
    page.get_by_role("button", name="Start the interview").click()
    wait_idle(page)
    _chat(page, "Honesty matters most to me here.")
    shot("before-reload")
    url = page.url
    page.reload()
    settled(page, page.get_by_role("button", name="Show me my card now"))  # drawn after the chat
    assert page.url == url
    messages = page.get_by_test_id("stChatMessageContent").all_inner_texts()
    assert len(messages) == 3 and "Honesty matters most to me here." in messages[1]
    _chat(page, "And kindness in how it is said.")
    shot("after-reload")
    assert len(page.get_by_test_id("stChatMessageContent").all()) == 5
    assert _rows(app, "SELECT count(*) FROM message WHERE role = 'user'") == [(2,)]
