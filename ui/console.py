"""The facilitator console's shared picker: which deliberation the console pages work on.

The choice is kept in the URL (``?d=ID``), so a reload, a second tab or a shared link opens the same
deliberation; pages read it with :func:`chosen_deliberation`.
"""

from __future__ import annotations

import streamlit as st

from errors import StudioError
from services.facilitator import deliberations
from ui import components, resources, state


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
    wanted = state.query(state.CONSOLE_DELIBERATION)
    ids = list(by_id)
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in by_id else 0
    picked = st.sidebar.selectbox(
        "Deliberation",
        ids,
        index=index,
        format_func=lambda i: f"{i}: {by_id[i].title} ({by_id[i].status})",
        key=state.CONSOLE_PICKER,
    )
    if state.query(state.CONSOLE_DELIBERATION) != str(picked):
        st.query_params[state.CONSOLE_DELIBERATION] = str(picked)
    return by_id[picked]
