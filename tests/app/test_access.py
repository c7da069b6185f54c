"""Access control (AppTest, issue 12 items 1 and 9): every console page (the full list app.py serves,
``ui.console_pages.CONSOLE``) refuses a visitor who is signed out, typed a wrong password, is locked out or
whose session expired, with no exception, none of the page's content and a pointer to the sign-in page.

Two layers are checked. The router: such a session's ``st.navigation`` lists no console page, so no menu
shows one and a typed URL cannot open one (Streamlit answers "Page not found"). The page itself: a
session that was on the page while signed in and then lost its sign-in sees only the pointer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from services.facilitator import accounts, system
from settings import load_settings
from tests.app.conftest import CONSOLE_ACCOUNT, CONSOLE_PASSWORD, REPO, console_token, texts
from ui import auth, session_cookie, state
from ui.console_pages import CONSOLE, SIGN_IN

PAGES = [path for path, _, _ in CONSOLE]
SCENARIOS = ["signed out", "wrong password", "locked out", "session expired"]


def _engine():
    return system.open_database(load_settings())


def _expired_token() -> str:
    """A real token of the console account, issued longer ago than SESSION_HOURS."""
    console_token()  # the account exists
    settings = load_settings()
    engine = _engine()
    try:
        then = datetime.now(UTC) - timedelta(hours=settings.session_hours, minutes=1)
        outcome = accounts.sign_in(
            engine, settings, name=CONSOLE_ACCOUNT, password=CONSOLE_PASSWORD, client="earlier", now=then
        )
    finally:
        engine.dispose()
    assert outcome.ok and outcome.token
    return outcome.token


def _lock_out() -> None:
    """Enough wrong passwords on the console account, just now, from the app's own client (AppTest has no
    address: the local one), that the next attempt from it must wait."""
    console_token()
    settings, engine = load_settings(), _engine()
    try:
        for _ in range(accounts.FREE_FAILURES + 1):
            accounts.sign_in(
                engine, settings, name=CONSOLE_ACCOUNT, password="wrong guess", client=accounts.LOCAL_CLIENT
            )
    finally:
        engine.dispose()


def _sign_in_form(at: AppTest, name: str, password: str) -> AppTest:
    at.switch_page(SIGN_IN).run()
    by_label = {t.label: t for t in at.text_input}
    by_label["Account name"].input(name)
    by_label["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    return at


def _fresh_session_in(scenario: str, make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch) -> AppTest:
    """A new browser session in ``scenario``, through the real sign-in page where there is one."""
    console_token()  # the console is open: an account exists
    at = make_app().run()
    if scenario == "wrong password":
        _sign_in_form(at, CONSOLE_ACCOUNT, "not the password")
        assert "That name and password do not match." in texts(at)
    elif scenario == "locked out":
        _lock_out()
        _sign_in_form(at, CONSOLE_ACCOUNT, CONSOLE_PASSWORD)  # even the right password waits
        assert "Too many failed sign-ins: wait 2 seconds before trying again." in texts(at)
    elif scenario == "session expired":
        expired = _expired_token()
        app_env.setattr(session_cookie, "read", lambda: expired)  # a reload with the old cookie
        at.session_state[state.FACILITATOR_SESSION] = None
        at.run()
    return at


def _refused(at: AppTest) -> None:
    """The page shows the sign-in pointer and nothing of its own."""
    assert not at.exception
    assert [w.value for w in at.warning] == [auth.SIGN_IN_POINTER]
    links = at.get("page_link")
    assert len(links) == 1 and links[0].proto.page.endswith("facilitator_login")  # the sign-in page's path
    assert not at.dataframe and not at.get("download_button") and not at.get("table")
    assert not at.text_input and not at.text_area and not at.number_input and not at.main.get("selectbox")
    assert not at.main.button and not at.checkbox and not at.get("file_uploader") and not at.chat_input
    assert not at.sidebar.button  # no "Sign out": nobody is signed in


@pytest.fixture
def menus(app_env: pytest.MonkeyPatch) -> list[list[str]]:
    """The facilitator pages app.py listed in each run's ``st.navigation`` (its menu, and all a typed URL
    can reach), newest last."""
    seen: list[list[str]] = []
    real = st.navigation

    def recording(pages: Any, **kwargs: Any) -> Any:
        seen.append([str(Path(p._page).relative_to(REPO)) for p in pages["Facilitator"]])
        return real(pages, **kwargs)

    app_env.setattr(st, "navigation", recording)
    return seen


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_menu_offers_no_console_page(
    scenario: str, make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, menus: list[list[str]]
) -> None:
    at = _fresh_session_in(scenario, make_app, app_env)
    assert not at.exception and not at.sidebar.button
    assert menus and all(menu == [SIGN_IN] for menu in menus)  # no console page in any run
    at.switch_page(SIGN_IN).run()  # the pointer's target: the sign-in form
    assert not at.exception and [t.label for t in at.text_input] == ["Account name", "Password"]
    assert menus[-1] == [SIGN_IN]


def test_the_menu_recorder_sees_the_console_when_signed_in(
    console_app: Callable[[str], AppTest], menus: list[list[str]]
) -> None:
    at = console_app("pages/system.py")
    assert not at.exception and menus[-1] == [*PAGES, SIGN_IN]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_console_page_shows_nothing_once_the_sign_in_is_gone(
    scenario: str, page: str, console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    at = console_app(page)  # the page was open while signed in: it is registered in this session
    assert not at.exception and auth.SIGN_IN_POINTER not in texts(at)
    if scenario == "signed out":  # what the sidebar's "Sign out" does (test_sign_out_clears_the_cookie)
        at.session_state[state.FACILITATOR_SESSION] = ""
    elif scenario == "wrong password":  # signed out, then a wrong password for the account
        at.session_state[state.FACILITATOR_SESSION] = ""
        settings, engine = load_settings(), _engine()
        try:
            assert not accounts.sign_in(
                engine, settings, name=CONSOLE_ACCOUNT, password="nope", client="x"
            ).ok
        finally:
            engine.dispose()
    elif scenario == "locked out":
        _lock_out()
        at.session_state[state.FACILITATOR_SESSION] = ""
    else:
        at.session_state[state.FACILITATOR_SESSION] = _expired_token()
    at.run()
    _refused(at)


def test_a_forged_or_ended_token_is_refused(console_app: Callable[[str], AppTest]) -> None:
    at = console_app("pages/system.py")
    token = at.session_state[state.FACILITATOR_SESSION]
    body, signature = token.split(".")
    for bad in (f"{body}.{signature[::-1]}", f"{body[:-1]}A.{signature}", "garbage"):
        at.session_state[state.FACILITATOR_SESSION] = bad
        at.run()
        assert not at.exception and auth.SIGN_IN_POINTER in texts(at) and not at.dataframe
    at.session_state[state.FACILITATOR_SESSION] = token
    at.run()
    assert not at.exception and at.dataframe  # the real one still works
    engine = _engine()
    try:
        accounts.disable_account(engine, name=CONSOLE_ACCOUNT, actor="test")
    finally:
        engine.dispose()
    at.run()
    assert not at.exception and auth.SIGN_IN_POINTER in texts(at) and not at.dataframe


def test_the_console_is_closed_without_an_account_and_says_how_to_open_it(
    make_app: Callable[[], AppTest], menus: list[list[str]]
) -> None:
    at = make_app().run()
    at.switch_page(SIGN_IN).run()
    assert not at.exception
    assert "The console is closed: no facilitator account exists yet." in texts(at)
    assert [c.value for c in at.code] == ["python cli.py facilitator add NAME"]
    assert not at.text_input and not at.button  # nothing to try a password on
    assert all(menu == [SIGN_IN] for menu in menus)


def _cookie_scripts(at: AppTest) -> list[str]:
    """The cookie scripts app.py drew in the sidebar (AppTest shows app.py's own elements only in runs
    it did not start with ``at.switch_page``)."""
    return [h.proto.body for h in at.sidebar.get("html")]


def test_a_sign_in_survives_a_reload_and_a_second_tab_through_the_cookie(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, menus: list[list[str]]
) -> None:
    console_token()  # the account exists
    at = make_app().run()
    _sign_in_form(at, CONSOLE_ACCOUNT, CONSOLE_PASSWORD)
    assert not at.exception and [t.value for t in at.title] == ["Deliberations"]  # moved on to the console
    token = at.session_state[state.FACILITATOR_SESSION]
    assert menus[-1] == [*PAGES, SIGN_IN]
    (script,) = _cookie_scripts(at)  # the browser is told to keep the token
    assert f"{session_cookie.NAME}={token}; Path=/; Max-Age=" in script and "SameSite=Strict" in script
    max_age = int(script.split("Max-Age=")[1].split(";")[0])
    assert 0.99 * 12 * 3600 < max_age <= 12 * 3600

    app_env.setattr(session_cookie, "read", lambda: token)  # a reload or a second tab sends the cookie
    again = make_app().run()
    assert not again.exception and menus[-1] == [*PAGES, SIGN_IN]
    assert not _cookie_scripts(again)  # that browser holds the token already
    assert [b.label for b in again.sidebar.button] == ["Sign out"]

    again.sidebar.button[0].click().run()  # sign out
    assert not again.exception and again.session_state[state.FACILITATOR_SESSION] == ""
    # AppTest runs a clicked page without app.py (ui/router.py); a session in that state through app.py:
    after = make_app()
    after.session_state[state.FACILITATOR_SESSION] = ""  # signed out here, the old cookie still sent
    after.run()
    assert not after.exception and menus[-1] == [SIGN_IN] and not after.sidebar.button
    (cleared,) = _cookie_scripts(after)  # the browser is told to drop the cookie
    assert f"{session_cookie.NAME}=; Path=/; Max-Age=0; SameSite=Strict" in cleared and token not in cleared


def test_an_expired_or_foreign_cookie_signs_nobody_in(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, menus: list[list[str]]
) -> None:
    expired = _expired_token()
    for cookie in (expired, "eyJuIjoiZmFjaWxpdGF0b3IifQ.c2lnbmF0dXJl", None):
        app_env.setattr(session_cookie, "read", lambda cookie=cookie: cookie)
        at = make_app().run()
        assert not at.exception and menus[-1] == [SIGN_IN] and not at.sidebar.button


def test_the_cookie_script_never_carries_anything_but_a_token() -> None:
    assert session_cookie.script('x"; alert(1); "') == session_cookie.script(None)
    assert "Max-Age=0" in session_cookie.script(None)


def test_openid_connect_is_offered_only_where_configured(
    make_app: Callable[[], AppTest],
) -> None:
    console_token()
    at = make_app().run()
    at.switch_page(SIGN_IN).run()
    assert not at.exception and not [b for b in at.button if "Sign in with" in b.label]
    configured = make_app()
    configured.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "studio",
        "client_secret": "s",
        "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
    }
    configured.run()
    configured.switch_page(SIGN_IN).run()
    assert not configured.exception
    labels = [b.label for b in configured.button]
    assert "Sign in with your organisation's account" in labels and "Sign in" in labels


def test_a_self_refreshing_fragment_reruns_the_page_once_the_sign_in_is_gone(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    """What ``auth.guard_fragment`` (first in every ``run_every`` fragment: the monitor's, the jobs') does
    when a refresh comes after the session ended: a full rerun, which the page's require_facilitator stops.
    AppTest cannot fire a fragment's timer, so the helper is driven directly inside a signed-in app."""
    at = console_app("pages/monitor.py")
    assert not at.exception and auth.SIGN_IN_POINTER not in texts(at)
    token = at.session_state[state.FACILITATOR_SESSION]
    app_env.setattr(state, "facilitator_session", lambda: token)
    reruns: list[str] = []

    def rerun(*, scope: str = "app") -> None:
        reruns.append(scope)
        raise RuntimeError("rerun")

    app_env.setattr(st, "rerun", rerun)
    assert auth.guard_fragment().name == CONSOLE_ACCOUNT and reruns == []  # still signed in: goes on
    engine = _engine()
    try:
        accounts.sign_out_everywhere(engine, name=CONSOLE_ACCOUNT, actor="test")
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match="rerun"):
        auth.guard_fragment()
    assert reruns == ["app"]  # the whole page, not the fragment alone
    source = (REPO / "pages" / "monitor.py").read_text()
    body = source.split("def live_view(deliberation_id: int) -> None:\n", 1)[1]
    assert body.lstrip().startswith("auth.guard_fragment()")


