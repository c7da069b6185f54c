"""The only module that names ``st.session_state`` keys.

Session state holds only what may be lost on reload (a facilitator's unlock, a form's last result);
anything a participant would miss lives in the database and the URL.
"""

from __future__ import annotations

import streamlit as st

from settings import Settings

FACILITATOR_UNLOCKED = "facilitator_unlocked"
LAST_INVITE_LINKS = "last_invite_links"
MODEL_CHECK = "model_check"
EDITING_CARD = "editing_card"  # the interview page's "edit it myself" form is open
LAST_ERROR = "participant_last_error"  # a model failure to show beside a retry button

# Query parameters: what a participant's URL carries (the only state that survives a reload).
TOKEN = "token"
INVITE = "invite"
JOIN_CODE = "code"
PANEL_ID = "pid"
INTERVIEW = "interview"


def init() -> None:
    """Give every key its default once per session (``setdefault``, never overwrite)."""
    st.session_state.setdefault(FACILITATOR_UNLOCKED, False)
    st.session_state.setdefault(LAST_INVITE_LINKS, [])
    st.session_state.setdefault(MODEL_CHECK, None)
    st.session_state.setdefault(EDITING_CARD, False)
    st.session_state.setdefault(LAST_ERROR, None)


def query(name: str) -> str | None:
    """One query parameter of the URL, stripped; ``None`` when absent or blank."""
    value = st.query_params.get(name)
    return value.strip() or None if isinstance(value, str) else None


def facilitator_unlocked() -> bool:
    return bool(st.session_state.get(FACILITATOR_UNLOCKED, False))


def unlock_facilitator() -> None:
    st.session_state[FACILITATOR_UNLOCKED] = True


def facilitator_allowed(settings: Settings) -> bool:
    """Facilitator pages are open when no FACILITATOR_PASSWORD is set, or once it was given."""
    return not settings.facilitator_password or facilitator_unlocked()
