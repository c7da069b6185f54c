"""Facilitator sign-in: the facilitator pages appear in the menu once the password is given."""

import hmac

import streamlit as st

from ui import resources, state
from ui.router import through_router

through_router()

settings = resources.settings()
if state.facilitator_allowed(settings):  # signed in: the router lists the facilitator pages from this run on
    st.switch_page("pages/deliberations.py")

st.title("Facilitator sign-in")
st.caption("Facilitators set up deliberations, invite participants and review the moral graph.")
with st.form("facilitator_login"):
    password = st.text_input("Facilitator password", type="password")
    if st.form_submit_button("Unlock"):
        expected = (settings.facilitator_password or "").encode()
        if hmac.compare_digest(password.encode(), expected):
            state.unlock_facilitator()
            st.rerun()  # this run's menu predates the unlock: the next run switches pages
        st.error("That password is not right.")
