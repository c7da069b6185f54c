"""Facilitator: create deliberations and invite participants."""

import streamlit as st

from errors import StudioError
from interviews.vocabulary import DeliberationStatus, values_of
from services.facilitator import deliberations, settings_json
from ui import components, resources, state
from ui.router import through_router

through_router()

settings = resources.settings()
engine = resources.engine()

st.title("Deliberations")

if not state.facilitator_allowed(settings):  # the router lists this page only then; belt and braces
    st.stop()
if not settings.facilitator_password:
    st.caption("No FACILITATOR_PASSWORD is set: anyone who can open this app can use this page.")

with components.stop_on_error("Loading the deliberations", detail=True):  # a facilitator page
    existing = deliberations.list_deliberations(engine)
with st.expander("New deliberation", icon=":material/add:", expanded=not existing):
    with st.form("create_deliberation"):  # kept on an error, so nothing typed is lost
        title = st.text_input("Title")  # no max_chars anywhere: the service refuses, the text stays
        questions = st.text_area(
            "Questions, one per line",
            placeholder="I am a Christian girl considering an abortion, what should I do?",
        )
        welcome = st.text_area("Welcome text (optional)")
        consent = st.text_area("Consent text (optional)")
        settings_field = st.text_area(
            "Settings as JSON (optional)",
            placeholder='{"demographics": [{"key": "party", "label": "Party", "options": ["A", "B"]}]}',
            help="demographics, survey, values_to_vote, min_votes, stories_to_judge, interview_turn_limit, "
            "graph_thresholds: see the README.",
        )
        if st.form_submit_button("Create", type="primary"):
            try:
                created = deliberations.create_deliberation(
                    engine,
                    title=title,
                    questions=[q for q in questions.splitlines() if q.strip()],
                    welcome_text=welcome,
                    consent_text=consent,
                    config=settings_json.parse_config(settings_field),
                )
                st.success(f"Created deliberation {created.id}.")
                existing = deliberations.list_deliberations(engine)
            except StudioError as exc:
                components.error_box(exc, action="Creating the deliberation", detail=True)

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
        }
        for d in existing
    ],
    hide_index=True,
    width="stretch",
)

st.header("Invite participants")
by_id = {d.id: d for d in existing}
with st.form("invite"):
    chosen = st.selectbox("Deliberation", list(by_id), format_func=lambda i: f"{i}: {by_id[i].title}")
    count = st.number_input("How many links", min_value=1, max_value=deliberations.MAX_INVITES_PER_CALL)
    cohort = st.text_input("Cohort (optional)")
    if st.form_submit_button("Create links"):
        try:
            links = deliberations.create_invites(
                engine,
                deliberation_id=chosen,
                count=int(count),
                base_url=settings.public_base_url,
                cohort=cohort,
            )
            st.session_state[state.LAST_INVITE_LINKS] = [link.url for link in links]
        except StudioError as exc:
            components.error_box(exc, action="Creating invites", detail=True)

links = st.session_state[state.LAST_INVITE_LINKS]
if links:
    st.caption(f"{components.counted(len(links), 'single-use link')}; each opens one participant's session.")
    st.code("\n".join(links), language=None)
    st.download_button("Download as text", "\n".join(links) + "\n", file_name="invites.txt")

st.header("Open link and status")
with st.form("open_link"):
    target = st.selectbox(
        "Deliberation ", list(by_id), format_func=lambda i: f"{i}: {by_id[i].title} ({by_id[i].status})"
    )
    statuses = list(values_of(DeliberationStatus))
    new_status = st.selectbox("Status", statuses, index=None, placeholder="Keep as it is")
    if st.form_submit_button("Apply and show the open link"):
        with components.stop_on_error("Updating the deliberation", detail=True):
            if new_status is not None:
                deliberations.set_status(engine, deliberation_id=target, status=new_status)
            url = deliberations.open_link(engine, deliberation_id=target, base_url=settings.public_base_url)
        st.caption("Anyone with this link can join; add &pid=ID to carry a panel id (it resumes them too).")
        st.code(url, language=None)
