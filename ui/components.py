"""Widgets shared by pages. Participant text is always rendered as plain text, never as HTML."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import streamlit as st

from errors import StudioError, one_line
from services.participant import receipts
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


def error_box(exc: StudioError, *, action: str = "") -> None:
    """One error box, one line: ``<action> failed: <message>``, naming the setting to fix when the error
    carries one (``.setting``, as storage and model errors do)."""
    setting = getattr(exc, "setting", None)
    hint = f" (setting: `{setting}`)" if setting else ""
    prefix = f"{action} failed: " if action else ""
    st.error(f"{prefix}{plain(one_line(exc))}{hint}", icon=":material/error:")  # may echo outside text


@contextlib.contextmanager
def stop_on_error(action: str = "") -> Iterator[None]:
    """Run a page step; an error a person can cause or meet (any :class:`errors.StudioError`: the database
    went away, the model failed, a prompt file is broken...) becomes one :func:`error_box` and the page stops
    there. Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except StudioError as exc:
        error_box(exc, action=action)
        st.stop()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=])")


def plain(text: str) -> str:
    """``text`` with every Markdown (and Streamlit directive) character escaped, for ``st.markdown``.

    Participant and model text is shown literally: no links, images, HTML, headings or colour directives.

    >>> plain("**hi** [x](http://e.vil) :red[alarm] <b>")
    '\\\\*\\\\*hi\\\\*\\\\* \\\\[x\\\\]\\\\(http\\\\://e\\\\.vil\\\\) \\\\:red\\\\[alarm\\\\] \\\\<b\\\\>'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def values_card(title: str, description: str, policies: list[str], *, caption: str = "") -> None:
    """A values card as a card: title, one sentence, and what the person attends to (all plain text)."""
    with st.container(border=True):
        st.markdown(f"#### {plain(title)}")
        if description:
            st.markdown(plain(description))
        if policies:
            st.markdown("**What this person pays attention to**")
            st.markdown("\n".join(f"- {plain(p)}" for p in policies))
        if caption:
            st.caption(plain(caption))


def progress(stage: str) -> None:
    """Where the participant is across the steps (accessible: a labelled bar plus the step names)."""
    steps = receipts.progress_of(stage).steps
    position = next((i for i, step in enumerate(steps) if step.current), 0)
    names = " → ".join(f"**{s.label}**" if s.current else s.label for s in steps)
    st.progress(position / (len(steps) - 1), text=f"Step {position + 1} of {len(steps)}: {names}")
