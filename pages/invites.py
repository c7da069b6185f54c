"""Facilitator: the chosen deliberation's links (the open link, per-person invites in bulk with a CSV),
withdrawing unused invites, its cohorts with their counts, and who started and who finished."""

import streamlit as st

from interviews.vocabulary import DeliberationStatus
from services.facilitator import deliberations, invites
from ui import auth, components, console, deliberation_form, invite_tables, resources, state
from ui.router import through_router

through_router()
who = auth.require_facilitator()
settings = resources.settings()
engine = resources.engine()

st.title("Invites")
deliberation_form.show_notice()
d = console.chosen_deliberation()
if d is None:
    st.stop()
chosen = d.id  # the forms' actions name it (a nested function does not see that d is set)
st.subheader(components.plain(d.title))
is_open = d.status == DeliberationStatus.OPEN
if not is_open:
    st.warning(f"{deliberations.not_open_warning(d.id, d.status)} Open it on the Deliberations page.")

with components.stop_on_error("Loading the invites", detail=True):
    url = deliberations.open_link(engine, deliberation_id=d.id, base_url=settings.public_base_url)
    rows = invites.list_invites(engine, deliberation_id=d.id, base_url=settings.public_base_url)
    cohorts = invites.cohort_counts(engine, deliberation_id=d.id)
    people = invites.list_people(engine, deliberation_id=d.id)

st.header("Open link")
st.caption("Anyone with this link can join; add &pid=ID to carry a panel id (it resumes that person too).")
st.code(url, language=None)

st.header("Per-person links")
with st.form(f"invite-{d.id}"):
    count = st.number_input("How many links", min_value=1, max_value=deliberations.MAX_INVITES_PER_CALL)
    cohort = st.text_input("Cohort (optional)")
    force = False if is_open else st.checkbox("Create them anyway: they work once it opens")
    if st.form_submit_button("Create links", type="primary"):

        def make() -> int:
            links = deliberations.create_invites(
                engine,
                deliberation_id=chosen,
                count=int(count),
                base_url=settings.public_base_url,
                cohort=cohort,
                actor=who.name,
                force=force,
            )
            st.session_state[state.LAST_INVITE_LINKS] = [link.url for link in links]
            return len(links)

        deliberation_form.attempt(
            "Creating invites", make, lambda n: f"Created {components.counted(n, 'single-use link')}."
        )
invite_tables.new_links(rows, st.session_state[state.LAST_INVITE_LINKS])

st.header("All invites")
invite_tables.all_invites(rows, d.id)
if any(r.status == "unused" for r in rows):
    invite_tables.withdraw_form(d.id, cohorts, who)

st.header("Cohorts")
invite_tables.cohort_table(cohorts)

st.header("Who started and who finished")
invite_tables.people_table(people)
