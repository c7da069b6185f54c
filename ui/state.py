"""The only module that names ``st.session_state`` keys.

Session state holds only what may be lost on reload (a facilitator's unlock, a form's last result);
anything a participant would miss lives in the database and the URL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import streamlit as st

#: The facilitator's signed session token (ui.auth): None when this session has not decided (the cookie
#: is read), "" once signed out here (the cookie is ignored and cleared).
FACILITATOR_SESSION = "facilitator_session"
LAST_INVITE_LINKS = "last_invite_links"
MODEL_CHECK = "model_check"
EDITING_CARD = "editing_card"  # the interview page's "edit it myself" form is open
LAST_ERROR = "participant_last_error"  # a model failure to show beside a retry button
CHAT_BOX = "interview_chat_box"  # the interview page's chat input (read by queue_send when it submits)
OUTBOX = "interview_outbox"  # sends not stored yet: list of Send, stored first thing in the next run
REFUSED = "interview_refused"  # sends the service refused: list of Refused, shown until dismissed
JUDGE_NOTICE = "judge_notice"  # what became of a story answer that could not be saved, shown once
CONSOLE_PICKER = "console_deliberation_picker"  # the console's sidebar choice of deliberation (ui.console)
#: The Settings page's context proposals of the model, per question id (ui.deliberation_form), until saved.
CONTEXT_PROPOSALS = "console_context_proposals"
#: A console form's success line, shown once by the rerun after a save (ui.deliberation_form.attempt).
CONSOLE_NOTICE = "console_notice"

# Query parameters: what a participant's URL carries (the only state that survives a reload).
TOKEN = "token"
INVITE = "invite"
JOIN_CODE = "code"
PANEL_ID = "pid"
INTERVIEW = "interview"
CONSOLE_DELIBERATION = "d"  # the facilitator console's chosen deliberation (ui.console)


def init() -> None:
    """Give every key its default once per session (``setdefault``, never overwrite)."""
    st.session_state.setdefault(FACILITATOR_SESSION, None)
    st.session_state.setdefault(LAST_INVITE_LINKS, [])
    st.session_state.setdefault(CONTEXT_PROPOSALS, {})
    st.session_state.setdefault(CONSOLE_NOTICE, None)
    st.session_state.setdefault(MODEL_CHECK, None)
    st.session_state.setdefault(EDITING_CARD, False)
    st.session_state.setdefault(LAST_ERROR, None)
    st.session_state.setdefault(OUTBOX, [])
    st.session_state.setdefault(REFUSED, [])
    st.session_state.setdefault(JUDGE_NOTICE, None)


@dataclass(frozen=True)
class Send:
    """One message the participant sent, with its idempotency key, until it is stored."""

    interview_id: int
    key: str
    text: str


def queue_send(interview_id: int) -> None:
    """The chat box's ``on_submit``: queue what was sent, with a fresh idempotency key.

    Streamlit runs it before the page script, once per send, so a send survives whatever the run it
    arrives in does (a rerun after a streamed reply, a stream it interrupts); the page stores the queue
    first thing (:func:`services.participant.interviewing.post_message` with the key: a send handled
    twice is stored once) and takes each stored send off it (:func:`sent`).
    """
    text = st.session_state.get(CHAT_BOX)
    if isinstance(text, str) and text:
        st.session_state[REFUSED] = []  # a new send replaces what was refused before
        queued = st.session_state.get(OUTBOX, [])
        st.session_state[OUTBOX] = [*queued, Send(interview_id, uuid.uuid4().hex, text)]


@dataclass(frozen=True)
class Refused:
    """A send the service refused (too long, the card already submitted) and why, shown with its text
    until the participant dismisses it or sends again (the page's reruns keep it)."""

    send: Send
    reason: str


def outbox() -> list[Send]:
    """The sends not stored yet, oldest first."""
    return list(st.session_state.get(OUTBOX, []))


def sent(key: str) -> None:
    """Take the send with idempotency key ``key`` off the queue (it is stored, or was refused)."""
    st.session_state[OUTBOX] = [s for s in st.session_state.get(OUTBOX, []) if s.key != key]


def refuse(send: Send, reason: str) -> None:
    """Take ``send`` off the queue and keep it, with ``reason``, among the refused sends."""
    sent(send.key)
    st.session_state[REFUSED] = [*refused(), Refused(send, reason)]


def refused() -> list[Refused]:
    """The refused sends still shown, oldest first."""
    return list(st.session_state.get(REFUSED, []))


def dismiss(key: str) -> None:
    """Stop showing the refused send with idempotency key ``key``."""
    st.session_state[REFUSED] = [r for r in refused() if r.send.key != key]


def query(name: str) -> str | None:
    """One query parameter of the URL, stripped; ``None`` when absent or blank."""
    value = st.query_params.get(name)
    return value.strip() or None if isinstance(value, str) else None


def facilitator_session() -> str | None:
    """This session's facilitator token; "" once signed out here; None when not decided (read the cookie)."""
    value = st.session_state.get(FACILITATOR_SESSION)
    return value if isinstance(value, str) else None


def keep_facilitator_session(token: str) -> None:
    st.session_state[FACILITATOR_SESSION] = token


def end_facilitator_session() -> None:
    st.session_state[FACILITATOR_SESSION] = ""


def set_field(key: str, value: object) -> None:
    """Put ``value`` into the keyed widget ``key`` before it is drawn in this run (a console form's field
    that a button fills, e.g. the model's proposals added to a question's contexts)."""
    st.session_state[key] = value


def field(key: str) -> object:
    """The current value of the keyed widget ``key`` (None before it was drawn)."""
    return st.session_state.get(key)
