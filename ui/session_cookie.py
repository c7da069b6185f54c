"""The facilitator's session cookie: how a sign-in survives a reload and reaches a second tab.

Streamlit gives a script the cookies its browser sent when the session connected (``st.context.cookies``),
and no way to set one from the server. So the cookie is set in the browser by a tiny same-origin script
(``st.html`` with JavaScript allowed: not an iframe, no CDN) that :func:`sync` draws in the sidebar while
this session's token (``ui.state``) differs from the cookie it connected with, and that clears the cookie
after a sign-out here. The cookie is ``SameSite=Strict``, ``Path=/``, lives as long as the token
(``Max-Age``) and is ``Secure`` on https; the server checks the token's signature and expiry on every run
(:func:`services.facilitator.accounts.verify_session`), so a copied or edited cookie is worth nothing
after its expiry or a "sign out everywhere".
"""

from __future__ import annotations

import json
import re

import streamlit as st

from services.facilitator import accounts
from ui import state

NAME = "mgs_facilitator"
#: What a token looks like (base64url payload and signature): anything else is never put in a script.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,1500}\.[A-Za-z0-9_-]{1,100}")


def read() -> str | None:
    """The token in the cookie this session connected with, or None."""
    try:
        value = st.context.cookies.get(NAME)
    except Exception:  # no browser session (a bare script run): no cookie
        return None
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def script(token: str | None) -> str:
    """The script that stores ``token`` in the cookie, or clears it when ``token`` is None."""
    if token is not None and _TOKEN.fullmatch(token):
        max_age = int(accounts.session_seconds_left(token))
        value = token
    else:
        max_age, value = 0, ""
    cookie = json.dumps(f"{NAME}={value}; Path=/; Max-Age={max_age}; SameSite=Strict")
    return (
        "<script>document.cookie = "
        f"{cookie} + (window.location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def sync() -> None:
    """Call once per run (app.py): make the browser's cookie match this session's sign-in."""
    token = state.facilitator_session()
    if token is None or (token and token == read()):
        return  # nothing decided here, or the browser already holds this token
    with st.sidebar:
        st.html(script(token or None), unsafe_allow_javascript=True, width=1)
