"""Facilitator console: start the deliberation's long jobs (dedup, contexts, stories, grading, the graph)
and watch their runs live, with a progress bar and the log. A run is stored as it goes
(:mod:`services.jobs.runs`), so a reload or another app process shows it; starting the same job again while
it runs returns that run (one run of a kind on a deliberation at a time; contexts: one per question)."""

from typing import Any

import streamlit as st

from errors import StudioError
from interviews.limits import CONTEXTS_PER_CALL, DEDUP_BATCH, DEDUP_BATCH_MAX, STORY_PAIRS, STORY_PAIRS_MAX
from services.jobs import run_kinds, runs
from ui import auth, components, console, job_runs, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()

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
        outcome = runs.start(
            engine,
            resources.console_jobs(),
            models,
            kind=kind,
            deliberation_id=deliberation_id,
            args=args,
            actor=who.name,
        )
    except StudioError as exc:
        components.error_box(exc, action="Starting the job", detail=True)
        return
    job_runs.started(outcome)


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
    resume = st.text_input(
        "Story run",
        max_chars=64,
        placeholder=run_kinds.console_story_run(deliberation_id),
        help="Blank: the deliberation's own story run, so a second start resumes it (pairs already judged "
        "are skipped); another name starts or resumes that run.",
    )
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


job_runs.live_list(
    lambda: runs.list_runs(engine, deliberation_id=deliberation_id, limit=20),
    title="Runs",
    empty="No job runs for this deliberation yet.",
    action="Reading the job runs",
)
