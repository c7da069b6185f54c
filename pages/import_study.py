"""Facilitator console: import the Meaning Alignment Institute's published study (its dft-data folder, or a
zip of it) into a new deliberation, as a job run with progress (:mod:`services.jobs.run_kinds`)."""

import streamlit as st

from errors import StudioError
from services.jobs import run_kinds, runs
from ui import auth, components, job_runs, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()

st.title("Import the published study")
st.caption(
    "The study's tables (case.json, valuesCard.json, edge.json...) become one new, closed deliberation. "
    "Cards keep the question they answered where the study's votes and impressions say so."
)
engine = resources.engine()

with st.form("import-study"):
    folder = st.text_input("Folder of the study's tables on the server (its dft-data folder)")
    upload = st.file_uploader("...or a zip of that folder", type=["zip"])
    before = st.text_input("Only contributions before this day (YYYY-MM-DD, optional)", max_chars=10)
    title = st.text_input("Title of the new deliberation (optional)", max_chars=200)
    submitted = st.form_submit_button("Import")
if submitted:
    try:
        outcome = run_kinds.start_import(
            engine,
            resources.console_jobs(),
            runs.Models(resources.chat_model, resources.embeddings),  # an import asks no model
            folder=folder,
            upload=upload.getvalue() if upload is not None else None,
            before=before,
            title=title,
            actor=who.name,
        )
        job_runs.started(outcome, noun="Import run")
    except StudioError as exc:
        components.error_box(exc, action="Starting the import", detail=True)

job_runs.live_list(
    lambda: runs.list_runs(engine, kind="import", limit=10),
    title="Imports",
    empty="Nothing imported yet.",
    action="Reading the imports",
)
