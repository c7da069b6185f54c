"""Participants' whole path in a real browser, from a CLI invite link to the receipt.

The interviewer is the labelled demo model (LLM_MODE=fake). The first test seeds three peers' values and
stories; the second is a newcomer's demo: ``cli.py demo`` and two participants, the second of whom votes on
the first one's value and judges a story about it (the continuous pipeline in between). Screenshots of
every step go to artifacts/e2e/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.facilitator import deliberations
from services.facilitator import demo_content as demo
from storage import db
from storage.schemas import DeliberationConfig
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
        deliberations.set_status(engine, deliberation_id=d.id, status="open")  # only an open one takes people
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

    # The demo card keeps the card rules; the participant rewrites it in their own words anyway.
    expect(page.get_by_role("heading", name="Honest Gentleness")).to_be_visible()
    page.get_by_role("button", name="Edit it myself").click()
    wait_idle(page)
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
    expect(page.get_by_text("Gentle Honesty").first).to_be_visible()  # the card, and its value
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


# --------------------------------------------------------------------------- the demo, two participants

PIPELINE_TIMEOUT_S = 120


def _wait_for(app: AppServer, sql: str, done: Callable[[list[tuple]], bool], what: str) -> list[tuple]:
    """Poll the app's database until ``done(rows)``: the background pipeline runs in the app's process."""
    deadline = time.monotonic() + PIPELINE_TIMEOUT_S
    while True:
        rows = _rows(app, sql)
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {PIPELINE_TIMEOUT_S} s (last: {rows}). App log:\n{app.log()[-3000:]}")
        time.sleep(0.5)


def _wait_for_pipeline(app: AppServer, title: str) -> None:
    """Until the participant's card is a canonical value whose new pairs' stories are all written, judged
    and shown (the pipeline plans ``pipeline_pairs_per_value`` pairs, two stories each, for a new value)."""
    expected = 2 * DeliberationConfig().pipeline_pairs_per_value
    stories = _wait_for(
        app,
        "SELECT h.shown, h.judge_scores IS NOT NULL FROM edgehypothesis h JOIN canonicalvalue v "
        f"ON v.id IN (h.from_value_id, h.to_value_id) WHERE v.title = '{title}'",
        lambda rows: len(rows) >= expected and all(judged for _, judged in rows),
        f"the pipeline did not write and judge the stories of {title!r}",
    )
    assert all(shown for shown, _ in stories), stories  # the demo judge passes the demo model's stories


def _take_part(page: Page, link: str, says: tuple[str, str], title: str, shot: Callable[..., Path]) -> None:
    """Join by ``link``, be interviewed, see the demo card titled ``title`` and submit it."""
    page.goto(link)
    wait_idle(page)
    expect(page.get_by_role("heading", name=demo.TITLE)).to_be_visible()
    page.get_by_text("I agree to take part on these terms.").click()
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)
    settled(page, page.get_by_role("button", name="Start the interview"))
    page.get_by_role("button", name="Start the interview").click()
    wait_idle(page)
    for text in says:
        _chat(page, text)
    shot("interview")
    page.get_by_role("button", name="Show me my card now").click()
    wait_idle(page)
    settled(page, page.get_by_role("heading", name=title))
    expect(page.get_by_text("Before you can submit, please fix")).to_have_count(0)  # it keeps the rules
    shot("card")
    page.get_by_role("button", name="This is my value: submit").click()
    wait_idle(page)
    settled(page, page.get_by_role("heading", name="Which of these values are wise?"))


def _vote(page: Page, titles: tuple[str, ...]) -> None:
    for title in titles:
        page.get_by_text(f"Wise: {title}").click()
        expect(page.get_by_role("checkbox", name=f"Wise: {title}")).to_be_checked()
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)


def _judge(page: Page, shot: Callable[..., Path]) -> list[set[str]]:
    """Answer the three stories; the value titles on each story's page (before and after)."""
    seen = []
    for n in range(3):
        settled(page, page.get_by_text(f"Story {n + 1} of 3."))
        headings = set(page.get_by_role("heading").all_inner_texts())
        seen.append(headings)
        if n == 0:
            shot("judge")
        page.get_by_role("radiogroup").get_by_text("Yes", exact=True).click()
        page.get_by_role("button", name="Save my answer").click()
        wait_idle(page)
    expect(page.get_by_text("you answered")).to_have_count(3)
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)
    return seen


def _finish(page: Page, title: str, shot: Callable[..., Path]) -> None:
    settled(page, page.get_by_role("heading", name="A few last questions"))
    for group in page.get_by_role("radiogroup").all():
        group.get_by_text("4", exact=True).click()
    page.get_by_role("button", name="Finish").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.get_by_text(title).first).to_be_visible()
    widths = horizontal_overflow(page)
    assert widths["document"] <= widths["viewport"] and widths["main"] <= widths["mainClient"]
    shot("receipt")


FIRST = ("Honest Gentleness", ("My sister told me the truth about our father, gently.", "She was honest."))
SECOND = ("Practical Clarity", ("We made a plan with clear steps.", "Practical information about costs."))


def test_the_demo_second_participant_votes_on_and_judges_the_first_ones_value(
    start_app: Callable[..., AppServer], make_page: Callable[..., Page], shot: Callable[..., Path]
) -> None:
    app = start_app()
    printed = app.cli("demo", "--invites", "2").stdout.splitlines()
    assert printed[0].startswith("Demo deliberation 1 is open")
    invites = [line.split()[-1] for line in printed if line.startswith("Invite link")]
    assert len(invites) == 2 and all(link.startswith(f"{app.base_url}/join?invite=") for link in invites)
    seeds = [s.title for s in demo.SEEDS]

    # The first participant (desktop width): the demo's seed values and stories fill both steps.
    first = make_page()
    _take_part(first, invites[0], FIRST[1], FIRST[0], shot)
    for title in seeds:
        expect(first.get_by_role("heading", name=title)).to_be_visible()
    expect(first.get_by_text("Suggested by the organisers")).to_have_count(len(seeds))
    shot("vote-first", first)
    _vote(first, tuple(seeds[:2]))
    _judge(first, shot)
    _finish(first, FIRST[0], shot)
    _wait_for_pipeline(app, FIRST[0])

    # The second participant (phone width) votes on the first one's value and judges a story about it.
    second = make_page(phone=True)
    _take_part(second, invites[1], SECOND[1], SECOND[0], shot)
    expect(second.get_by_role("heading", name=FIRST[0])).to_be_visible()
    shot("vote-second", second)
    _vote(second, (FIRST[0], seeds[0]))
    _wait_for_pipeline(app, SECOND[0])  # before the judging set is drawn: the stories of their own value
    seen = _judge(second, shot)
    assert any(FIRST[0] in headings for headings in seen), seen
    _finish(second, SECOND[0], shot)

    # What the database holds: the second person's vote and judgement on the first person's value.
    person = (
        f"(SELECT participant_id FROM valuescard WHERE title = '{SECOND[0]}' AND interview_id IS NOT NULL)"
    )
    value = f"(SELECT id FROM canonicalvalue WHERE title = '{FIRST[0]}')"
    assert _rows(
        app, f"SELECT count(*) FROM vote WHERE participant_id = {person} AND canonical_value_id = {value}"
    ) == [(1,)]
    about_it = _rows(
        app,
        f"SELECT count(*) FROM judgement WHERE participant_id = {person} "
        f"AND {value} IN (from_value_id, to_value_id)",
    )
    assert about_it[0][0] >= 1
    assert _rows(app, "SELECT count(*) FROM participant WHERE stage = 'done'") == [(2,)]
