"""Facilitator sign-in: a named account (or the FACILITATOR_PASSWORD shortcut), or OpenID Connect where
one is configured. The console's pages appear in the menu once signed in."""

import streamlit as st

from ui import auth, components
from ui.router import through_router

through_router()

if auth.current() is not None:  # signed in: the router lists the console's pages from this run on
    st.switch_page("pages/deliberations.py")

st.title("Facilitator sign-in")
st.caption("Facilitators set up deliberations, invite participants and review the moral graph.")

with components.stop_on_error("Reading the facilitator accounts", detail=True):
    access = auth.console_access()
openid = auth.openid_configured()

if not access.open and not openid:
    st.warning(
        "The console is closed: no facilitator account exists yet. Create one on the machine that runs "
        "the app (it asks for the password twice), then sign in here with its name:",
        icon=":material/lock:",
    )
    st.code("python cli.py facilitator add NAME", language="bash")
    st.caption(
        "For one person on a laptop, setting FACILITATOR_PASSWORD also opens the console "
        "(sign in with the name facilitator)."
    )
    st.stop()

if access.shortcut and access.accounts:
    st.warning(
        "FACILITATOR_PASSWORD is still set although named accounts exist: anyone who knows it signs in as "
        "the shared, unattributed account facilitator. Unset it once everyone has an account of their own.",
        icon=":material/group:",
    )

if openid:
    email = auth.openid_email()
    if email is not None and auth.openid_names_an_account():  # a provider login whose session ended
        st.warning(
            f"Your console session as {components.plain(email)} has ended (it lasts SESSION_HOURS, or was "
            "ended). Log out of the provider and sign in with it again to start a new one.",
            icon=":material/timer_off:",
        )
        st.button("Log out of the provider", on_click=st.logout)
    elif email is not None:  # logged in with the provider, but as nobody the console knows
        st.warning(
            f"You are logged in with your provider as {components.plain(email)}, but no enabled "
            "facilitator account has that verified e-mail. An administrator can add it with "
            "python cli.py facilitator add EMAIL.",
            icon=":material/person_off:",
        )
        st.button("Log out of the provider", on_click=st.logout)
    else:
        for provider in auth.openid_providers():
            label = f"Sign in with {provider}" if provider else "Sign in with your organisation's account"
            st.button(label, on_click=st.login, args=(provider,) if provider else (), icon=":material/key:")

if access.open:
    with st.form("facilitator_sign_in"):
        name = st.text_input("Account name", max_chars=100)
        password = st.text_input("Password", type="password", max_chars=1000)
        if st.form_submit_button("Sign in", type="primary"):
            if not name.strip():
                st.error("Type your account name.")
            else:
                with components.stop_on_error("Signing in", detail=True):
                    outcome = auth.sign_in(name, password)
                if outcome.ok:
                    st.rerun()  # this run's menu predates the sign-in: the next run moves on
                st.error(components.plain(outcome.message), icon=":material/lock_clock:")
