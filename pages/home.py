"""Landing page: what the app is, and nothing else (the system's details are the console's, pages/system.py).

Anonymous visitors read it: it shows no database path, endpoint or counts, and nothing on it calls a model.
"""

import streamlit as st

from ui.router import through_router

through_router()

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
