"""Moral Graph Studio: the Streamlit router. Run with `scripts/run-app.sh`."""

from pathlib import Path

import streamlit as st

from errors import StudioError
from ui import auth, components, resources, router, session_cookie, state
from ui.console_pages import CONSOLE, SIGN_IN

# The icon ships with the app (a material icon or an emoji would be fetched from a CDN, which fails offline).
ICON = Path(__file__).resolve().parent / "ui" / "assets" / "icon.png"
st.set_page_config(page_title="Moral Graph Studio", page_icon=str(ICON), layout="centered")
state.init()

try:
    settings = resources.settings()
    resources.engine()
    resources.model_warmup()  # the offline model starts in the background, once per process
except StudioError as exc:
    components.error_box(exc, action="Starting the app")
    st.stop()

components.model_banner(settings, operator=auth.current() is not None)

# The participant's steps are reached through their personal link, never from a menu.
steps = [
    ("pages/join.py", "Join"),
    ("pages/interview.py", "Interview"),
    ("pages/vote.py", "Vote"),
    ("pages/judge.py", "Judge"),
    ("pages/finish.py", "Finish"),
]
participant = [st.Page("pages/home.py", title="Welcome", icon=":material/home:", default=True)]
participant += [st.Page(path, title=title, visibility="hidden") for path, title in steps]
try:
    who = auth.current()
except StudioError as exc:
    components.error_box(exc, action="Reading the facilitator's sign-in")
    st.stop()
if who is not None:
    facilitator = [st.Page(path, title=title, icon=icon) for path, title, icon in CONSOLE]
    # The sign-in page stays reachable (hidden): its rerun after signing in lands here, then moves on.
    facilitator.append(st.Page(SIGN_IN, title="Facilitator sign-in", visibility="hidden"))
else:  # role-based menu: the console pages are not even listed (nor reachable by URL) before sign-in
    facilitator = [st.Page(SIGN_IN, title="Facilitator sign-in", icon=":material/lock:")]

# A participant (their link carries a token or an invite) sees their own flow and no menu at all.
on_a_link = any(state.query(name) for name in (state.TOKEN, state.INVITE, state.JOIN_CODE))
router.menu_in_sidebar()  # the raw page files were hidden on the first load (ui/router.py)
if not on_a_link:
    session_cookie.sync()  # the browser's cookie follows this session's sign-in (a reload, a second tab)
    if who is not None:
        st.sidebar.caption(f"Signed in as {components.plain(who.name)}")
        st.sidebar.button(
            "Sign out", icon=":material/logout:", key="facilitator_sign_out", on_click=auth.sign_out
        )
st.navigation(
    {"Participant": participant, "Facilitator": facilitator}, position="hidden" if on_a_link else "sidebar"
).run()
