"""Participant: choose the values of other participants that seem wise (DOMAIN.md §3 step 5)."""

import streamlit as st

from interviews.vocabulary import ParticipantStage
from services.participant import interviewing, voting
from ui import components, participant, resources
from ui.router import through_router

through_router()

engine = resources.engine()
person = participant.home()
token = person.participant.token
participant.stay_on("pages/vote.py", person)

with components.stop_on_error():
    interview = interviewing.current_interview(engine, token=token)
    if interview is None:
        participant.go(ParticipantStage.JOINED, token)
    draw = voting.draw_values(
        engine, token=token, question_id=interview.question_id, embeddings=resources.embeddings()
    )

components.progress(person.participant.stage)
st.title("Which of these values are wise?")
st.markdown(
    "Other participants described what an assistant should pay attention to when answering this message:"
)
with st.container(border=True):
    st.markdown(components.plain(interview.question))

if not draw.values:
    st.info("There are no other values to vote on yet. Thank you: let's go on.")
    if st.button("Continue", type="primary"):
        with components.stop_on_error():
            voting.submit_votes(engine, token=token, draw_id="", value_ids=[])
        participant.go(ParticipantStage.JUDGE, token)
    st.stop()

st.caption(
    f"Select the ones you think are wise ways to answer, at least {draw.min_votes}. "
    "You do not have to agree with a value to find it wise."
)
with st.form("vote"):
    chosen = []
    for value in draw.values:
        components.values_card(value.title, value.description, value.policies)
        if st.checkbox(
            f"Wise: {components.plain(value.title)}",
            value=value.id in draw.chosen,
            key=f"wise-{draw.draw_id}-{value.id}",
        ):
            chosen.append(value.id)
    if st.form_submit_button("Continue", type="primary"):
        with components.stop_on_error():
            voting.submit_votes(engine, token=token, draw_id=draw.draw_id, value_ids=chosen)
        participant.go(ParticipantStage.JUDGE, token)
