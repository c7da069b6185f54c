"""The console's live list of job runs (the Jobs and Import pages), over :mod:`services.jobs.runs`: each
run with its progress, error and log (shown literally), refreshed every :data:`REFRESH_S` seconds while one
is queued or running, and the line a start shows (a new run, or the same job already active).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from errors import StudioError
from services.jobs import runs
from ui import auth, components

REFRESH_S = 2
LOG_SHOWN = 200


def started(outcome: runs.Started, *, noun: str = "Job run") -> None:
    """What a start gave: the new run, or the same job's run that was queued or running already."""
    run = outcome.run
    if outcome.created:
        st.success(f"{noun} {run.id} ({run.kind}) is {run.status}.")
    else:
        st.info(
            components.plain(
                f"The same job is already {run.status} as run {run.id} "
                f"(started by {run.actor or 'someone'}): nothing new was started; it is shown below."
            )
        )


def show(run: runs.JobRunPublic) -> None:
    """One run: who started it and when, its progress, its error, what an import made, and its log."""
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
        if run.kind == "import" and run.result.get("deliberation_id") is not None:
            counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in run.result.get("counts", {}).items())
            st.success(components.plain(f"New deliberation {run.result['deliberation_id']}: {counts}."))
        if run.log:
            with st.expander(f"Log ({len(run.log)} lines)", expanded=run.status == "running"):
                st.code("\n".join(run.log[-LOG_SHOWN:]), language=None)


def live_list(listing: Callable[[], list[runs.JobRunPublic]], *, title: str, empty: str, action: str) -> None:
    """The runs ``listing`` gives, refreshed while one is active (a full run once all ended)."""
    try:
        was_active = runs.any_active(listing())
    except StudioError as exc:
        components.error_box(exc, action=action, detail=True)
        return

    @st.fragment(run_every=REFRESH_S if was_active else None)
    def run_list() -> None:
        auth.guard_fragment()  # signed out (or the session ended) since: the full run says so
        try:
            now = listing()
        except StudioError as exc:
            components.error_box(exc, action=action, detail=True)
            return
        st.subheader(title)
        if not now:
            st.info(empty)
        for run in now:
            show(run)
        if was_active and not runs.any_active(now):
            st.rerun()  # all ended: a full run shows the results and stops refreshing

    run_list()
