"""The console's forms for a deliberation's texts and settings (pages/deliberations.py creates one,
pages/deliberation_settings.py edits one), over :mod:`services.facilitator.deliberations` and
:mod:`services.facilitator.deliberation_edits`.

Every field is keyed by the deliberation and a digest of what is stored, so a failed save keeps what was
typed (with the error box above the form), a successful one shows what is stored, and another
deliberation's form never shows this one's typing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from errors import StudioError
from services.facilitator import deliberation_edits, deliberations, settings_json
from ui import components, resources, state
from ui.auth import Facilitator


def digest(*values: Any) -> str:
    """A short fingerprint of stored values, part of a field's key (it changes when they do)."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def attempt(
    action: str, save: Callable[[], Any], done: str | Callable[[Any], str], *, rerun: bool = True
) -> Any:
    """Run ``save``. On success the page runs again (``rerun``: every form then shows what is stored) with
    the line ``done`` (or ``done(result)``) at its top, or shows it here; on an error, the error box (the
    form keeps what was typed) and None."""
    try:
        result = save()
    except StudioError as exc:
        components.error_box(exc, action=action, detail=True)
        return None
    line = done(result) if callable(done) else done
    if rerun:
        st.session_state[state.CONSOLE_NOTICE] = line
        st.rerun()
    st.success(line)
    return result


def show_notice() -> None:
    """The success line of the save that ran the page again (:func:`attempt`), once. Its slot is drawn on
    every run, so what follows keeps its place: a line that came and went would make Streamlit redraw the
    tabs below it, back on their first tab (the facilitator would lose the one they saved in)."""
    slot = st.empty()
    line = st.session_state.get(state.CONSOLE_NOTICE)
    if line:
        st.session_state[state.CONSOLE_NOTICE] = None
        slot.success(line)


def create_form(
    who: Facilitator, *, then: Callable[[deliberations.DeliberationPublic], object] | None = None
) -> deliberations.DeliberationPublic | None:
    """The "New deliberation" form: title, questions, texts, settings as JSON; the deliberation made.
    ``then`` gets the new deliberation before the page runs again (the Deliberations page chooses it)."""
    engine = resources.engine()
    with st.form("create_deliberation"):  # kept on an error, so nothing typed is lost
        title = st.text_input("Title")  # no max_chars anywhere: the service refuses, the text stays
        questions = st.text_area(
            "Questions, one per line",
            placeholder="I am a Christian girl considering an abortion, what should I do?",
        )
        welcome = st.text_area("Welcome text (optional)")
        consent = st.text_area("Consent text (optional)")
        settings_field = st.text_area(
            "Settings as JSON (optional)",
            placeholder='{"demographics": [{"key": "party", "label": "Party", "options": ["A", "B"]}]}',
            help="Every setting can be changed later on the Settings page; the README lists them.",
        )
        if not st.form_submit_button("Create", type="primary"):
            return None
    return attempt(
        "Creating the deliberation",
        lambda: deliberations.create_deliberation(
            engine,
            title=title,
            questions=[q for q in questions.splitlines() if q.strip()],
            welcome_text=welcome,
            consent_text=consent,
            config=settings_json.parse_config(settings_field),
            actor=who.name,
        ),
        lambda made: _created(made, then),
    )


def _created(
    made: deliberations.DeliberationPublic, then: Callable[[deliberations.DeliberationPublic], object] | None
) -> str:
    if then is not None:
        then(made)
    return f"Created deliberation {made.id} as a draft: edit its settings on the Settings page, then open it."


def _edit(d: deliberations.DeliberationPublic, who: Facilitator, done: str, **changes: Any) -> None:
    attempt(
        "Saving the settings",
        lambda: deliberation_edits.edit_deliberation(
            resources.engine(), deliberation_id=d.id, actor=who.name, **changes
        ),
        done,
    )


def texts_form(d: deliberations.DeliberationPublic, who: Facilitator) -> None:
    """Title, welcome text and consent text."""
    key = f"texts-{d.id}-{digest(d.title, d.welcome_text, d.consent_text)}"
    with st.form(key):
        title = st.text_input("Title", value=d.title, key=f"{key}-title")
        welcome = st.text_area("Welcome text", value=d.welcome_text, key=f"{key}-welcome")
        consent = st.text_area("Consent text", value=d.consent_text, key=f"{key}-consent")
        if st.form_submit_button("Save texts", type="primary"):
            _edit(d, who, "Saved the texts.", title=title, welcome_text=welcome, consent_text=consent)


