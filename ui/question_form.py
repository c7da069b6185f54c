"""The console's questions and contexts of a deliberation (pages/deliberation_settings.py): edit or remove
a question, add one, and set each question's contexts, typed or proposed by the model and edited first.

The model's proposals go into the contexts field (nothing is stored) and are kept per question
(``state.CONTEXT_PROPOSALS``) until saved, so that a proposal kept as written is stored as generated.
"""

from __future__ import annotations

import streamlit as st

from services.facilitator import deliberation_edits, deliberations, question_contexts
from ui import components, resources, state
from ui.auth import Facilitator
from ui.deliberation_form import attempt, digest


def questions(d: deliberations.DeliberationPublic, who: Facilitator) -> None:
    """Each question with its text and contexts, then a form to add one."""
    engine = resources.engine()
    for n, q in enumerate(d.questions, 1):
        with st.expander(f"Question {n}: {components.plain(q.text[:80])}", expanded=len(d.questions) == 1):
            _question(q, n, who)
            _contexts(q, n, who)
    with st.form(f"add-question-{d.id}-{len(d.questions)}"):
        text = st.text_area("New question")
        if st.form_submit_button("Add the question"):
            attempt(
                "Adding the question",
                lambda: deliberation_edits.add_question(
                    engine, deliberation_id=d.id, text=text, actor=who.name
                ),
                "Added the question.",
            )


def _question(q: deliberations.QuestionPublic, n: int, who: Facilitator) -> None:
    engine = resources.engine()
    key = f"question-{q.id}-{digest(q.text)}"
    with st.form(key):
        text = st.text_area(f"Text of question {n}", value=q.text, key=f"{key}-text")
        save, remove = st.columns(2)
        if save.form_submit_button("Save the question"):
            attempt(
                "Saving the question",
                lambda: deliberation_edits.edit_question(engine, question_id=q.id, text=text, actor=who.name),
                "Saved the question.",
            )
        if remove.form_submit_button("Remove the question"):  # refused, saying why, once it was answered
            attempt(
                "Removing the question",
                lambda: deliberation_edits.remove_question(engine, question_id=q.id, actor=who.name),
                "Removed the question.",
            )


def _contexts(q: deliberations.QuestionPublic, n: int, who: Facilitator) -> None:
    engine = resources.engine()
    stored = question_contexts.question_contexts(engine, question_id=q.id)
    key = f"contexts-{q.id}-{digest(stored)}"
    proposals: dict[int, question_contexts.ContextProposal] = st.session_state[state.CONTEXT_PROPOSALS]
    if state.field(key) is None:
        state.set_field(key, "\n".join(stored))
    ask, how_many = st.columns([2, 1])
    count = how_many.number_input(
        "How many", min_value=1, max_value=question_contexts.MAX_PROPOSED, value=5, key=f"{key}-n"
    )
    if ask.button("Propose contexts with the model", key=f"{key}-propose"):
        with st.spinner("Asking the model..."):
            proposal = attempt(
                "Proposing contexts",
                lambda: question_contexts.propose_contexts(
                    engine, resources.chat_model(), question_id=q.id, n=int(count)
                ),
                "The model's proposals are added below: edit them, then save the contexts.",
                rerun=False,  # the proposals go into the field below, drawn later in this run
            )
        if proposal is not None:
            proposals[q.id] = proposal
            typed = str(state.field(key) or "").rstrip("\n")
            state.set_field(key, "\n".join(t for t in (typed, *proposal.texts) if t))
            for rejected in proposal.rejected:
                st.caption(f"Left out: {components.plain(rejected)}")
    st.text_area(
        f'Contexts of question {n}, one per line ("When ...", 4-9 words)',
        key=key,
        height=160,
        help="Contexts you remove here stay in the deliberation; they are only unlinked from this question.",
    )
    if st.button("Save the contexts", key=f"{key}-save", type="primary"):

        def save() -> question_contexts.ContextsSaved:
            texts = str(state.field(key) or "").splitlines()
            saved = question_contexts.save_contexts(
                engine, question_id=q.id, texts=texts, actor=who.name, proposal=proposals.get(q.id)
            )
            proposals.pop(q.id, None)
            return saved

        attempt(
            "Saving the contexts",
            save,
            lambda saved: (
                f"Saved the contexts of question {n}: {len(saved.added)} added, {len(saved.linked)} linked "
                f"from the deliberation's other contexts, {len(saved.unlinked)} unlinked."
            ),
        )
