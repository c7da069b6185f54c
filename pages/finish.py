"""Participant: the exit survey, then a receipt of where their value landed (DOMAIN.md §3 steps 7-8)."""

from typing import Any, Literal

import streamlit as st

from interviews.answers import marked
from interviews.vocabulary import ParticipantStage
from services.participant import receipts
from ui import components, participant, resources
from ui.router import through_router

through_router()

engine = resources.engine()
person = participant.home(finished_ok=True)
token = person.participant.token
participant.stay_on("pages/finish.py", person)
components.progress(person.participant.stage, person.participant.skipped_steps)

if person.participant.stage == ParticipantStage.SURVEY:
    st.title("A few last questions")
    with components.stop_on_error():
        items = receipts.survey(engine, token=token)
    scale = {1: "1 · Strongly disagree", 2: "2", 3: "3", 4: "4", 5: "5 · Strongly agree"}
    with st.form("survey"):
        answers: dict[str, Any] = {}
        for item in items:
            label = marked(components.plain(item.label), required=item.required)
            key = f"survey-{item.key}"  # prefixed: never one of the session's own keys (ui/state.py)
            if item.kind == "scale":
                answers[item.key] = st.radio(
                    label, list(scale), format_func=scale.get, index=None, horizontal=True, key=key
                )
            elif item.kind == "yes_no":
                answers[item.key] = st.radio(
                    label,
                    [True, False],
                    format_func=lambda b: "Yes" if b else "No",
                    index=None,
                    horizontal=True,
                    key=key,
                )
            else:
                answers[item.key] = st.text_area(label, key=key)  # no max_chars: the service says so
        if st.form_submit_button("Finish", type="primary"):
            with components.stop_on_error():
                receipts.submit_survey(engine, token=token, answers=answers)
            st.rerun()
    st.stop()

st.title("Thank you!")
with components.stop_on_error():
    receipt = receipts.receipt(engine, token=token)
st.markdown(
    f"You wrote {components.counted(receipt.messages, 'message')}, chose "
    f"{components.counted(receipt.votes, 'wise value')} and judged "
    f"{components.counted(receipt.judgements, 'story', 'stories')}."
)


def ask(key: str, question: str, card_id: int) -> None:
    """A yes/no receipt question; the answer is stored at once and can be changed."""
    current = receipt.answers.get(key)
    st.markdown(f"**{question}**" + ("" if current is None else f" You said: {'yes' if current else 'no'}."))
    yes, no = st.columns(2)
    for column, answer, label in ((yes, True, "Yes"), (no, False, "No")):
        kind: Literal["primary", "secondary"] = "primary" if current is answer else "secondary"
        if column.button(label, key=f"{key}-{card_id}-{label}", type=kind):
            with components.stop_on_error():
                receipts.answer_receipt(engine, token=token, key=key, answer=answer)
            st.rerun()


for entry in receipt.cards:
    st.header("Your card")
    components.values_card(entry.card.title, entry.card.description, entry.card.policies, level=3)
    if entry.value is None:
        st.caption("Your card will be grouped with similar values of other participants soon.")
        continue
    st.header("The shared value it joined")
    components.values_card(
        entry.value.title,
        entry.value.description,
        entry.value.policies,
        level=3,
        caption=f"{components.counted(entry.judged_by, 'participant')} judged stories about this value.",
    )
    ask("represents_my_value", "Does this shared value represent what you care about?", entry.card.id)
    if entry.wiser is None:
        st.caption("The moral graph is not built yet: come back to this link later to see where it landed.")
        continue
    if entry.rank is not None and entry.ranked:
        st.markdown(f"In the moral graph it ranks **{entry.rank} of {entry.ranked}**.")
    for title, related in (
        ("Judged wiser than it", entry.wiser),
        ("Judged less wise", entry.less_wise or []),
    ):
        st.markdown(f"**{title}**")
        if not related:
            st.caption("none yet")
        for v in related:
            st.markdown(f"- {components.plain(v.title)}")
    ask("fair_position", "Do you think your value ended up in a fair position?", entry.card.id)
