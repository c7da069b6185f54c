"""The Invites page's tables and forms (pages/invites.py), over :mod:`services.facilitator.invites`:
the links just made, every invite with a CSV download, withdrawing unused ones, cohorts and people.
Every cell is shown literally (a dataframe), never as Markdown.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from services.facilitator import invites
from ui import components, resources
from ui.auth import Facilitator
from ui.deliberation_form import attempt


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def new_links(rows: list[invites.InviteRow], urls: list[str]) -> None:
    """The links made last in this session (of this deliberation), to copy or download as CSV."""
    made = set(urls)
    fresh = [r for r in rows if r.link in made]
    if not fresh:
        return
    st.caption(
        f"{components.counted(len(fresh), 'single-use link')} just made; each opens one person's session."
    )
    st.code("\n".join(r.link for r in fresh), language=None)
    st.download_button(
        "Download the new links as CSV",
        invites.invites_csv(fresh),
        file_name="new-invites.csv",
        mime="text/csv",
    )


def all_invites(rows: list[invites.InviteRow], deliberation_id: int) -> None:
    """Every invite of the deliberation with its status, and the whole list as CSV."""
    if not rows:
        st.info("No per-person links yet.")
        return
    counts = {
        s: sum(r.status == s for r in rows) for s in ("unused", "opened", "started", "finished", "revoked")
    }
    st.caption(
        ", ".join(f"{n} {s}" for s, n in counts.items())
        + ". Opened: the link was opened, no consent yet; started: consented (a participant)."
    )
    st.dataframe(
        [
            {
                "code": r.code,
                "cohort": r.cohort or "",
                "status": r.status,
                "opened": _when(r.opened),
                "started": _when(r.started),
                "finished": _when(r.finished),
                "participant": r.participant_id,
                "panel id": r.external_id or "",
                "link": r.link,
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Download all invites as CSV",
        invites.invites_csv(rows),
        file_name=f"invites-{deliberation_id}.csv",
        mime="text/csv",
    )


def withdraw_form(deliberation_id: int, cohorts: list[invites.CohortCount], who: Facilitator) -> None:
    """Withdraw one unused invite (by its code), a cohort's unused invites, or every unused invite."""
    named = [c.name for c in cohorts if c.name is not None and c.unused]
    with st.form(f"withdraw-{deliberation_id}"):
        st.markdown("**Withdraw unused invites**: their links then say they were withdrawn.")
        which = st.radio("Which", ["One invite", "A cohort's unused invites", "Every unused invite"])
        code = st.text_input("Code of the invite (for one invite)")
        cohort = st.selectbox("Cohort", named, index=None, placeholder="Choose a cohort") if named else None
        if st.form_submit_button("Withdraw"):
            attempt(
                "Withdrawing invites",
                lambda: invites.revoke_invites(
                    resources.engine(),
                    deliberation_id=deliberation_id,
                    actor=who.name,
                    code=code if which == "One invite" else None,
                    cohort=(cohort or "") if which == "A cohort's unused invites" else None,
                    all_unused=which == "Every unused invite",
                ),
                lambda n: f"Withdrew {components.counted(n, 'invite')}.",
            )


def cohort_table(cohorts: list[invites.CohortCount]) -> None:
    if not cohorts:
        st.info("No cohorts yet: give a cohort's name when making links.")
        return
    st.dataframe(
        [
            {"cohort": c.name if c.name is not None else "(none)"} | c.model_dump(exclude={"name"})
            for c in cohorts
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption("visited: opened a link; started: consented (a participant); finished: reached the end.")


def people_table(people: list[invites.PersonRow]) -> None:
    if not people:
        st.info("Nobody has opened a link yet.")
        return
    st.dataframe(
        [
            {
                "participant": p.participant_id,
                "panel id": p.external_id or "",
                "cohort": p.cohort or "",
                "via": p.via,
                "stage": p.stage,
                "visited": _when(p.visited),
                "started": _when(p.consented),
                "finished": _when(p.finished),
            }
            for p in people
        ],
        hide_index=True,
        width="stretch",
    )
    started = sum(p.consented is not None for p in people)
    finished = sum(p.finished is not None for p in people)
    st.caption(f"{len(people)} visited, {started} started (consented), {finished} finished.")
