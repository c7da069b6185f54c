"""Facilitator sign-in: the facilitator pages appear in the menu once the password is given."""

import hmac

import streamlit as st

from ui import resources, state

settings = resources.settings()

st.title("Facilitator sign-in")
st.caption("Facilitators set up deliberations, invite participants and review the moral graph.")
with st.form("facilitator_login"):
    password = st.text_input("Facilitator password", type="password")
    if st.form_submit_button("Unlock"):
        expected = (settings.facilitator_password or "").encode()
        if hmac.compare_digest(password.encode(), expected):
            state.unlock_facilitator()
            st.switch_page("pages/deliberations.py")
        st.error("That password is not right.")
