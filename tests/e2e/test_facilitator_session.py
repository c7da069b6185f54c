"""A facilitator's sign-in in a real browser (issue 12 item 1): it survives a reload and a second tab
through its cookie (SameSite=Strict, Path=/, as long as the session), sign-out clears it, and after
SESSION_HOURS the console is closed again."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import AppServer, Page, expect, settled, sign_in, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "ana@example.org"
PASSWORD = "correct horse battery"
SESSION_S = 45


def menu(page: Page) -> list[str]:
    links = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    return [text.strip().splitlines()[-1] for text in links]


def console_open(page: Page) -> bool:
    return "System" in menu(page)


def test_a_sign_in_survives_a_reload_and_a_second_tab_and_ends(
    start_app: Callable[..., AppServer], page: Page, shot: Callable[..., Path]
) -> None:
    app = start_app(SESSION_HOURS=str(SESSION_S / 3600))
    sign_in(page, app, NAME, PASSWORD)
    signed_at = time.time()
    settled(page, page.get_by_role("heading", name="Deliberations"))
    assert console_open(page)
    shot("signed-in")

    page.wait_for_function("document.cookie.includes('mgs_facilitator=')")  # the page's script set it
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "mgs_facilitator"]
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/" and not cookie["httpOnly"]
    assert signed_at + SESSION_S - 10 < cookie["expires"] <= signed_at + SESSION_S + 2

    page.reload()  # a new Streamlit session: only the cookie carries the sign-in
    settled(page, page.get_by_role("heading", name="Deliberations"))
    assert console_open(page)
    shot("after-reload")

    second = page.context.new_page()  # a second tab, straight to a console page by URL
    second.goto(f"{app.base_url}/system")
    settled(second, second.get_by_role("heading", name="System"))
    expect(second.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")).to_be_visible()
    shot("second-tab", second)
    second.close()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    wait_idle(page)
    page.wait_for_function("!document.cookie.includes('mgs_facilitator=ey')")  # cleared by the page
    assert not console_open(page)
    shot("signed-out")
    expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found": it lands on a public page
    page.reload()
    wait_idle(page)
    assert not console_open(page) and "Facilitator sign-in" in menu(page)
    shot("signed-out-after-reload")

    sign_in(page, app, NAME, PASSWORD, create=False)
    assert console_open(page)
    time.sleep(SESSION_S + 1)  # the new session's whole life
    page.reload()
    wait_idle(page)
    assert not console_open(page), f"still signed in {SESSION_S + 1} s after signing in"
    page.goto(f"{app.base_url}/system")
    wait_idle(page)
    expect(page.get_by_role("heading", name="System")).to_have_count(0)
    shot("expired")
