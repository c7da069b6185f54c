"""The facilitator console in a real browser, step by step (issue 12 item 9).

A named account (made with ``cli.py facilitator add``) signs in, creates a deliberation with two questions,
has the scripted demo model (``LLM_MODE=fake``) propose contexts for one, edits them and saves them, edits
a setting, opens the deliberation, makes invites and downloads their CSV, runs dedup and a graph build as
jobs and watches them end, hides a card and finds it in the moderation log. Every step saves a screenshot
under artifacts/e2e/. Then each console page is opened at phone width: nothing scrolls sideways.

The submitted cards that dedup, the build and moderation work on are written straight into the database
(as :mod:`tests.worlds` does): walking participants through their interviews is the participant flow's
test, and here it would only add minutes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import db, repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from storage.tables import Deliberation, Question, ValuesCard, utcnow
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
from tests.worlds import GOOD_CARD, HONEST_CARD
from ui import literal
from ui.console_pages import CONSOLE

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "rosa"
PASSWORD = "a facilitator's long password"
TITLE = "Raising teenagers"
QUESTIONS = ["How strict should I be with my teenager?", "My friend asks me to lie for her. Should I?"]
TYPED_CONTEXT = "When the teenager has broken a promise"
INVITES = 4
HIDE_REASON = "Posted twice by the same person"
HEADINGS = {"Import": "Import the published study"}  # a menu title → its page's heading, where longer
JOB_TIMEOUT_MS = 60_000  # a job on a slow CI machine; the demo model answers at once


def _choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the main area's selectbox ``label``."""
    page.get_by_test_id("stMain").get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def _go(page: Page, title: str) -> None:
    """Open a console page from the sidebar menu."""
    page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True)).click()
    settled(page, page.get_by_role("heading", name=HEADINGS.get(title, title), exact=True))


def _submitted_cards(app: AppServer, deliberation_id: int) -> list[int]:
    """Three participants' submitted cards (two near-duplicates on the first question, one on the second),
    not yet linked to any value: what dedup starts from."""
    engine = db.init_db(app.database_url)
    try:
        with session_scope(engine) as s:
            first, second = s.execute(
                sa.select(Question.id)
                .where(Question.deliberation_id == deliberation_id)
                .order_by(Question.id)
            ).scalars()
            again = HONEST_CARD | {
                "description": "Staying truthful and close when someone faces a hard choice."
            }
            cards = []
            for question_id, card in ((first, HONEST_CARD), (first, again), (second, GOOD_CARD)):
                author = repo_participants.create_participant(
                    s, data=ParticipantCreate(deliberation_id=deliberation_id)
                )
                author.stage = "done"
                row = ValuesCard(
                    participant_id=author.id,
                    question_id=question_id,
                    title=str(card["title"]),
                    description=str(card["description"]),
                    policies=list(card["policies"]),
                    status="submitted",
                    submitted_at=utcnow(),
                )
                s.add(row)
                s.flush()
                cards.append(int(row.id or 0))
        return cards
    finally:
        engine.dispose()


def _shown(text: str) -> re.Pattern[str]:
    """``text`` as the page shows it through ``components.plain`` (invisible marks may sit between any two
    characters), as a pattern for ``get_by_text``."""
    gap = f"[{''.join(literal.ADDED)}]*"
    return re.compile(gap.join(re.escape(c) for c in text))


def _run_box(page: Page, run: int, kind: str) -> Locator:
    """The bordered box of job run ``run`` on the Jobs page (the innermost block that names it)."""
    name = f"Run {run}: {kind},"
    return (
        page.get_by_test_id("stVerticalBlock")
        .filter(has_text=_shown(name))
        .filter(has_not_text=re.compile(rf"Run (?!{run}:)\d+:"))
        .last
    )


