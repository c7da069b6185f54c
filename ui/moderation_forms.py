"""The console's moderation pieces, over :mod:`services.facilitator.moderation` and
:mod:`services.facilitator.values`: acting on one card and the log as table rows (pages/moderate.py), the
values table, hiding a value, the merge and split previews and the likely missed merges
(pages/dedup_review.py). Every action needs a reason and is attributed to ``who``.

The wording fields are keyed by the card and the digest of its stored wording, so a failed save keeps what
was typed (the error box above the form) and a successful one shows what is stored.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import streamlit as st

from interviews.vocabulary import CardStatus
from services.facilitator import moderation, values
from ui import components, deliberation_form, resources
from ui.auth import Facilitator

#: The choices of :func:`services.facilitator.moderation.hide_card` for a value that has the card's words.
VALUE_CHOICE_LABELS = {
    moderation.HIDE_VALUE_TOO: "hides the value too",
    moderation.KEEP_VALUE: "keeps the value as it is (or edit the wording below first: the value follows)",
}


def _message(done: moderation.Done) -> str:
    return done.message


def grades_line(g: moderation.StoredGrades | None) -> str:
    """An interview's latest grades in a few words (for a caption)."""
    return f"graded {g.overall} by {g.model} ({g.actor})" if g else "not graded"


def card_actions(hit: moderation.CardHit, *, deliberation_id: int, who: Facilitator) -> None:
    """Hide the card or show it again, the same for its value, and edit its wording (not a draft's)."""
    engine = resources.engine()
    c = hit.card
    with st.form(f"moderate-card-{c.id}"):
        reason = st.text_input("Reason (written to the moderation log)", key=f"card-reason-{c.id}")
        hide, show, value = st.columns(3)
        on: dict[str, Any] = {"deliberation_id": deliberation_id, "reason": reason, "actor": who.name}
        choice = None
        if hit.value_has_its_words and c.status != CardStatus.HIDDEN:
            choice = st.radio(
                f"Value {c.canonical_value_id} carries this card's words word for word. Hiding the card:",
                moderation.VALUE_CHOICES,
                index=None,
                format_func=VALUE_CHOICE_LABELS.__getitem__,
                key=f"hide-card-value-{c.id}",
            )
        if c.status != CardStatus.HIDDEN and hide.form_submit_button("Hide card", key=f"hide-card-{c.id}"):
            act = partial(moderation.hide_card, engine, card_id=c.id, value=choice, **on)
            deliberation_form.attempt("Hiding the card", act, _message)
        if c.status == CardStatus.HIDDEN and show.form_submit_button(
            "Show card again", key=f"show-card-{c.id}"
        ):
            act = partial(moderation.unhide_card, engine, card_id=c.id, **on)
            deliberation_form.attempt("Showing the card", act, _message)
        label = "Show its value again" if hit.value_hidden else "Hide its value"
        if c.canonical_value_id is not None and value.form_submit_button(label, key=f"card-value-{c.id}"):
            change = moderation.unhide_value if hit.value_hidden else moderation.hide_value
            act = partial(change, engine, value_id=c.canonical_value_id, **on)
            deliberation_form.attempt("Changing the value", act, _message)
    if c.status == CardStatus.DRAFT:
        st.caption("A draft: its author is still writing it.")
        return
    with st.form(f"edit-card-{c.id}"):
        key = f"{c.id}-{c.digest}"
        title = st.text_input("Title", value=c.title, key=f"edit-title-{key}")
        description = st.text_area("Description", value=c.description, key=f"edit-description-{key}")
        policies = st.text_area(
            "What the person pays attention to, one per line",
            value="\n".join(c.policies),
            key=f"edit-p-{key}",
        )
        reason = st.text_input("Reason for the edit", key=f"edit-reason-{key}")
        if st.form_submit_button("Save wording", key=f"edit-card-{key}"):
            act = partial(
                moderation.edit_card,
                engine,
                deliberation_id=deliberation_id,
                card_id=c.id,
                title=title,
                description=description,
                policies=policies.splitlines(),
                reason=reason,
                actor=who.name,
            )
            deliberation_form.attempt("Editing the card", act, _message)


def grade_button(interview_id: int, *, deliberation_id: int, who: Facilitator) -> None:
    """The "Grade" action of a transcript: one model call, with a spinner, its grades kept."""
    if not st.button("Grade", key=f"grade-{interview_id}", help="One call to the chat model."):
        return

    def grade() -> moderation.StoredGrades:
        return moderation.grade(
            resources.engine(),
            resources.chat_model(),
            deliberation_id=deliberation_id,
            interview_id=interview_id,
            actor=who.name,
        )

    with st.spinner("Grading the transcript..."):
        deliberation_form.attempt(
            "Grading", grade, lambda g: f"Interview {g.interview_id} graded {g.overall}."
        )


