"""Participant: join by link, consent and demographics, then choose a question."""

from typing import Any

import streamlit as st

from interviews.answers import marked, number_hint
from interviews.vocabulary import ParticipantStage
from services.participant import interviewing, joining
from ui import components, participant, resources, state
from ui.router import through_router

through_router()

settings = resources.settings()
engine = resources.engine()

if state.query(state.TOKEN) is None:
    invite, code = state.query(state.INVITE), state.query(state.JOIN_CODE)
    if not invite and not code:
        st.error("This page needs your invite link. Please open the link you were given.")
        st.stop()
    with components.stop_on_error():
        joined = joining.join(engine, invite=invite, code=code, external_id=state.query(state.PANEL_ID))
    st.query_params.clear()  # from now on the URL carries the personal token (bookmarkable, resumable)
    st.query_params[state.TOKEN] = joined.token

person = participant.home()
token = person.participant.token
if person.participant.stage not in (ParticipantStage.JOINED, ParticipantStage.CONSENTED):
    participant.go(person.participant.stage, token)

components.progress(person.participant.stage)
st.title(components.plain(person.title))
if person.welcome_text:
    st.markdown(components.plain(person.welcome_text))  # the facilitator's text, shown as typed

if person.participant.consented_at is None:
    with st.form("consent"):
        st.header("Before we start")
        if person.consent_text:
            st.markdown(components.plain(person.consent_text))
        answers: dict[str, Any] = {}
        for q in person.demographics:  # keyed by the question's key: two questions may share a label
            label = marked(components.plain(q.label), required=q.required)
            key = f"demographic-{q.key}"
            if q.kind == "choice":
                answers[q.key] = st.selectbox(label, q.options, index=None, placeholder="Choose...", key=key)
            elif q.kind == "number":  # text, read exactly by the service: no silent coercion in the browser
                hint = number_hint(lowest=q.lowest, highest=q.highest, decimals=q.decimals)
                answers[q.key] = st.text_input(label, placeholder=hint, key=key)
            else:  # no max_chars (a browser drops a long paste): the service refuses it, the text stays
                answers[q.key] = st.text_input(label, key=key)
        agreed = st.checkbox(
            "I agree to take part on these terms." if person.consent_text else "I agree to take part."
        )
        if st.form_submit_button("Continue", type="primary"):
            if not agreed:
                st.error("Please tick the box to agree before continuing.")
            else:
                with components.stop_on_error():
                    joining.consent(engine, token=token, demographics=answers)
                st.rerun()
    st.stop()

questions = person.questions
if len(questions) == 1:
    chosen = questions[0]
    st.markdown("You will talk with an AI interviewer about how an assistant should answer this message:")
else:
    st.markdown("Choose the message you would like to think about:")
    chosen = st.radio(
        "Question", questions, format_func=lambda q: components.plain(q.text), label_visibility="collapsed"
    )
with st.container(border=True):
    st.markdown(components.plain(chosen.text))
st.caption("It takes about 10 minutes. There are no right answers: we want to learn what matters to you.")
if st.button("Start the interview", type="primary"):
    with components.stop_on_error("Starting the interview"):
        view = interviewing.start_interview(
            engine,
            token=token,
            question_id=chosen.id,
            model_id=settings.chat_model_name,
            prompt_style=settings.prompt_style,  # compact prompts for a small model
        )
    participant.go(ParticipantStage.INTERVIEW, token, **{state.INTERVIEW: str(view.id)})
