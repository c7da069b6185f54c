"""Who is signed in to the facilitator console.

Every facilitator page calls :func:`require_facilitator` right after ``through_router()`` and passes the
returned name as ``actor=`` to every service that changes something.

A facilitator is signed in by a session token (:mod:`services.facilitator.accounts`): the one this
session signed in with (``ui.state``), else the one in the browser's cookie (:mod:`ui.session_cookie`: a
reload, a second tab). Where ``st.secrets`` has an ``[auth]`` section, a user logged in with
``st.login`` whose e-mail names an enabled account is signed in as that account too.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    if mine != "" and openid_configured() and _user_logged_in():
        name = accounts.openid_account(engine, claims=_user_claims())
        if name is not None:
            return Facilitator(name=name)
    return None


def require_facilitator() -> Facilitator:
    """The signed-in facilitator; anyone else sees a pointer to the sign-in page and nothing more."""
    who = current()
    if who is None:
        st.warning(SIGN_IN_POINTER)
        st.page_link(SIGN_IN_PAGE, label="Facilitator sign-in")
        st.stop()
    return who


def client() -> str:
    """Who is signing in, for the per-client rate limit (:func:`accounts.client_key`)."""
    try:
        ip, sent = st.context.ip_address, dict(st.context.headers)
    except Exception:  # no browser session
        ip, sent = None, {}
    headers = {k: v for k, v in sent.items() if isinstance(k, str) and isinstance(v, str)}
    return accounts.client_key(ip if isinstance(ip, str) else None, headers)


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
