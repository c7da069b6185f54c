"""Make every page run through the router (app.py), even on a fresh server's first deep link."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from ui import state


def through_router() -> None:
    """Call first in every page script.

    Until ``st.navigation`` has run once in a server process, Streamlit treats a ``pages/`` folder beside
    the entry script as a v1 multipage app: the first session that opens a deep link (``/join?invite=...``)
    runs that page script directly, without app.py (no ``state.init``, no menu rules, no banner). Switch
    that off and, when app.py never ran in this session, run again: the rerun goes through app.py with
    the same page and query string. (AppTest resets the switch before every run; its sessions have run
    app.py, so it never reruns there.)
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if state.FACILITATOR_UNLOCKED not in st.session_state:
            st.rerun()
