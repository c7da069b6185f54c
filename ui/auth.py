"""Who is signed in to the facilitator console (PROVISIONAL: the accounts helper replaces the inside).

Every facilitator page calls :func:`require_facilitator` right after ``through_router()`` and passes the
returned name as ``actor=`` to every service that changes something.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import resources, state


@dataclass(frozen=True)
class Facilitator:
    """The signed-in facilitator: ``name`` is what every action is attributed to."""

    name: str


def current() -> Facilitator | None:
    """The signed-in facilitator of this browser session, or None."""
    settings = resources.settings()
    if state.facilitator_allowed(settings):
        return Facilitator(name="facilitator")
    return None


def require_facilitator() -> Facilitator:
    """The signed-in facilitator; anyone else sees a pointer to the sign-in page and nothing more."""
    who = current()
    if who is None:
        st.warning("Sign in as a facilitator to use this page.")
        st.page_link("pages/facilitator_login.py", label="Facilitator sign-in")
        st.stop()
    return who
