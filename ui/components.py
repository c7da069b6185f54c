"""Widgets shared by pages. Text from participants, models and facilitators is always shown literally
(:func:`plain`), never as Markdown or HTML."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterable, Iterator
from typing import Literal, Protocol

import streamlit as st

from errors import StudioError, one_line
from services.participant import interviewing, receipts
from settings import Settings
from ui import literal

log = logging.getLogger(__name__)

CONFIGURE_HINT = "set LLM_BASE_URL (and LLM_API_KEY) to an OpenAI-compatible endpoint; see the README"
#: The caption under a seed value (one the organisers put on the question, not a participant's).
SEED_LABEL = "Suggested by the organisers"


def model_banner(settings: Settings, *, operator: bool = False) -> None:
    """Say plainly when the app is not talking to a real, configured model; how to change that (settings,
    commands) only to a signed-in facilitator (``operator``), never to participants or visitors."""
    mode = settings.effective_llm_mode
    if mode == "local" and settings.local_model_file is None:
        fix = (
            f" For real use, {CONFIGURE_HINT}; or, to stay offline, download a larger model with "
            "python cli.py model pull."
        )
        st.warning(
            f"Running the small bundled offline model ({plain(settings.chat_model_name)}, 135M parameters): "
            f"interviews and cards will be of low quality.{fix if operator else ''}",
            icon=":material/memory:",
        )
    elif mode == "local":  # a model file of the facilitator's choosing (LOCAL_MODEL, LOCAL_MODEL_PATH)
        fix = f" To use an endpoint, {CONFIGURE_HINT}."
        st.info(
            f"Running an offline model on this machine ({plain(settings.chat_model_name)}): small models "
            f"write weaker interviews and cards than a hosted one.{fix if operator else ''}",
            icon=":material/memory:",
        )
    elif mode == "fake":
        st.info(
            "Demo mode (LLM_MODE=fake): the interviewer's replies are scripted, not written by a model.",
            icon=":material/theater_comedy:",
        )


#: What a participant reads when the model failed: plain words, never its internals (the detail is logged;
#: when the endpoint failed, the call's ``llmcall`` row records it too).
MODEL_TROUBLE = "The interviewer could not answer just now. Your message is saved; please try again."


def participant_line(exc: StudioError) -> str:
    """The line a participant reads for ``exc``: a model failure as :data:`MODEL_TROUBLE` (its own line,
    which may quote a parser or name a setting, goes to the log), any other error its own line (those are
    written for the person: "Please write a message first.").
    """
    if interviewing.is_model_failure(exc):
        log.warning("a participant was told the model could not answer: %s", one_line(exc))
        return MODEL_TROUBLE
    return one_line(exc)


def error_box(exc: StudioError, *, action: str = "", detail: bool = False) -> None:
    """One error box, one line: ``<action> failed: <message>``, naming the setting to fix when the error
    carries one (``.setting``, as storage and model errors do). A model failure shows plain words instead
    (:data:`MODEL_TROUBLE`, see :func:`participant_line`: participants never read a model's internals),
    unless ``detail``: facilitator pages pass it, and keep the error's own line."""
    if not detail and interviewing.is_model_failure(exc):
        st.error(plain(participant_line(exc)), icon=":material/error:")
        return
    setting = getattr(exc, "setting", None)
    hint = f" (setting: `{setting}`)" if setting else ""
    prefix = f"{action} failed: " if action else ""
    st.error(f"{prefix}{plain(one_line(exc))}{hint}", icon=":material/error:")  # may echo outside text


@contextlib.contextmanager
def stop_on_error(action: str = "", *, detail: bool = False) -> Iterator[None]:
    """Run a page step; an error a person can cause or meet (any :class:`errors.StudioError`: the database
    went away, the model failed, a prompt file is broken...) becomes one :func:`error_box` and the page stops
    there. Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except StudioError as exc:
        error_box(exc, action=action, detail=detail)
        st.stop()


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes.

    >>> counted(1, "story", "stories"), counted(3, "story", "stories"), counted(0, "message")
    ('1 story', '3 stories', '0 messages')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def plain(text: str) -> str:
    """``text`` (a participant's, a model's or a facilitator's) as Markdown that every Streamlit element
    shows literally: ``st.markdown``, captions, alerts, titles, expander titles, widget labels and radio
    options. No link, image, icon, entity, typographic symbol, Markdown or HTML comes out of it; the
    reader sees ``text`` itself (the rules: :mod:`ui.literal`). Selectbox options, ``st.text``,
    ``st.code``, text inputs and ``st.dataframe`` cells are literal already and take raw text.
    """
    return literal.markdown(text)


def plain_stream(chunks: Iterable[str]) -> Iterator[str]:
    """:func:`plain` for a reply that streams (``st.write_stream(plain_stream(...))``), piece by piece."""
    return literal.markdown_stream(chunks)


def values_card(
    title: str, description: str, policies: list[str], *, caption: str = "", level: Literal[2, 3] = 2
) -> None:
    """A values card as a card: title, one sentence, and what the person attends to (all plain text).

    The title is a heading of ``level``: h2 under the page's title, h3 under a section's h2, so a page's
    headings go h1 → h2 → h3 without a gap (their sizes: ``headingFontSizes`` in .streamlit/config.toml).
    It is Streamlit's own heading element, without an anchor link (two cards may share a title).
    """
    with st.container(border=True):
        (st.header if level == 2 else st.subheader)(plain(title), anchor=False)
        if description:
            st.markdown(plain(description))
        if policies:
            st.markdown("**What this person pays attention to**")
            st.markdown("\n".join(f"- {plain(p)}" for p in policies))
        if caption:
            st.caption(plain(caption))


class ShownValue(Protocol):
    """A canonical value as the vote and judge pages get it (``ValueOptionPublic``, ``StoryValuePublic``)."""

    title: str
    description: str
    policies: list[str]
    seed: bool


def value_card(value: ShownValue, *, level: Literal[2, 3] = 2) -> None:
    """A peer's (or a seed's) value as a :func:`values_card`; a seed says the organisers suggested it."""
    values_card(
        value.title, value.description, value.policies, level=level, caption=SEED_LABEL if value.seed else ""
    )


def progress(stage: str, skipped: Collection[str] = ()) -> None:
    """Where the participant is across the steps (accessible: a labelled bar plus the step names); a step
    passed with nothing to do (``skipped``: the participant's ``skipped_steps``) reads "Others' values:
    skipped"."""
    steps = receipts.progress_of(stage, skipped).steps
    position = next((i for i, step in enumerate(steps) if step.current), 0)
    names = " → ".join(
        f"**{s.label}**" if s.current else f"{s.label}: skipped" if s.skipped else s.label for s in steps
    )
    st.progress(position / (len(steps) - 1), text=f"Step {position + 1} of {len(steps)}: {names}")
