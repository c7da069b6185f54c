"""The facilitator console's shared picker: which deliberation the console pages work on.

The choice is kept in the URL (``?d=ID``), so a reload, a second tab or a shared link opens the same
deliberation; pages read it with :func:`chosen_deliberation`. The URL leads: the picker shows what ``?d=``
names, and choosing in the picker rewrites ``?d=`` before the page runs again. :func:`select` makes a page
choose a deliberation for the next run (the one just created or duplicated).
"""

from __future__ import annotations

import streamlit as st

from errors import InvalidInput, StudioError
from interviews.text_rules import parse_id
from services.facilitator import deliberations
from ui import components, resources, state


def select(deliberation_id: int) -> None:
    """Choose ``deliberation_id`` in the picker from the next run on (the page then reruns): ``?d=`` names
    it, and the picker follows ``?d=`` before it is drawn. Safe to call after the picker was drawn in this
    run (a widget's value cannot change then; its key is set at the next run, before it is drawn)."""
    st.query_params[state.CONSOLE_DELIBERATION] = str(deliberation_id)


def _follow_picker() -> None:
    """The picker changed: ``?d=`` names its choice before the page runs again."""
    st.query_params[state.CONSOLE_DELIBERATION] = str(st.session_state[state.CONSOLE_PICKER])


def _wanted_id(raw: str | None) -> int | None:
    """The deliberation id ``?d=`` names (the project's id rule), None when absent or malformed."""
    if raw is None:
        return None
    try:
        return parse_id(raw, what="The deliberation")
    except InvalidInput:
        return None


def chosen_deliberation(*, include_archived: bool = True) -> deliberations.DeliberationPublic | None:
    """The deliberation picked in the sidebar (kept in ``?d=``), or None when there is none yet."""
    try:
        every = deliberations.list_deliberations(resources.engine())
    except StudioError as exc:
        components.error_box(exc, action="Loading the deliberations", detail=True)
        st.stop()
    shown = [d for d in every if include_archived or d.status != "archived"]
    if not shown:
        st.info("No deliberations yet: create one on the Deliberations page.")
        return None
    by_id = {d.id: d for d in shown}
    wanted = _wanted_id(state.query(state.CONSOLE_DELIBERATION))
    current = st.session_state.get(state.CONSOLE_PICKER)
    if wanted in by_id:
        target = wanted
    else:  # no ?d=, a malformed one (?d=²), or a deliberation gone (or archived, where those are left out)
        target = current if current in by_id else next(iter(by_id))
    if current != target:  # the widget's key, set before it is drawn: the picker shows the target
        st.session_state[state.CONSOLE_PICKER] = target
    picked = st.sidebar.selectbox(
        "Deliberation",
        list(by_id),
        format_func=lambda i: f"{i}: {by_id[i].title} ({by_id[i].status})",
        key=state.CONSOLE_PICKER,
        on_change=_follow_picker,
    )
    if state.query(state.CONSOLE_DELIBERATION) != str(picked):
        st.query_params[state.CONSOLE_DELIBERATION] = str(picked)
    return by_id[picked]
