"""The facilitator flow in a real browser: sign in, create a deliberation, invite people, check the DB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import AppServer, Page, expect, horizontal_overflow, settled, wait_idle
from ui.console_pages import CONSOLE

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PASSWORD = "correct horse battery"
QUESTIONS = ["How strict should I be with my teenager?", "My friend asks me to lie for her. Should I?"]


def menu(page: Page) -> list[str]:
    """The page titles listed in the sidebar menu (a link's text starts with its icon's name)."""
    links = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    return [text.strip().splitlines()[-1] for text in links]


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the main area's selectbox ``label`` (a click opens its list)."""
    page.get_by_test_id("stMain").get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_facilitator_signs_in_creates_a_deliberation_and_invites_people(
    start_app: Callable[..., AppServer], page: Page, shot: Callable[..., Path]
) -> None:
    app = start_app(FACILITATOR_PASSWORD=PASSWORD)
    page.goto(app.base_url)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Moral Graph Studio")).to_be_visible()
    settled(page, page.get_by_text("Demo mode (LLM_MODE=fake)"))
    assert menu(page) == ["Welcome", "Facilitator sign-in"]  # the facilitator pages are not listed
    shot("landing")

    # Not reachable by URL either before sign-in (a new session: Streamlit falls back to the default page).
    page.goto(f"{app.base_url}/deliberations")
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_contain_text("Page not found")
    expect(page.get_by_role("heading", name="Deliberations")).to_have_count(0)
    assert "Deliberations" not in menu(page)
    shot("deliberations-by-url-refused")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Facilitator sign-in").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Facilitator sign-in")).to_be_visible()
    # FACILITATOR_PASSWORD is the one-account shortcut: its account's name is "facilitator".
    page.get_by_label("Account name").fill("facilitator")
    for attempt in range(4):  # three free failures, then a wait the page names
        page.get_by_label("Password", exact=True).fill(f"not the password {attempt}")
        page.get_by_role("button", name="Sign in", exact=True).click()
        wait_idle(page)
    waits = "That name and password do not match. Wait 2 seconds before the next try."
    expect(page.get_by_text(waits)).to_be_visible()
    assert menu(page) == ["Welcome", "Facilitator sign-in"]
    # No screenshot here: the right password must come within the 2 seconds (a shot can take longer).
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()  # even the right password waits
    assert menu(page) == ["Welcome", "Facilitator sign-in"]
    shot("locked-out")

    page.wait_for_timeout(2_100)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    wait_idle(page)
    settled(page, page.get_by_role("heading", name="Deliberations"))
    expect(page.get_by_text("No deliberations yet")).to_be_visible()
    assert menu(page) == ["Welcome", *(title for _, title, _ in CONSOLE)]
    shot("signed-in")

    page.get_by_label("Title").fill("Parenting and honesty")
    page.get_by_label("Questions, one per line").fill("\n".join(QUESTIONS))
    page.get_by_label("Welcome text (optional)").fill("Thank you for taking part.")
    shot("new-deliberation-form")
    page.get_by_role("button", name="Create", exact=True).click()
    wait_idle(page)
    settled(page, page.get_by_text("Created deliberation 1 as a draft"))
    table = page.get_by_test_id("stDataFrame")
    # st.dataframe draws on a canvas; its cells are in an accessible table inside it (by CSS, not by role).
    headers = table.locator('[role="columnheader"]')
    expect(headers).to_have_text(["id", "title", "status", "questions", "participants", "visitors"])
    expect(table.locator('[role="gridcell"]')).to_have_text(
        ["1", "Parenting and honesty", "draft", "2", "0", "0"]
    )
    shot("deliberation-created")

    # A draft takes no participants: open it first (the Invites page would ask to confirm otherwise).
    choose(page, "Status", "open")
    page.get_by_role("button", name="Change the status").click()
    settled(page, page.get_by_text("Deliberation 1 is open."))
    expect(table.locator('[role="gridcell"]').nth(2)).to_have_text("open")
    shot("deliberation-opened")

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Invites").click()
    settled(page, page.get_by_role("button", name="Create links"))
    expect(page.get_by_role("heading", name="Invites", exact=True)).to_be_visible()
    expect(page.get_by_text("Create them anyway")).to_have_count(0)  # open: nothing to confirm
    open_link = page.get_by_test_id("stCode").filter(has_text="/join?code=").inner_text().strip()
    assert open_link.startswith(f"{app.base_url}/join?code="), open_link
    page.get_by_label("How many links").fill("3")
    page.get_by_label("Cohort (optional)").fill("pilot")
    page.get_by_role("button", name="Create links").click()
    settled(page, page.get_by_text("Created 3 single-use links."))
    expect(page.get_by_text("3 single-use links just made")).to_be_visible()
    links = page.get_by_test_id("stCode").filter(has_text="invite=").locator("code").inner_text().split()
    shot("invite-links")

    assert len(links) == len(set(links)) == 3
    prefix = f"{app.env['PUBLIC_BASE_URL']}/join?invite="
    assert prefix == f"{app.base_url}/join?invite="
    assert all(link.startswith(prefix) and len(link) > len(prefix) for link in links), links

    # The database, through the command line with the app's own environment.
    listed = app.cli("deliberation", "list").stdout.splitlines()
    assert listed == ["1\topen\t2\t0\tParenting and honesty"]
    engine = sa.create_engine(app.database_url)
    try:
        with engine.connect() as conn:
            questions = conn.execute(sa.text("SELECT text FROM question ORDER BY id")).scalars().all()
            invites = conn.execute(
                sa.text(
                    "SELECT invite.code, cohort.name, invite.participant_id FROM invite "
                    "JOIN cohort ON cohort.id = invite.cohort_id WHERE invite.deliberation_id = 1"
                )
            ).all()
    finally:
        engine.dispose()
    assert list(questions) == QUESTIONS
    assert sorted(code for code, _, _ in invites) == sorted(link.removeprefix(prefix) for link in links)
    assert {cohort for _, cohort, _ in invites} == {"pilot"}
    assert all(participant is None for _, _, participant in invites)


def test_the_landing_page_fits_a_phone(
    app_server: AppServer, make_page: Callable[..., Page], shot: Callable[..., Path]
) -> None:
    page = make_page(phone=True)
    page.goto(app_server.base_url)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Moral Graph Studio")).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_role("button")).to_have_count(0)  # no model check (issue 12)
    shot("landing-phone")
    widths = horizontal_overflow(page)
    assert widths["viewport"] == 390
    assert widths["document"] <= widths["viewport"], widths
    assert widths["main"] <= widths["mainClient"], widths
    # The page icon ships with the app: served by the app itself, never fetched from a CDN (offline).
    icons = page.locator("link[rel*='icon']").evaluate_all("links => links.map(l => l.href)")
    assert icons and all(href.startswith(app_server.base_url) or href.startswith("data:") for href in icons)


def test_a_deep_link_to_a_fresh_server_goes_through_the_router(
    start_app: Callable[..., AppServer], page: Page, shot: Callable[..., Path]
) -> None:
    app = start_app(FACILITATOR_PASSWORD=PASSWORD)
    page.goto(f"{app.base_url}/deliberations")  # the server's very first session opens a deep link
    shot("first-request-deep-link", allow_exception=True)
    settled(page, page.get_by_text("Demo mode (LLM_MODE=fake)"))  # drawn by app.py: the router ran
    assert menu(page) == ["Welcome", "Facilitator sign-in"]
