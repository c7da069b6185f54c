"""Facilitator console: import the Meaning Alignment Institute's published study (its dft-data folder, or a
zip of it) into a new deliberation, as a job run with progress (:mod:`services.jobs.run_kinds`)."""

import streamlit as st

from errors import StudioError
from services.jobs import runs
from services.research import dft_import
from ui import auth, components, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()

REFRESH_S = 2

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
        uploaded = upload is not None
        where = str(dft_import.save_upload(upload.getvalue())) if upload is not None else folder.strip()
        args = {"folder": where, "before": before.strip() or None, "title": title, "uploaded": uploaded}
        models = runs.Models(resources.chat_model, resources.embeddings)  # an import asks no model
        run = runs.start(
            engine, resources.jobs(), models, kind="import", deliberation_id=None, args=args, actor=who.name
        )
        st.success(f"Import run {run.id} is {run.status}.")
    except StudioError as exc:
        components.error_box(exc, action="Starting the import", detail=True)

listed = runs.list_runs(engine, kind="import", limit=10)
was_active = runs.any_active(listed)


@st.fragment(run_every=REFRESH_S if was_active else None)
def import_runs() -> None:
    try:
        now = runs.list_runs(engine, kind="import", limit=10)
    except StudioError as exc:
        components.error_box(exc, action="Reading the imports", detail=True)
        return
    st.subheader("Imports")
    if not now:
        st.info("Nothing imported yet.")
    for run in now:
        with st.container(border=True):
            st.markdown(components.plain(f"Run {run.id}: {run.status} (by {run.actor or '-'})"))
            if run.total:
                st.progress(min(run.done / run.total, 1.0), text=f"step {run.done} of {run.total}")
            if run.error:
                st.error(components.plain(run.error))
            if run.result.get("deliberation_id") is not None:
                counts = ", ".join(
                    f"{n} {k.replace('_', ' ')}" for k, n in run.result.get("counts", {}).items()
                )
                st.success(f"New deliberation {run.result['deliberation_id']}: {counts}.")
            if run.log:
                st.code("\n".join(run.log), language=None)
    if was_active and not runs.any_active(now):
        st.rerun()


import_runs()
