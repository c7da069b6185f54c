"""System (console): what the app runs on, the model check, the facilitator accounts, the sign-in log and
the console's own log (deleted deliberations, account changes: events of no deliberation)."""

import time

import streamlit as st

from errors import StudioError, one_line
from services.facilitator import accounts, moderation, system
from services.runtime import model_clients
from ui import auth, components, moderation_forms, resources, state
from ui.router import through_router

through_router()
who = auth.require_facilitator()

settings = resources.settings()
st.title("System")

st.header("Running on")
with components.stop_on_error("Reading the database", detail=True):
    info = system.describe(settings, resources.engine(), local_endpoint=model_clients.local_endpoint())
col_model, col_db = st.columns(2)
with col_model:
    st.markdown("**Language model**")
    st.text(f"{info.model_name}\n{info.model_endpoint}\nembeddings: {info.embedding}")
with col_db:
    st.markdown("**Database**")
    st.text(f"{info.database}\n{info.database_backend}, schema {info.schema_revision}")
st.caption(
    f"{components.counted(info.deliberations, 'deliberation')}, "
    f"{components.counted(info.model_calls, 'model call')} recorded."
)

check = st.button("Check the model connection", icon=":material/network_check:")
starting = model_clients.starting_line() if check and model_clients.local_model_starting() else None
if starting:  # the offline model starts in the background (app.py): say how far, never wait for it here
    st.session_state[state.MODEL_CHECK] = None
    st.info(
        f"Not ready yet: {starting}. Check again in a moment; a participant who writes now waits for it.",
        icon=":material/hourglass_top:",
    )
elif check:
    started = time.perf_counter()
    try:
        with st.spinner("Asking the model for a one-word reply..."):
            reply = system.check_model(resources.chat_model())
        st.session_state[state.MODEL_CHECK] = (
            f"The model answered in {time.perf_counter() - started:.1f} s: {reply[:80]!r}"
        )
    except StudioError as exc:
        st.session_state[state.MODEL_CHECK] = None
        components.error_box(exc, action="The model check", detail=True)  # the facilitator's tool
    except Exception as exc:  # an unexpected fault still becomes one plain line
        st.session_state[state.MODEL_CHECK] = None
        st.error(f"The model check failed: {components.plain(one_line(exc))}")
if st.session_state[state.MODEL_CHECK]:
    st.success(components.plain(st.session_state[state.MODEL_CHECK]), icon=":material/check_circle:")

st.header("Facilitator accounts")
st.caption(
    f"Signed in as {components.plain(who.name)}. Accounts are managed on the command line: "
    "python cli.py facilitator add NAME, list, password NAME, disable NAME, enable NAME."
)
with components.stop_on_error("Reading the accounts", detail=True):
    every = accounts.list_accounts(resources.engine())
    attempts = accounts.recent_attempts(resources.engine(), limit=100)
if every:
    rows = [
        {
            "name": a.name,
            "password": "yes" if a.has_password else "no (OpenID Connect only)",
            "status": "disabled" if a.disabled_at else "enabled",
            "created": a.created_at,
            "last sign-in": a.last_signin_at,
        }
        for a in every
    ]
    st.dataframe(rows, hide_index=True)
else:
    st.info("No named accounts yet: the console opens with FACILITATOR_PASSWORD (or OpenID Connect).")
if settings.facilitator_password:
    st.caption("FACILITATOR_PASSWORD is set: the name facilitator signs in with it.")

if any(a.name == who.name for a in every):
    if st.button("Sign out everywhere", icon=":material/logout:", help="Ends this account's every session."):
        with components.stop_on_error("Signing out everywhere", detail=True):
            accounts.sign_out_everywhere(resources.engine(), name=who.name, actor=who.name)
        auth.sign_out()
        st.rerun()

st.header("Recent sign-ins")
if attempts:
    log = [
        {"when": a.created_at, "account": a.account_name, "client": a.client, "ok": a.ok, "reason": a.reason}
        for a in attempts
    ]
    st.dataframe(log, hide_index=True)
else:
    st.info("No sign-in attempts yet.")

st.header("Console log")
st.caption(
    "What was done to the console itself: deliberations deleted, accounts added or changed. Newest first."
)
with components.stop_on_error("Loading the console log", detail=True):
    events = moderation.log(resources.engine(), deliberation_id=None)
    csv_text = moderation.log_csv(resources.engine(), deliberation_id=None)
st.download_button(
    "Download the console log as CSV",
    csv_text,
    file_name="console-log.csv",
    mime="text/csv",
    key="system-csv",
)
if events:
    st.dataframe(moderation_forms.log_rows(events), hide_index=True, width="stretch")
else:
    st.info("Nothing logged yet.")
