"""Make every page run through the router (app.py), even on a fresh server's first deep link."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from ui import state

SIDEBAR_NAVIGATION = "client.showSidebarNavigation"


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
        if state.FACILITATOR_SESSION not in st.session_state:  # state.init() never ran here
            st.rerun()


def menu_in_sidebar() -> None:
    """Call in app.py right before ``st.navigation``: let its menu show in the sidebar.

    .streamlit/config.toml turns ``client.showSidebarNavigation`` off, because on a fresh server's first
    load Streamlit runs in its old multipage mode and lists the raw files of ``pages/`` in the sidebar
    until app.py's ``st.navigation`` replaces them (about 2 s). With the option off that list is hidden;
    but ``st.navigation`` hides its own sidebar menu too while the option is off, so it is turned on here,
    for the process, once the old mode is over (``st.navigation`` ends it in this same run).
    """
    if st.get_option(SIDEBAR_NAVIGATION) is False:
        st.set_option(SIDEBAR_NAVIGATION, True)
