"""Who is signed in to the facilitator console.

Every facilitator page calls :func:`require_facilitator` right after ``through_router()`` and passes the
returned name as ``actor=`` to every service that changes something.

A facilitator is signed in by a session token (:mod:`services.facilitator.accounts`): the one this
session signed in with (``ui.state``), else the one in the browser's cookie (:mod:`ui.session_cookie`: a
reload, a second tab). Where ``st.secrets`` has an ``[auth]`` section, a user just logged in with
``st.login`` whose verified e-mail names an enabled account is given such a token too (logged as a
sign-in), so ``SESSION_HOURS`` and "sign out everywhere" hold for them as for a password.

A fragment that refreshes itself (``st.fragment(run_every=...)``) runs without the page's own
:func:`require_facilitator`: it calls :func:`guard_fragment` first, which ends it once the sign-in is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from services.facilitator import accounts
from ui import resources, session_cookie, state

#: The console's sign-in page (every refusal points to it).
SIGN_IN_PAGE = "pages/facilitator_login.py"
SIGN_IN_POINTER = "Sign in as a facilitator to use this page."


@dataclass(frozen=True)
class Facilitator:
    """The signed-in facilitator: ``name`` is what every action is attributed to."""

    name: str


def current() -> Facilitator | None:
    """The signed-in facilitator of this browser session, or None."""
    engine, settings = resources.engine(), resources.settings()
    mine = state.facilitator_session()
    tokens: list[str | None] = [mine] if mine is not None else []
    if mine is None:  # not decided in this session: the browser's cookie (a reload, a second tab)
        tokens.append(session_cookie.read())
    for token in tokens:
        name = accounts.verify_session(engine, settings, token)
        if name is not None:
            return Facilitator(name=name)
    if mine is None and openid_configured() and _user_logged_in():  # first seen in this session
        outcome = accounts.openid_sign_in(engine, settings, claims=_user_claims(), client=client())
        if outcome.ok and outcome.token and outcome.name:
            state.keep_facilitator_session(outcome.token)
            return Facilitator(name=outcome.name)
    return None


def guard_fragment() -> Facilitator:
    """Call first in a fragment that runs by itself (``run_every``): the signed-in facilitator, or, once
    the sign-in is gone (expired, signed out, ended everywhere), a full rerun of the page, whose
    :func:`require_facilitator` then shows only the pointer to the sign-in page."""
    who = current()
    if who is None:
        _rerun_page()
    return who


def _rerun_page() -> NoReturn:
    st.rerun(scope="app")


def require_facilitator() -> Facilitator:
    """The signed-in facilitator; anyone else sees a pointer to the sign-in page and nothing more."""
    who = current()
    if who is None:
        st.warning(SIGN_IN_POINTER)
        st.page_link(SIGN_IN_PAGE, label="Facilitator sign-in")
        st.stop()
    return who


def client() -> str:
    """Who is signing in, for the per-client rate limit (:func:`accounts.client_key`): the connection's
    address, or behind ``TRUSTED_PROXY`` the last hop of the last ``X-Forwarded-For`` line."""
    try:
        ip, headers = st.context.ip_address, st.context.headers
        get_all = getattr(headers, "get_all", None)
        if callable(get_all):  # every line of a repeated header, in order
            lines = list(get_all("X-Forwarded-For"))
        else:
            lines = [v for k, v in headers.items() if k.lower() == "x-forwarded-for"]
    except Exception:  # no browser session
        ip, lines = None, []
    forwarded = [line for line in lines if isinstance(line, str)]
    trusted = resources.settings().trusted_proxy
    return accounts.client_key(ip if isinstance(ip, str) else None, forwarded, trusted_proxy=trusted)


def sign_in(name: str, password: str) -> accounts.SignInOutcome:
    """Check a name and password; on success this session is signed in (and the browser's cookie is set
    on the next run, :func:`ui.session_cookie.sync`)."""
    outcome = accounts.sign_in(
        resources.engine(), resources.settings(), name=name, password=password, client=client()
    )
    if outcome.ok and outcome.token:
        state.keep_facilitator_session(outcome.token)
    return outcome


def sign_out() -> None:
    """Sign this browser out: the session's token and the cookie go (the cookie on the next run), and an
    OpenID Connect login too."""
    state.end_facilitator_session()
    if openid_configured() and _user_logged_in():
        st.logout()


def openid_configured() -> bool:
    """Whether ``st.secrets`` has an ``[auth]`` section (then ``st.login`` is offered)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def openid_providers() -> list[str | None]:
    """The providers to offer: None for the ``[auth]`` section's own, plus each named sub-section."""
    try:
        section = st.secrets["auth"]
        named = [key for key in section if hasattr(section[key], "keys")]
        default = "client_id" in section
    except Exception:
        return []
    return ([None] if default or not named else []) + sorted(named)


def openid_email() -> str | None:
    """The e-mail of the user logged in with ``st.login``, or None."""
    return _user_email() if openid_configured() and _user_logged_in() else None


def openid_names_an_account() -> bool:
    """Whether the user logged in with ``st.login`` names an enabled account (by a verified e-mail)."""
    if not (openid_configured() and _user_logged_in()):
        return False
    return accounts.openid_account(resources.engine(), claims=_user_claims()) is not None


def _user_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def _user_claims() -> dict[str, object]:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def _user_email() -> str | None:
    email = _user_claims().get("email")
    return email if isinstance(email, str) else None


def console_access() -> accounts.ConsoleAccess:
    """How the console can be opened (usable accounts, the FACILITATOR_PASSWORD shortcut)."""
    return accounts.console_access(resources.engine(), resources.settings())