def test_the_sign_in_page_prefills_nothing_and_warns_of_the_shortcut_beside_accounts(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("FACILITATOR_PASSWORD", "laptop password")
    at = make_app().run()
    at.switch_page(SIGN_IN).run()
    assert not at.exception and [t.value for t in at.text_input] == ["", ""]
    assert "FACILITATOR_PASSWORD is still set" not in texts(at)  # the shortcut alone: a laptop
    console_token()  # a named account now exists
    at.run()
    assert not at.exception and "FACILITATOR_PASSWORD is still set although named accounts exist" in texts(at)


def test_an_openid_login_is_logged_and_gets_an_expiring_session(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, menus: list[list[str]]
) -> None:
    console_token("ana@example.org")
    claims: dict[str, object] = {"email": "Ana@example.org", "email_verified": True}
    app_env.setattr(auth, "openid_configured", lambda: True)
    app_env.setattr(auth, "_user_logged_in", lambda: True)
    app_env.setattr(auth, "_user_claims", lambda: dict(claims))
    claims["iat"] = datetime.now(UTC).timestamp() - 5  # just back from the provider
    at = make_app().run()
    assert not at.exception and menus[-1] == [*PAGES, SIGN_IN]
    token = at.session_state[state.FACILITATOR_SESSION]
    settings, engine = load_settings(), _engine()
    try:
        assert accounts.verify_session(engine, settings, token) == "ana@example.org"
        logged = [(a.account_name, a.ok) for a in accounts.recent_attempts(engine, limit=1)]
        assert logged == [("ana@example.org", True)]
        later = datetime.now(UTC) + timedelta(hours=settings.session_hours)
        assert accounts.verify_session(engine, settings, token, now=later) is None  # SESSION_HOURS holds
        accounts.sign_out_everywhere(engine, name="ana@example.org", actor="test")
    finally:
        engine.dispose()
    same = make_app()  # this session again (app.py runs only in a fresh AppTest): its token has ended
    same.session_state[state.FACILITATOR_SESSION] = token
    same.run()  # the provider's login does not quietly sign it in again
    assert not same.exception and menus[-1] == [SIGN_IN]
    claims["iat"] = datetime.now(UTC).timestamp() - 3600  # a reload an hour after the provider login
    again = make_app().run()
    assert not again.exception and menus[-1] == [SIGN_IN]
    again.switch_page(SIGN_IN).run()
    assert "has ended" in texts(again) and "Log out of the provider" in [b.label for b in again.button]
    claims["email_verified"], claims["iat"] = False, datetime.now(UTC).timestamp()
    unverified = make_app().run()
    assert not unverified.exception and menus[-1] == [SIGN_IN]
