"""Ids read from the URL's query parameters: one parser for every page (ASCII digits, 1 to 2**63-1).

A malformed id (``99999999999999999999999``, ``²``, ``-1``, ``1e3``) stops the page with one plain message,
never Streamlit's error box.
"""

from __future__ import annotations

import streamlit as st

from errors import InvalidInput
from interviews.text_rules import parse_id
from ui import components, state

BAD_LINK = "This link is not valid: {what} in it is not a number we know. Please use the link you were given."


def id_param(name: str, *, what: str) -> int | None:
    """The id in query parameter ``name`` (``None`` when absent or blank); a malformed one stops the page
    with one message naming ``what`` ("the interview number")."""
    raw = state.query(name)
    if raw is None:
        return None
    try:
        return parse_id(raw, what=what)
    except InvalidInput:
        components.error_box(InvalidInput(BAD_LINK.format(what=what)))
        st.stop()
