"""Facilitator console: review deduplication for the chosen deliberation (DOMAIN.md §5). Its canonical
values; merge some into one or split cards off one, each previewed (what moves, per value) before it is
confirmed with a reason; hide or show a value; and the likely missed merges (closest pairs by embedding)."""

from functools import partial

import streamlit as st

from services.facilitator import values
from ui import auth, components, console, deliberation_form, moderation_forms, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()
engine = resources.engine()

st.title("Dedup review")
d = console.chosen_deliberation()
if d is None:
    st.stop()
deliberation_form.show_notice()
with components.stop_on_error("Loading the values", detail=True):
    found = values.list_values(engine, deliberation_id=d.id)
if not found:
    st.info("No canonical values yet: run dedup (Jobs page, or `python cli.py dedup`).")
    st.stop()
by_id = {v.id: v for v in found}


def name(value_id: int) -> str:
    v = by_id[value_id]
    return f"{v.id}: {v.title}{' (hidden)' if v.hidden else ''}"


st.header("Values")
st.dataframe(moderation_forms.value_rows(found), hide_index=True, width="stretch")
with st.form("hide-value"):
    chosen, reason = st.columns([2, 3])
    value_id = chosen.selectbox("Value", list(by_id), format_func=name, key="dedup-hide-value")
    why = reason.text_input("Reason (written to the moderation log)", key="dedup-hide-reason")
    moderation_forms.hide_value_buttons(by_id[value_id], deliberation_id=d.id, reason=why, who=who)

st.header("Merge values")
keep = st.selectbox("Keep", list(by_id), format_func=name, key="dedup-keep")
others = st.multiselect("Merge into it", [i for i in by_id if i != keep], format_func=name, key="dedup-merge")
if others:
    with components.stop_on_error("Previewing the merge", detail=True):
        merge = values.preview_merge(engine, deliberation_id=d.id, keep_id=keep, merge_ids=others)
    moderation_forms.merge_preview(merge)
    with st.form("confirm-merge"):
        why = st.text_input("Why they are one value", key="dedup-merge-reason")
        if st.form_submit_button("Confirm the merge", type="primary"):
            deliberation_form.attempt(
                "Merging",
                partial(
                    values.merge,
                    engine,
                    deliberation_id=d.id,
                    keep_id=keep,
                    merge_ids=others,
                    reason=why,
                    actor=who.name,
                ),
                lambda m: f"Merged values {', '.join(map(str, m.merged_ids))} into value {m.keep_id}.",
            )

st.header("Split a value")
source = st.selectbox("Value", list(by_id), format_func=name, key="dedup-split-value")
cards = {c.id: c for c in by_id[source].cards}
moving = st.multiselect(
    "Cards to move to a new value",
    list(cards),
    format_func=lambda i: f"{i}: {cards[i].title}",
    key="dedup-split",
)
title = st.text_input("Title of the new value (default: the first card's)", key="dedup-split-title")
if moving:
    with components.stop_on_error("Previewing the split", detail=True):
        split = values.preview_split(
            engine, canonical_id=source, card_ids=moving, title=title or None, deliberation_id=d.id
        )
    moderation_forms.split_preview(split)
    with st.form("confirm-split"):
        why = st.text_input("Why they differ", key="dedup-split-reason")
        if st.form_submit_button("Confirm the split", type="primary"):
            deliberation_form.attempt(
                "Splitting",
                partial(
                    values.split,
                    engine,
                    canonical_id=source,
                    card_ids=moving,
                    title=title or None,
                    reason=why,
                    actor=who.name,
                    deliberation_id=d.id,
                ),
                lambda s: f"Split cards off value {s.canonical_id} into value {s.new_canonical_id}.",
            )

st.header("Likely missed merges")
st.caption("The closest pairs of visible values by embedding (one embedding call for all values).")
top = st.number_input("How many pairs", min_value=1, max_value=values.MAX_MISSED, value=10, key="dedup-top")
if st.toggle("Show them", key="dedup-missed"):
    with components.stop_on_error("Finding likely missed merges", detail=True):
        pairs = moderation_forms.missed_merges(d.id, int(top), found)
    if pairs:
        st.dataframe(pairs, hide_index=True, width="stretch")
        st.caption("Choose a pair under Merge values to preview what merging them moves.")
    else:
        st.info("Fewer than two visible values: nothing to compare.")
