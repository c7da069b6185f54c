"""Moral Graph Studio: the Streamlit router. Run with `scripts/run-app.sh`."""

import streamlit as st

from services.errors import USER_ERRORS
from ui import components, resources, state

st.set_page_config(page_title="Moral Graph Studio", page_icon=":material/hub:", layout="centered")
state.init()

try:
    settings = resources.settings()
    resources.engine()
except USER_ERRORS as exc:
    components.error_box(exc, action="Starting the app")
    st.stop()

components.model_banner(settings)

participant = [st.Page("pages/home.py", title="Welcome", icon=":material/home:", default=True)]
if state.facilitator_allowed(settings):
    facilitator = [st.Page("pages/deliberations.py", title="Deliberations", icon=":material/groups:")]
else:  # role-based menu: the facilitator pages are not even listed (nor reachable by URL) before sign-in
    facilitator = [st.Page("pages/facilitator_login.py", title="Facilitator sign-in", icon=":material/lock:")]

st.navigation({"Participant": participant, "Facilitator": facilitator}).run()
