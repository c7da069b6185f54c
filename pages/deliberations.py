"""Facilitator: create deliberations, then open, close, archive, duplicate or delete the chosen one."""

import streamlit as st

from errors import StudioError
from interviews.vocabulary import DeliberationStatus, values_of
from services.facilitator import deliberation_edits, deliberations
from ui import auth, components, console, deliberation_form, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()
engine = resources.engine()

st.title("Deliberations")
deliberation_form.show_notice()

with components.stop_on_error("Loading the deliberations", detail=True):  # a facilitator page
    existing = deliberations.list_deliberations(engine)
with st.expander("New deliberation", icon=":material/add:", expanded=not existing):
    deliberation_form.create_form(who, then=lambda made: console.select(made.id))

if not existing:
    st.info("No deliberations yet. Create one above, or with `python cli.py deliberation create`.")
    st.stop()

st.dataframe(
    [
        {
            "id": d.id,
            "title": d.title,
            "status": d.status,
            "questions": len(d.questions),
            "participants": d.participant_count,
            "visitors": d.visitors,
        }
        for d in existing
    ],
    hide_index=True,
    width="stretch",
)
st.caption(
    "Participants consented; visitors opened a link. Only an open deliberation takes new participants."
)

d = console.chosen_deliberation()
if d is None:
    st.stop()
chosen = d.id  # the forms' actions name it (a lambda does not see that d is set)
st.header(f"{d.id}: {components.plain(d.title)}")

with st.form(f"status-{d.id}"):
    statuses = list(values_of(DeliberationStatus))
    new_status = st.selectbox("Status", statuses, index=statuses.index(d.status))
    st.caption(
        "draft: being set up; open: takes participants; closed: ended (results only); archived: put away."
    )
    if st.form_submit_button("Change the status"):
        deliberation_form.attempt(
            "Changing the status",
            lambda: deliberations.set_status(
                engine, deliberation_id=chosen, status=new_status, actor=who.name
            ),
            f"Deliberation {d.id} is {new_status}.",
        )


def duplicated(copy: deliberations.DeliberationPublic) -> str:
    console.select(copy.id)  # the page runs again on the copy
    return f"Duplicated as deliberation {copy.id}: it is the one chosen now."


with st.form(f"duplicate-{d.id}"):
    st.markdown("**Duplicate**: a new draft with the same texts, settings, questions and contexts.")
    copy_title = st.text_input("Title of the copy", value=f"Copy of {d.title}"[:200])
    if st.form_submit_button("Duplicate"):
        deliberation_form.attempt(
            "Duplicating the deliberation",
            lambda: deliberation_edits.duplicate_deliberation(
                engine, deliberation_id=chosen, actor=who.name, title=copy_title
            ),
            duplicated,
        )

with st.expander("Delete", icon=":material/delete:"):
    try:
        held = deliberation_edits.deletion_preview(engine, deliberation_id=d.id)
    except StudioError as exc:
        components.error_box(exc, action="Counting what it holds", detail=True)
        st.stop()
    rows = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in held.items() if n and k != "deliberations")
    st.warning(
        f"Deleting removes the deliberation with everything in it, for good: {rows or 'nothing else'}. "
        "Archive it instead to keep its results."
    )
    with st.form(f"delete-{d.id}"):
        typed = st.text_input("Type the title to confirm")
        if st.form_submit_button("Delete for good", type="primary"):
            deliberation_form.attempt(
                "Deleting the deliberation",
                lambda: deliberation_edits.delete_deliberation(
                    engine, deliberation_id=chosen, confirm_title=typed, actor=who.name
                ),
                f"Deleted deliberation {d.id}.",
            )