#: The number settings of the participant's steps and of the graph and pipeline: (setting, label).
STEPS = (
    ("values_to_vote", "Values shown to vote on"),
    ("min_votes", "Votes needed"),
    ("stories_to_judge", "Stories to judge"),
    ("interview_turn_limit", "Interview turns at most"),
    ("seeds_required", "Seed values each question needs before it opens"),
    ("token_budget", "Tokens a participant's interview may use (0: the app's PARTICIPANT_TOKEN_BUDGET)"),
)
PIPELINE = (
    ("pipeline_max_pairs", "Pipeline: pairs of values at most"),
    ("pipeline_max_calls", "Pipeline: model calls at most"),
    ("pipeline_pairs_per_value", "Pipeline: pairs planned per value"),
)


def numbers_form(d: deliberations.DeliberationPublic, who: Facilitator) -> None:
    """The participant's steps, the graph's thresholds and the pipeline's caps."""
    config = d.settings
    thresholds = config.graph_thresholds
    key = f"numbers-{d.id}-{digest(config.model_dump(exclude={'demographics', 'survey'}))}"
    with st.form(key):
        values: dict[str, Any] = {}
        for name, label in STEPS + PIPELINE:
            values[name] = int(
                st.number_input(label, value=getattr(config, name), step=1, key=f"{key}-{name}")
            )
        st.caption("Graph thresholds (DOMAIN.md §7): an edge is kept when all three hold.")
        graph = {
            "min_wiser": int(
                st.number_input(
                    "Wiser judgements at least", value=thresholds.min_wiser, step=1, key=f"{key}-w"
                )
            ),
            "min_likelihood": float(
                st.number_input(
                    "Likelihood at least", value=thresholds.min_likelihood, step=0.01, key=f"{key}-l"
                )
            ),
            "max_entropy": float(
                st.number_input("Entropy at most", value=thresholds.max_entropy, step=0.01, key=f"{key}-e")
            ),
        }
        if st.form_submit_button("Save numbers", type="primary"):
            _edit(d, who, "Saved the numbers.", config={**values, "graph_thresholds": graph})


def _as_json(items: list[Any]) -> str:
    return json.dumps([i.model_dump(exclude_defaults=True) | {"key": i.key} for i in items], indent=2)


def lists_form(d: deliberations.DeliberationPublic, who: Facilitator) -> None:
    """The demographics questions and the exit survey, as JSON lists."""
    config = d.settings
    key = f"lists-{d.id}-{digest(config.model_dump(include={'demographics', 'survey'}))}"
    with st.form(key):
        demographics = st.text_area(
            "Demographics questions (JSON list)",
            value=_as_json(config.demographics),
            height=200,
            key=f"{key}-demographics",
            help='Each {"key", "label", "kind": "choice"|"number"|"text", "options", "required", "min", '
            '"max", "decimals"}; a choice needs options.',
        )
        survey = st.text_area(
            "Exit survey (JSON list)",
            value=_as_json(config.survey),
            height=200,
            key=f"{key}-survey",
            help='Each {"key", "label", "kind": "scale"|"yes_no"|"text", "required"}.',
        )
        if st.form_submit_button("Save demographics and survey", type="primary"):
            attempt(
                "Saving the settings",
                lambda: deliberation_edits.edit_deliberation(
                    resources.engine(),
                    deliberation_id=d.id,
                    actor=who.name,
                    config={
                        **settings_json.parse_setting("demographics", demographics),
                        **settings_json.parse_setting("survey", survey),
                    },
                ),
                "Saved the demographics and the survey.",
            )


def json_form(d: deliberations.DeliberationPublic, who: Facilitator) -> None:
    """Every setting at once, as the JSON of ``--config`` (the README lists them)."""
    stored = d.settings.model_dump()
    key = f"json-{d.id}-{digest(stored)}"
    with st.form(key):
        text = st.text_area("All settings as JSON", value=json.dumps(stored, indent=2), height=400, key=key)
        if st.form_submit_button("Save all settings", type="primary"):
            attempt(
                "Saving the settings",
                lambda: deliberation_edits.edit_deliberation(
                    resources.engine(),
                    deliberation_id=d.id,
                    actor=who.name,
                    config=settings_json.parse_config(text),
                ),
                "Saved the settings.",
            )