def log_rows(events: list[moderation.ModerationEventPublic]) -> list[dict[str, str]]:
    """The log as table rows (a dataframe shows each cell literally)."""
    return [
        {
            "when": e.created_at.isoformat(timespec="seconds"),
            "who": e.actor,
            "action": e.action,
            "target": f"{e.target_type} {e.target_id if e.target_id is not None else ''}".strip(),
            "reason": e.reason,
            "details": json.dumps(e.details, ensure_ascii=False, sort_keys=True, default=str),
        }
        for e in events
    ]


# --- dedup review ---------------------------------------------------------------------------------------


def _origin(v: values.CanonicalValuePublic) -> str:
    if v.seed:
        return "seed"
    return "dedup" if v.dedup_run else "imported" if v.external_ref else "split"


def value_rows(found: list[values.CanonicalValuePublic]) -> list[dict[str, Any]]:
    """The values as table rows: id, title, member cards (hidden ones counted apart), votes, origin."""
    return [
        {
            "id": v.id,
            "title": v.title,
            "cards": len(v.cards),
            "hidden cards": sum(c.status == CardStatus.HIDDEN for c in v.cards),
            "votes": v.votes,
            "origin": _origin(v),
            "hidden": v.hidden,
        }
        for v in found
    ]


def hide_value_buttons(
    value: values.CanonicalValuePublic, *, deliberation_id: int, reason: str, who: Facilitator
) -> None:
    """The submit buttons of the "hide a value" form (inside it)."""
    on: dict[str, Any] = {"deliberation_id": deliberation_id, "value_id": value.id, "reason": reason}
    hide, show = st.columns(2)
    if hide.form_submit_button("Hide value"):
        act = partial(moderation.hide_value, resources.engine(), actor=who.name, **on)
        deliberation_form.attempt("Hiding the value", act, _message)
    if show.form_submit_button("Show value again"):
        act = partial(moderation.unhide_value, resources.engine(), actor=who.name, **on)
        deliberation_form.attempt("Showing the value", act, _message)


def _counts_rows(rows: list[tuple[str, values.ValueCounts]]) -> list[dict[str, Any]]:
    return [
        {
            "role": role,
            "value": c.value_id,
            "title": c.title,
            "cards": c.cards,
            "votes": c.votes,
            "stories": c.stories,
            "judgements": c.judgements,
            "hidden": c.hidden,
        }
        for role, c in rows
    ]


def merge_preview(preview: values.MergePreview) -> None:
    """What the merge would move, per value, and what it would do in all."""
    if preview.already_done:
        st.info(f"Nothing to do: these values were merged into value {preview.keep.value_id} before.")
        return
    rows = [("keep", preview.keep), *(("merge", m) for m in preview.merging)]
    st.dataframe(_counts_rows(rows), hide_index=True, width="stretch")
    done = [f"{n} {k.replace('_', ' ')}" for k, n in preview.counts.items() if n]
    st.markdown(f"The merge would do: {', '.join(done) or 'nothing but remove the merged values'}.")
    if preview.keep.hidden:
        st.caption("These values are hidden: the merged value stays hidden.")
    if preview.already_merged:
        st.caption(f"Merged before: {', '.join(map(str, preview.already_merged))}.")


def split_preview(preview: values.SplitPreview) -> None:
    """Which cards would move to the new value and which stay; votes and stories stay."""
    if preview.already_done:
        st.info("Nothing to do: these cards were split off before.")
        return
    st.markdown(f"A new value titled {components.plain(preview.title)} would take:")
    st.dataframe([{"card": c.id, "title": c.title} for c in preview.moving], hide_index=True, width="stretch")
    st.markdown("These cards stay:")
    st.dataframe(
        [{"card": c.id, "title": c.title} for c in preview.staying], hide_index=True, width="stretch"
    )
    v = preview.value
    st.caption(
        f"{v.votes} votes, {v.stories} stories and {v.judgements} judgements stay with value {v.value_id}."
        + (" It is hidden: the new value will be hidden too." if v.hidden else "")
    )


@st.cache_data(ttl=600, show_spinner="Embedding the values...")
def _missed(deliberation_id: int, top: int, fingerprint: tuple[Any, ...]) -> list[dict[str, Any]]:
    del fingerprint  # part of the cache key only: the values changed, embed them again
    pairs = values.missed_merges(
        resources.engine(), resources.embeddings(), deliberation_id=deliberation_id, top=top
    )
    return [
        {
            "value": p.a,
            "title": p.a_title,
            "and value": p.b,
            "its title": p.b_title,
            "similarity": p.similarity,
        }
        for p in pairs
    ]


def missed_merges(
    deliberation_id: int, top: int, found: list[values.CanonicalValuePublic]
) -> list[dict[str, Any]]:
    """The likely missed merges as table rows (kept for ten minutes while the values stay as they are)."""
    fingerprint = tuple((v.id, v.updated_at.isoformat(), v.hidden, v.title) for v in found)
    return _missed(deliberation_id, top, fingerprint)
