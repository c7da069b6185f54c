"""Facilitator console: start the deliberation's long jobs (dedup, contexts, stories, grading, the graph)
and watch their runs live, with a progress bar and the log. A run is stored as it goes
(:mod:`services.jobs.runs`), so a reload or another app process shows it; starting the same job again while
it runs returns that run."""

from typing import Any

import streamlit as st

from errors import StudioError
from interviews.limits import CONTEXTS_PER_CALL, DEDUP_BATCH, DEDUP_BATCH_MAX, STORY_PAIRS, STORY_PAIRS_MAX
from services.jobs import runs
from ui import auth, components, console, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()

REFRESH_S = 2
LOG_SHOWN = 200

st.title("Jobs")
chosen = console.chosen_deliberation()
if chosen is None:
    st.stop()
engine = resources.engine()
deliberation_id = chosen.id
questions = {q.id: q.text for q in chosen.questions}


def start(kind: str, args: dict[str, Any]) -> None:
    models = runs.Models(resources.chat_model, resources.embeddings)
    try:
        run = runs.start(
            engine,
            resources.jobs(),
            models,
            kind=kind,
            deliberation_id=deliberation_id,
            args=args,
            actor=who.name,
        )
    except StudioError as exc:
        components.error_box(exc, action="Starting the job", detail=True)
        return
    st.success(f"Job run {run.id} ({run.kind}) is {run.status}.")


def question_picker(label: str, *, everything: bool, key: str) -> int | None:
    options: list[int | None] = [None, *questions] if everything else list(questions)
    return st.selectbox(
        label,
        options,
        format_func=lambda i: "every question" if i is None else f"{i}: {questions[i]}",
        key=key,
    )


left, right = st.columns(2)
with left.form("job-dedup"):
    st.subheader("Deduplicate")
    question = question_picker("Cards of", everything=True, key="job-dedup-question")
    batch = st.number_input("Cards per model call", 1, DEDUP_BATCH_MAX, DEDUP_BATCH)
    if st.form_submit_button("Run dedup"):
        start("dedup", {"question_id": question, "batch_size": int(batch)})
with right.form("job-generate"):
    st.subheader("Generate contexts")
    question = question_picker("For the question", everything=False, key="job-generate-question")
    count = st.number_input("How many", 1, CONTEXTS_PER_CALL, 5)
    if st.form_submit_button("Generate contexts"):
        start("generate_contexts", {"question_id": question, "n": int(count)})
with left.form("job-stories"):
    st.subheader("Upgrade stories")
    pairs = st.number_input("Most pairs of values (two stories each)", 1, STORY_PAIRS_MAX, STORY_PAIRS)
    resume = st.text_input("Resume story run (blank: a new run)", max_chars=64)
    if st.form_submit_button("Write and judge stories"):
        start("stories", {"max_pairs": int(pairs), "run_id": resume.strip() or None})
with right.container(border=True):
    st.subheader("More jobs")
    if st.button("Mine contexts from cards"):
        start("mine_contexts", {})
    if st.button("Grade ungraded transcripts"):
        start("grade", {})
    if st.button("Build the moral graph"):
        start("build", {})


def show(run: runs.JobRunPublic) -> None:
    with st.container(border=True):
        when = f"{run.created_at:%Y-%m-%d %H:%M:%S}"
        st.markdown(
            components.plain(f"Run {run.id}: {run.kind}, {run.status} (by {run.actor or '-'}, {when})")
        )
        if run.total:
            st.progress(min(run.done / run.total, 1.0), text=f"{run.done} of {run.total}")
        elif run.status in ("queued", "running"):
            st.progress(0.0, text="starting")
        if run.error:
            st.error(components.plain(run.error))
        if run.log:
            with st.expander(f"Log ({len(run.log)} lines)", expanded=run.status == "running"):
                st.code("\n".join(run.log[-LOG_SHOWN:]), language=None)


listed = runs.list_runs(engine, deliberation_id=deliberation_id, limit=20)
was_active = runs.any_active(listed)


@st.fragment(run_every=REFRESH_S if was_active else None)
def run_list() -> None:
    try:
        now = runs.list_runs(engine, deliberation_id=deliberation_id, limit=20)
    except StudioError as exc:
        components.error_box(exc, action="Reading the job runs", detail=True)
        return
    st.subheader("Runs")
    if not now:
        st.info("No job runs for this deliberation yet.")
    for run in now:
        show(run)
    if was_active and not runs.any_active(now):
        st.rerun()  # all ended: a full run shows the results and stops refreshing


run_list()