def _watch(page: Page, run: int, kind: str) -> None:
    """Watch job run ``run`` on the Jobs page until it ends succeeded (the list refreshes by itself)."""
    expect(page.get_by_text(_shown(f"Run {run}: {kind},"))).to_be_visible()
    done = page.get_by_text(_shown(f"Run {run}: {kind}, succeeded (by {NAME}"))
    expect(done).to_be_visible(timeout=JOB_TIMEOUT_MS)
    wait_idle(page)


def test_a_facilitator_sets_up_invites_runs_jobs_and_moderates(
    start_app: Callable[..., AppServer], make_page: Callable[..., Page], shot: Callable[..., Path]
) -> None:
    app = start_app()
    page = make_page()
    page.context.set_default_timeout(30_000)

    # 1. A named account signs in; the console opens on the Deliberations page.
    sign_in(page, app, NAME, PASSWORD)
    settled(page, page.get_by_role("heading", name="Deliberations"))
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {NAME}")
    shot("signed-in")

    # 2. A deliberation with two questions.
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Questions, one per line").fill("\n".join(QUESTIONS))
    page.get_by_role("button", name="Create", exact=True).click()
    settled(page, page.get_by_text("Created deliberation 1 as a draft"))
    cells = page.get_by_test_id("stDataFrame").locator('[role="gridcell"]')
    expect(cells).to_have_text(["1", TITLE, "draft", "2", "0", "0"])
    shot("created")

    # 3. The scripted model proposes contexts for question 1; the facilitator edits them and saves.
    _go(page, "Settings")
    page.get_by_role("tab", name="Questions and contexts").click()
    question = page.get_by_test_id("stExpander").filter(has_text=f"Question 1: {QUESTIONS[0]}")
    question.get_by_text(f"Question 1: {QUESTIONS[0]}").click()
    question.get_by_role("button", name="Propose contexts with the model").click()
    settled(page, page.get_by_text("The model's proposals are added below"))
    field = question.get_by_role("textbox", name="Contexts of question 1")
    proposed = [line for line in field.input_value().splitlines() if line.strip()]
    assert proposed and all(line.startswith("When ") for line in proposed), proposed
    shot("contexts-proposed")
    kept = [*proposed[1:], TYPED_CONTEXT]  # one proposal dropped, one typed
    field.fill("\n".join(kept))
    question.get_by_role("button", name="Save the contexts").click()
    settled(page, page.get_by_text("Saved the contexts of question 1:"))
    expect(page.get_by_text(f"Saved the contexts of question 1: {len(kept)} added")).to_be_visible()
    # The page ran again with the notice on top: the facilitator is still on the tab they worked in.
    expect(page.get_by_role("tab", name="Questions and contexts")).to_have_attribute("aria-selected", "true")
    shot("contexts-saved")

    # 4. A setting: how many stories a participant judges.
    page.get_by_role("tab", name="Numbers").click()
    page.get_by_label("Stories to judge").fill("4")  # 3 by default
    page.get_by_role("button", name="Save numbers").click()
    settled(page, page.get_by_text("Saved the numbers."))
    expect(page.get_by_role("tab", name="Numbers")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Stories to judge")).to_have_value("4")
    shot("setting-saved")

    # 5. Open it (a draft takes nobody), then invites and their CSV.
    _go(page, "Deliberations")
    _choose(page, "Status", "open")
    page.get_by_role("button", name="Change the status").click()
    settled(page, page.get_by_text("Deliberation 1 is open."))
    shot("opened")
    _go(page, "Invites")
    page.get_by_label("How many links").fill(str(INVITES))
    page.get_by_label("Cohort (optional)").fill("pilot")
    page.get_by_role("button", name="Create links").click()
    settled(page, page.get_by_text(f"Created {INVITES} single-use links."))
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download all invites as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "invites-1.csv"
    rows = list(csv.reader(Path(download.path()).read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["link", "code", "cohort", "status", "opened", "started", "finished"]
    assert len(rows) == 1 + INVITES
    assert all(
        r[0] == f"{app.base_url}/join?invite={r[1]}" and r[2:4] == ["pilot", "unused"] for r in rows[1:]
    )
    shot("invites")

    # 6. Three people submitted cards; dedup and the build run as jobs.
    cards = _submitted_cards(app, 1)
    _go(page, "Jobs")
    expect(page.get_by_text("No job runs for this deliberation yet.")).to_be_visible()
    page.get_by_role("button", name="Run dedup").click()
    settled(page, page.get_by_text("Job run 1 (dedup) is"))
    shot("dedup-started")
    _watch(page, 1, "dedup")
    shot("dedup-succeeded")
    page.get_by_role("button", name="Build the moral graph").click()
    settled(page, page.get_by_text("Job run 2 (build) is"))
    _watch(page, 2, "build")
    build = _run_box(page, 2, "build")
    build.get_by_text("Log (", exact=False).click()
    expect(build.get_by_test_id("stCode")).not_to_be_empty()
    shot("build-succeeded")
    listed = app.cli("jobs", "list", "1").stdout
    assert "succeeded" in listed and "dedup" in listed and "build" in listed, listed

    # 7. Hide a card, then find it in the moderation log.
    _go(page, "Moderate")
    hidden = cards[1]
    page.get_by_text(f"Moderate card {hidden}", exact=True).click()
    moderate = page.get_by_test_id("stExpander").filter(has_text=f"Moderate card {hidden}")
    moderate.get_by_label("Reason (written to the moderation log)").fill(HIDE_REASON)
    moderate.get_by_role("button", name="Hide card").click()
    settled(page, page.get_by_text(f"Card {hidden} hidden."))
    shot("card-hidden")
    page.get_by_role("tab", name="Moderation log").click()
    log = page.get_by_test_id("stDataFrame")
    expect(log.locator('[role="gridcell"]').filter(has_text=HIDE_REASON)).to_have_count(1)
    expect(log.locator('[role="gridcell"]').filter(has_text=f"card {hidden}")).not_to_have_count(0)
    for action in ("deliberation_create", "question_contexts", "deliberation_edit", "invites_create"):
        expect(log.locator('[role="gridcell"]').filter(has_text=action)).to_have_count(1)
    shot("moderation-log")
    with session_scope(engine := db.make_engine(app.database_url)) as s:
        rows = s.execute(sa.select(ValuesCard.id, ValuesCard.status, ValuesCard.canonical_value_id)).all()
        config = s.execute(sa.select(Deliberation.config)).scalar_one()
    engine.dispose()
    assert {card: status for card, status, _ in rows} == {
        c: "hidden" if c == hidden else "submitted" for c in cards
    }
    assert all(value is not None for _, _, value in rows)  # dedup linked every card to a value
    assert config["stories_to_judge"] == 4


def test_every_console_page_fits_a_phone(
    app_server: AppServer, make_page: Callable[..., Page], shot: Callable[..., Path]
) -> None:
    app_server.cli("facilitator", "add", NAME, "--password-stdin", stdin=f"{PASSWORD}\n")
    app_server.cli("demo")  # something on every page: an open deliberation, its values, links and stories
    page = make_page(phone=True)
    page.goto(f"{app_server.base_url}/facilitator_login")
    settled(page, page.get_by_role("button", name="Sign in", exact=True))
    page.get_by_label("Account name").fill(NAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    settled(page, page.get_by_role("heading", name="Deliberations"))
    for path, title, _ in CONSOLE:
        name = Path(path).stem
        page.goto(f"{app_server.base_url}/{name}?d=1")
        settled(page, page.get_by_role("heading", name=HEADINGS.get(title, title), exact=True))
        shot(f"phone-{name}")
        widths = horizontal_overflow(page)
        assert widths["viewport"] == 390, widths
        assert widths["document"] <= widths["viewport"], (name, widths)
        assert widths["main"] <= widths["mainClient"] + 1, (name, widths)
