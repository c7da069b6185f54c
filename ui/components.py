"""Widgets shared by pages. Participant text is always rendered as plain text, never as HTML."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from services.errors import USER_ERRORS, one_line
from settings import Settings

CONFIGURE_HINT = "set LLM_BASE_URL (and LLM_API_KEY) to an OpenAI-compatible endpoint; see the README"


def model_banner(settings: Settings) -> None:
    """Say plainly when the app is not talking to a real, configured model."""
    mode = settings.effective_llm_mode
    if mode == "local":
        st.warning(
            f"Running the small bundled offline model ({settings.chat_model_name}, 135M parameters): "
            f"interviews and cards will be of low quality. For real use, {CONFIGURE_HINT}.",
            icon=":material/memory:",
        )
    elif mode == "fake":
        st.info(
            "Demo mode (LLM_MODE=fake): the interviewer's replies are scripted, not written by a model.",
            icon=":material/theater_comedy:",
        )


def error_box(exc: BaseException, *, action: str = "") -> None:
    """One plain message for a known error, naming the setting to fix when there is one."""
    setting = getattr(exc, "setting", None)
    hint = f" (setting: `{setting}`)" if setting else ""
    prefix = f"{action} failed: " if action else ""
    st.error(f"{prefix}{one_line(exc)}{hint}", icon=":material/error:")


@contextlib.contextmanager
def stop_on_error(action: str = "") -> Iterator[None]:
    """Run a page step; a known error (the database went away, the model failed) becomes one plain
    message naming the setting to fix, and the page stops there instead of showing a traceback.
    """
    try:
        yield
    except USER_ERRORS as exc:
        error_box(exc, action=action)
        st.stop()
