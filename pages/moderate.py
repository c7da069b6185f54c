"""Facilitator console: moderate the chosen deliberation. Search its cards and transcripts (with the
latest grades beside them, and a "grade" action), hide or show again a card or its value, edit a card's
wording, and read the moderation log (filtered by action, downloadable as CSV)."""

from functools import partial

import streamlit as st

from interviews.vocabulary import CardStatus, values_of
from services.facilitator import moderation
from ui import auth, components, console, deliberation_form, moderation_forms, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()
engine = resources.engine()

st.title("Moderate")
d = console.chosen_deliberation()
if d is None:
    st.stop()
deliberation_form.show_notice()
did = d.id
PAGE = 20


def cards() -> None:
    query, status, page = st.columns([3, 1, 1])
    text = query.text_input("Search cards (title, description, policies)", key="moderate-card-search")
    picked = status.selectbox("Status", ["any", *values_of(CardStatus)], key="moderate-card-status")
    number = page.number_input("Page", min_value=1, value=1, key="moderate-card-page")
    with components.stop_on_error("Searching the cards", detail=True):
        found = moderation.search_cards(
            engine,
            deliberation_id=did,
            text=text,
            status=None if picked == "any" else picked,
            limit=PAGE,
            offset=(int(number) - 1) * PAGE,
        )
    if not found.hits:
        st.info("No cards match." if text else "No cards yet.")
    for hit in found.hits:
        c = hit.card
        value = f"value {c.canonical_value_id}: {hit.value_title}" if hit.value_title else "no value yet"
        value += " (hidden)" if hit.value_hidden else ""
        caption = f"Card {c.id} · {c.status} · {value} · {moderation_forms.grades_line(hit.grades)}"
        components.values_card(c.title, c.description, c.policies, caption=caption, level=3)
        with st.expander(f"Moderate card {c.id}"):
            moderation_forms.card_actions(hit, deliberation_id=did, who=who)
    if found.more:
        st.caption("More cards match: go to the next page.")


def transcripts() -> None:
    query, page = st.columns([4, 1])
    text = query.text_input("Search transcripts (what was said)", key="moderate-talk-search")
    number = page.number_input("Page", min_value=1, value=1, key="moderate-talk-page")
    with components.stop_on_error("Searching the transcripts", detail=True):
        talks = moderation.search_transcripts(
            engine, deliberation_id=did, text=text, limit=PAGE, offset=(int(number) - 1) * PAGE
        )
    if not talks.hits:
        st.info("No transcripts match." if text else "No interviews yet.")
    for t in talks.hits:
        with st.container(border=True):
            st.subheader(f"Interview {t.interview_id}", anchor=False)
            st.caption(
                f"participant {t.participant_id} · question {t.question_id} · {t.state} · "
                f"{components.counted(t.messages, 'message')} · {moderation_forms.grades_line(t.grades)}"
            )
            for e in t.excerpts:
                st.text(f"{'Participant' if e.role == 'user' else 'Interviewer'}: {e.text}")
            if t.grades:
                rows = [{"criterion": a, "grade": g, "reason": r} for a, g, r in t.grades.rows]
                st.dataframe(rows, hide_index=True, width="stretch")
            moderation_forms.grade_button(t.interview_id, deliberation_id=did, who=who)
            whole = st.expander(
                "Whole conversation", key=f"moderate-talk-{t.interview_id}", on_change="rerun"
            )
            if whole.open:  # loaded only when opened
                with whole, components.stop_on_error("Loading it", detail=True):
                    for m in moderation.transcript(engine, deliberation_id=did, interview_id=t.interview_id):
                        st.text(f"{m.seq} {m.role} ({m.status}): {m.content}")


def moderation_log() -> None:
    with components.stop_on_error("Loading the moderation log", detail=True):
        actions = moderation.log_actions(engine, deliberation_id=did)
        action = st.selectbox("Action", ["every action", *actions], key="moderate-log-action")
        chosen = None if action == "every action" else action
        events = moderation.log(engine, deliberation_id=did, action=chosen)
    st.download_button(  # the CSV (up to 10,000 events) is made when the button is clicked
        "Download as CSV",
        partial(moderation.log_csv, engine, deliberation_id=did, action=chosen),
        file_name=f"moderation-{did}.csv",
        mime="text/csv",
        key="moderate-csv",
    )
    rows = moderation_forms.log_rows(events)
    if rows:  # the reason is what a reader of the log looks for: wide enough to read it
        reason = st.column_config.TextColumn("reason", width="medium")
        st.dataframe(rows, hide_index=True, width="stretch", column_config={"reason": reason})
    else:
        st.info("Nothing logged yet.")


# Only the chosen tab runs its searches (or loads the log).
tabs = st.tabs(["Cards", "Transcripts", "Moderation log"], key="moderate-tab", on_change="rerun")
for tab, build in zip(tabs, (cards, transcripts, moderation_log), strict=True):
    if tab.open:
        with tab:
            build()
