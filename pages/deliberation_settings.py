"""Facilitator: every setting of the chosen deliberation (texts, questions and their contexts, the
participant's steps, graph thresholds, pipeline caps, demographics and survey), each form saved on its own.
"""

import streamlit as st

from interviews.vocabulary import DeliberationStatus
from ui import auth, components, console, deliberation_form, question_form
from ui.router import through_router

through_router()
who = auth.require_facilitator()

st.title("Settings")
deliberation_form.show_notice()
d = console.chosen_deliberation()
if d is None:
    st.stop()

st.subheader(components.plain(d.title))
st.caption(
    f"Deliberation {d.id} is {d.status}: {components.counted(d.participant_count, 'participant')} "
    f"(consented) of {components.counted(d.visitors, 'visitor')}. Open it, close it or archive it on the "
    "Deliberations page."
)
if d.status == DeliberationStatus.OPEN and d.participant_count:
    st.info(
        "People are taking part: a change applies to what they do next (answers already given stay as they "
        "were). A question stays once someone has answered it; its text can still be corrected."
    )

texts, questions, steps, lists, everything = st.tabs(
    ["Texts", "Questions and contexts", "Numbers", "Demographics and survey", "All as JSON"]
)
with texts:
    deliberation_form.texts_form(d, who)
with questions:
    question_form.questions(d, who)
with steps:
    deliberation_form.numbers_form(d, who)
with lists:
    deliberation_form.lists_form(d, who)
with everything:
    st.caption("Every setting at once, as `--config` takes it (the README lists each with its bounds).")
    deliberation_form.json_form(d, who)
