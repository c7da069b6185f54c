"""Moral Graph Studio: the Streamlit router. Run with `scripts/run-app.sh`."""

from pathlib import Path

import streamlit as st

from errors import StudioError
from ui import auth, components, resources, router, state

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

components.model_banner(settings)

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
#: The facilitator console, in the order of the work (each page also calls ui.auth.require_facilitator).
CONSOLE = [
    ("pages/deliberations.py", "Deliberations", ":material/groups:"),
    ("pages/deliberation_settings.py", "Settings", ":material/tune:"),
    ("pages/invites.py", "Invites", ":material/mail:"),
    ("pages/monitor.py", "Monitor", ":material/monitoring:"),
    ("pages/moderate.py", "Moderate", ":material/shield:"),
    ("pages/dedup_review.py", "Dedup review", ":material/merge:"),
    ("pages/jobs.py", "Jobs", ":material/play_circle:"),
    ("pages/import_study.py", "Import", ":material/upload_file:"),
    ("pages/system.py", "System", ":material/settings:"),
]
if auth.current() is not None:
    facilitator = [st.Page(path, title=title, icon=icon) for path, title, icon in CONSOLE]
    # The sign-in page stays reachable (hidden): its rerun after signing in lands here, then moves on.
    facilitator.append(st.Page("pages/facilitator_login.py", title="Facilitator sign-in", visibility="hidden"))
else:  # role-based menu: the console pages are not even listed (nor reachable by URL) before sign-in
    facilitator = [st.Page("pages/facilitator_login.py", title="Facilitator sign-in", icon=":material/lock:")]

# A participant (their link carries a token or an invite) sees their own flow and no menu at all.
on_a_link = any(state.query(name) for name in (state.TOKEN, state.INVITE, state.JOIN_CODE))
router.menu_in_sidebar()  # the raw page files were hidden on the first load (ui/router.py)
st.navigation(
    {"Participant": participant, "Facilitator": facilitator}, position="hidden" if on_a_link else "sidebar"
).run()
