"""What every participant page does first: read the token from the URL, load the person, route by stage.

The token in the URL is the participant's only credential and the only state that survives a reload;
pages never keep a participant's progress in ``st.session_state``.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from errors import StudioError
from interviews.vocabulary import ParticipantStage
from services.participant import joining
from ui import components, resources, state

#: The page each participant stage belongs to.
STAGE_PAGES: dict[str, str] = {
    ParticipantStage.JOINED: "pages/join.py",
    ParticipantStage.CONSENTED: "pages/join.py",
    ParticipantStage.INTERVIEW: "pages/interview.py",
    ParticipantStage.VOTE: "pages/vote.py",
    ParticipantStage.JUDGE: "pages/judge.py",
    ParticipantStage.SURVEY: "pages/finish.py",
    ParticipantStage.DONE: "pages/finish.py",
}


def home(*, finished_ok: bool = False) -> joining.ParticipantHome:
    """The participant named by the URL's token; a missing or unknown token stops the page plainly, and so
    does a deliberation that has ended (closed or archived), except where ``finished_ok`` (the receipt).
    """
    token = state.query(state.TOKEN)
    if token is None:
        st.error("This page needs your personal participant link. Please open the link you were given.")
        st.stop()
    try:
        person = joining.home(resources.engine(), token=token)
    except StudioError as exc:
        components.error_box(exc)
        st.stop()
    if person.status not in joining.JOINABLE and not finished_ok:
        st.info(f"{components.plain(person.title)} has ended ({person.status}). Thank you for your interest.")
        if person.participant.stage in (ParticipantStage.SURVEY, ParticipantStage.DONE):
            st.page_link("pages/finish.py", label="See your receipt", query_params={state.TOKEN: token})
        st.stop()
    return person


def go(stage: str, token: str, **params: str) -> NoReturn:
    """Switch to the page of ``stage``, keeping the token (and any extra parameters) in the URL."""
    st.switch_page(STAGE_PAGES.get(stage, "pages/join.py"), query_params={state.TOKEN: token, **params})


def stay_on(page: str, person: joining.ParticipantHome) -> None:
    """Send the participant to the page of their stage when they opened another one (e.g. the back button)."""
    stage = person.participant.stage
    if STAGE_PAGES.get(stage) != page:
        go(stage, person.participant.token)
