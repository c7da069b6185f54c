"""Participant: judge upgrade stories, "Did this person become wiser?" (DOMAIN.md §3 step 6)."""

import streamlit as st

from interviews.vocabulary import JudgementAnswer, ParticipantStage
from services.participant import judging
from ui import components, participant, resources
from ui.router import through_router

through_router()

engine = resources.engine()
person = participant.home()
token = person.participant.token
participant.stay_on("pages/judge.py", person)

with components.stop_on_error():
    stories = judging.stories_to_judge(engine, token=token)

components.progress(person.participant.stage)
st.title("Did this person become wiser?")
ANSWERS: dict[str, str] = {
    JudgementAnswer.UPGRADE.value: "Yes",
    JudgementAnswer.NO_UPGRADE.value: "No",
    JudgementAnswer.NOT_SURE.value: "Not sure",
}

if not stories:
    st.info("There are no stories for you to judge right now. Thank you: let's go on.")
else:
    answered = sum(s.answer is not None for s in stories)
    st.caption(
        f"Story {min(answered + 1, len(stories))} of {len(stories)}. Each story imagines someone changing "
        "how they choose. Judge whether the change is a gain in wisdom, not whether you share the values."
    )
    for story in stories:
        if story.answer is not None:
            with st.expander(f"{components.plain(story.context)}: you answered {ANSWERS[story.answer]}"):
                st.markdown(components.plain(story.story))
    current = next((s for s in stories if s.answer is None), None)
    if current is not None:
        st.subheader(components.plain(current.context))
        with st.container(border=True):
            st.markdown(components.plain(current.story))
        before, after = st.columns(2)
        with before:
            st.caption("Before")
            v = current.from_value
            components.values_card(v.title, v.description, v.policies)
        with after:
            st.caption("After")
            v = current.to_value
            components.values_card(v.title, v.description, v.policies)
        with st.form(f"judge-{current.hypothesis_id}"):
            answer = st.radio(
                "Did this person become wiser?",
                list(ANSWERS),
                format_func=ANSWERS.get,
                index=None,
                horizontal=True,
            )
            reason = st.text_area("Why? (optional)")  # no max_chars: a long paste is refused, never dropped
            if st.form_submit_button("Save my answer", type="primary"):
                if answer is None:
                    st.error("Please choose Yes, No or Not sure.")
                else:
                    with components.stop_on_error("Saving your answer"):
                        judging.judge(
                            engine,
                            token=token,
                            hypothesis_id=current.hypothesis_id,
                            answer=answer,
                            reason=reason,
                        )
                    st.rerun()
        st.stop()

if st.button("Continue", type="primary"):
    with components.stop_on_error():
        judging.finish_judging(engine, token=token)
    participant.go(ParticipantStage.SURVEY, token)
