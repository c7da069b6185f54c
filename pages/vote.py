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

components.progress(person.participant.stage, person.participant.skipped_steps)
st.title("Which of these values are wise?")
st.markdown(
    "Other participants described what an assistant should pay attention to when answering this message:"
)
with st.container(border=True):
    st.markdown(components.plain(interview.question))

if not draw.values:  # say why, and skip the step visibly (the progress bar shows it as skipped)
    waiting = f"{components.counted(draw.waiting, 'value')} from other participants"
    verb = "is" if draw.waiting == 1 else "are"
    if draw.waiting and draw.processing:  # the pipeline is making them values right now: look again
        st.info(
            f"{waiting} {verb} being processed right now, so there is nothing to vote on yet. "
            "Check again in a moment, or go on without voting.",
            icon=":material/hourglass_top:",
        )
        check, skip = st.columns(2)
        if check.button("Check again", type="primary", icon=":material/refresh:"):
            st.rerun()
        go_on = skip.button("Go on without voting")
    else:
        if draw.waiting:
            why = f"{waiting} {verb} waiting to be processed by the organisers"
        else:
            why = "Nobody else has shared a value on this question yet"
        st.info(
            f"{why}, so there is nothing to vote on. This step is skipped: your value will be shown to "
            "the participants who come after you.",
            icon=":material/skip_next:",
        )
        go_on = st.button("Continue", type="primary")
    if go_on:
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
        components.value_card(value)
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
