"""Landing page: what the app is, and what it is running on."""

import time

import streamlit as st

from errors import StudioError, one_line
from services.facilitator import system
from services.runtime import model_clients
from ui import components, resources, state
from ui.router import through_router

through_router()

settings = resources.settings()

st.title("Moral Graph Studio")
st.markdown(
    "A tool for **democratic value elicitation**. Participants talk with an AI interviewer about a hard "
    "question an assistant might get, and the conversation distils one value they hold into a "
    "*values card*. They then judge short stories of someone moving from one value to another: "
    "*did this person become wiser?* Those judgements form a **moral graph**: values as nodes, "
    '"wiser than, in this context" as edges, ranked per context, which researchers export as '
    "alignment targets and constitutions."
)
st.caption(
    "Method: Klingefjord, Lowe & Edelman (2024), *What are human values, and how do we align AI to them?* "
    "If you received an invite link, open it to take part."
)

st.header("Running on")
with components.stop_on_error("Reading the database"):
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
