"""Participant: judge upgrade stories, "Did this person become wiser?" (DOMAIN.md §3 step 6)."""

import streamlit as st

from errors import InvalidInput, StudioError, one_line
from interviews.vocabulary import ParticipantStage
from services.participant import judging
from ui import components, participant, resources, state
from ui.router import through_router

through_router()

engine = resources.engine()
person = participant.home()
token = person.participant.token
participant.stay_on("pages/judge.py", person)

with components.stop_on_error():
    stories = judging.stories_to_judge(engine, token=token)

components.progress(person.participant.stage, person.participant.skipped_steps)
st.title("Did this person become wiser?")
ANSWERS = judging.ANSWER_WORDS
#: What an empty judging set tells the person (judging.nothing_to_judge's reasons).
NOTHING_TO_JUDGE = {
    "processing": "Stories about the newest values are being written right now. Check again in a moment, "
    "or go on without judging.",
    "judged_all": "You have judged every story there is so far. Thank you: let's go on.",
    "no_pairs": "No two values share a situation yet, so there is no story of someone moving from one to "
    "another to judge. This step is skipped: stories about your value are written as others join.",
    "not_ready": "No stories are ready to judge yet: they are written once values share a situation, and "
    "only those that pass a quality check are shown. This step is skipped.",
}


def save_answer(hypothesis_id: int) -> None:
    """The story form's submit, a callback: Streamlit runs it before the page, so the answer reaches the
    service even when the page now draws another story (this one was answered in another tab meanwhile);
    what became of it is shown once, in the run that follows."""
    answer = st.session_state.get(f"judge-answer-{hypothesis_id}")
    if answer is None:
        return  # nothing chosen: the form says so
    try:
        judging.judge(
            engine,
            token=token,
            hypothesis_id=hypothesis_id,
            answer=answer,
            reason=st.session_state.get(f"judge-reason-{hypothesis_id}"),
            new_only=True,  # the form showed it unanswered: an answer from another tab stands, and is named
        )
    except StudioError as exc:
        st.session_state[state.JUDGE_NOTICE] = exc


notice = st.session_state[state.JUDGE_NOTICE]
st.session_state[state.JUDGE_NOTICE] = None
if isinstance(notice, InvalidInput):  # written for the person: "You already answered this story in ..."
    st.error(components.plain(one_line(notice)), icon=":material/error:")
elif isinstance(notice, StudioError):
    components.error_box(notice, action="Saving your answer")

if not stories:  # say why; while stories are being written offer to look again, else skip visibly
    with components.stop_on_error():
        why = judging.nothing_to_judge(engine, token=token)
    st.info(NOTHING_TO_JUDGE[why.reason], icon=":material/hourglass_top:" if why.processing else None)
    if why.processing:
        check, skip = st.columns(2)
        if check.button("Check again", type="primary", icon=":material/refresh:"):
            st.rerun()
        go_on = skip.button("Go on without judging")
    else:
        go_on = st.button("Continue", type="primary")
    if go_on:
        with components.stop_on_error():
            judging.finish_judging(engine, token=token)
        participant.go(ParticipantStage.SURVEY, token)
    st.stop()
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
        st.header(components.plain(current.context))
        with st.container(border=True):
            st.markdown(components.plain(current.story))
        before, after = st.columns(2)
        with before:
            st.caption("Before")
            components.value_card(current.from_value, level=3)
        with after:
            st.caption("After")
            components.value_card(current.to_value, level=3)
        with st.form(f"judge-{current.hypothesis_id}"):
            answer = st.radio(
                "Did this person become wiser?",
                list(ANSWERS),
                format_func=ANSWERS.get,
                index=None,
                horizontal=True,
                key=f"judge-answer-{current.hypothesis_id}",
            )
            st.text_area(  # no max_chars: a long paste is refused, never dropped
                "Why? (optional)", key=f"judge-reason-{current.hypothesis_id}"
            )
            saved = st.form_submit_button(  # saved by save_answer, before this run drew the page
                "Save my answer", type="primary", on_click=save_answer, args=(current.hypothesis_id,)
            )
            if saved and answer is None:
                st.error("Please choose Yes, No or Not sure.")
        st.stop()

if st.button("Continue", type="primary"):
    with components.stop_on_error():
        judging.finish_judging(engine, token=token)
    participant.go(ParticipantStage.SURVEY, token)
