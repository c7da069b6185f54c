"""Widgets shared by pages. Participant text is always rendered as plain text, never as HTML."""

from __future__ import annotations

import contextlib
import re
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


PARTICIPANT_STEPS = (
    ("joined", "Welcome"),
    ("interview", "Interview"),
    ("vote", "Vote"),
    ("judge", "Judge"),
    ("survey", "Survey"),
    ("done", "Done"),
)


def progress(stage: str) -> None:
    """Where the participant is across the steps (accessible: a labelled bar plus the step names)."""
    order = [s for s, _ in PARTICIPANT_STEPS]
    stage = "joined" if stage == "consented" else stage
    position = order.index(stage) if stage in order else 0
    names = " → ".join(
        f"**{name}**" if i == position else name for i, (_, name) in enumerate(PARTICIPANT_STEPS)
    )
    st.progress(position / (len(order) - 1), text=f"Step {position + 1} of {len(order)}: {names}")
