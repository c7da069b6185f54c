"""Participant: the interview chat, then the values card (confirm, ask for changes, or edit it)."""

import contextlib
import itertools
import time
from collections.abc import Iterator

import streamlit as st

from errors import InvalidInput, StudioError
from interviews.flow import can_go_back, chat_placeholder
from interviews.vocabulary import CONVERSATION, MessageRole, MessageStatus, ParticipantStage, Stage
from services.participant import cards, interviewing, reply_claims
from ui import components, params, participant, resources, state
from ui.router import through_router

through_router()

REPLY_POLL_S = 1.0  # how often the page looks again while another tab writes the reply

settings = resources.settings()
engine = resources.engine()
person = participant.home()
token = person.participant.token
participant.stay_on("pages/interview.py", person)

chosen = params.id_param(state.INTERVIEW, what="the interview number")
with components.stop_on_error():
    view = (
        interviewing.get_interview(engine, token=token, interview_id=chosen)
        if chosen is not None
        else interviewing.current_interview(engine, token=token)
    )
if view is None:
    participant.go(ParticipantStage.JOINED, token)

# What the participant sends is queued by the chat box (state.queue_send: one idempotency key per send) and
# stored here, first thing in the run, so no rerun, stream or second tab loses it and a send handled twice
# is stored once. The box is drawn in every run (Streamlit pins it to the bottom), so each send reaches
# the queue; after a send it stays disabled until the run, and the reply it streams, is over.
if sends := state.outbox():
    for send in sends:
        try:
            interviewing.post_message(
                engine, token=token, interview_id=send.interview_id, text=send.text, key=send.key
            )
        except InvalidInput as exc:  # refused (too long, the card already submitted): kept to show below
            state.refuse(send, str(exc))
            continue
        except StudioError as exc:  # the database failed: the send stays queued for the next run
            components.error_box(exc, action="Sending your message")
            st.stop()
        state.sent(send.key)
        st.session_state[state.LAST_ERROR] = None  # a new message is a new attempt
    with components.stop_on_error():
        view = interviewing.get_interview(engine, token=token, interview_id=view.id)
# A refused send stays on screen, with its text to copy, across the reruns a reply makes, until dismissed.
for refusal in state.refused():
    components.error_box(InvalidInput(refusal.reason), action="Sending your message")
    st.text_area("What you wrote, to copy and shorten", refusal.send.text, key=f"refused-{refusal.send.key}")
    st.button("Dismiss", key=f"dismiss-{refusal.send.key}", on_click=state.dismiss, args=(refusal.send.key,))
st.chat_input(
    chat_placeholder(Stage(view.state)),  # says what a message does: answer, or change the card
    key=state.CHAT_BOX,
    # Well above the service's limit: a longer paste reaches the service, which says so and the text is
    # shown back (the browser would drop a paste over max_chars without a word).
    max_chars=4 * interviewing.MAX_MESSAGE_CHARS,
    on_submit=state.queue_send,
    args=(view.id,),
    submit_mode="disable",
)

components.progress(person.participant.stage)
st.title("Interview")
with st.expander("The message we are thinking about", expanded=False):
    st.markdown(components.plain(view.question))

for message in view.messages:
    with st.chat_message("user" if message.role == MessageRole.USER else "assistant"):
        st.markdown(components.plain(message.content))
        if message.status == MessageStatus.CUT_OFF:
            st.caption("This reply was cut off.")
        elif message.status == MessageStatus.STREAMING:
            st.caption("The interviewer is still writing this reply...")


def _plain_stream(chunks: Iterator[str]) -> Iterator[str]:
    yield from components.plain_stream(chunks)  # literal across piece boundaries too


def respond(interview_id: int) -> None:
    """Stream the interviewer's reply (none when none is due, or when another tab writes it: the next run
    shows it); a failure is remembered and shown with a retry button."""
    try:
        chunks = interviewing.reply(
            engine,
            resources.chat_model(),
            token=token,
            interview_id=interview_id,
            token_budget=settings.participant_token_budget,
            stale_after_s=reply_claims.stale_after_s(settings),
            reply_max_tokens=settings.llm_reply_max_tokens,
        )
        try:
            with st.spinner("The interviewer is thinking..."):
                first = next(chunks, None)
            if first is not None:
                with st.chat_message("assistant"):
                    st.write_stream(_plain_stream(itertools.chain([first], chunks)))
        finally:  # a new run (a send, a click) stopped the stream: what was shown is kept, marked cut off
            chunks.close()
        st.session_state[state.LAST_ERROR] = None
    except StudioError as exc:
        st.session_state[state.LAST_ERROR] = components.participant_line(exc)
    st.rerun()


def write_card(interview_id: int) -> None:
    try:
        with st.spinner("Writing your card..."):
            cards.request_card(
                engine,
                resources.chat_model(),
                token=token,
                interview_id=interview_id,
                token_budget=settings.participant_token_budget,
            )
        st.session_state[state.LAST_ERROR] = None
    except StudioError as exc:
        st.session_state[state.LAST_ERROR] = components.participant_line(exc)
    st.rerun()


conversation = view.state in CONVERSATION
error = st.session_state[state.LAST_ERROR]
if error:
    if error != components.MODEL_TROUBLE:  # the model's trouble is plain words already
        error = f"Something went wrong: {error} Nothing you wrote is lost."
    st.error(components.plain(error), icon=":material/error:")
    if st.button("Try again", type="primary", icon=":material/refresh:"):
        st.session_state[state.LAST_ERROR] = None  # the steps below pick up where it failed
        st.rerun()
else:  # after a failure nothing is retried by itself; the card, its edit form and the chat stay usable
    if view.replying:  # another tab writes the reply (or wrote it, then died): look again in a moment
        time.sleep(REPLY_POLL_S)
        respond(view.id)  # nothing while that claim is alive; a claim left stale is taken over
    if view.awaiting_reply and (conversation or view.state == Stage.SHOW_CARD):
        respond(view.id)
    if view.state in (Stage.SHOW_CARD, Stage.REVISE) and (
        view.card is None or view.awaiting_reply or view.card_behind  # e.g. after going back to talk more
    ):
        write_card(view.id)

card = view.card
if card is not None and view.state in (Stage.SHOW_CARD, Stage.REVISE, Stage.SUBMITTED):
    components.values_card(card.title, card.description, card.policies)
    if card.problems:
        st.warning(
            "Before you can submit, please fix: " + "; ".join(components.plain(p) for p in card.problems),
            icon=":material/edit_note:",
        )
    if view.state == Stage.SUBMITTED:
        participant.go(person.participant.stage, token)
    # One row of buttons that wraps to the next line when their labels do not fit (never cut short).
    submit = change = back = edit = st.container(horizontal=True)
    if submit.button("This is my value: submit", type="primary", disabled=bool(card.problems)):
        with components.stop_on_error("Submitting the card"):
            cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
        # A side job: the card is safe and the person goes on, while the pipeline mines its contexts, links
        # it to a value and writes the stories of its new pairs (only the contexts with PIPELINE=off).
        with contextlib.suppress(StudioError):
            cards.start_pipeline(
                resources.jobs(),
                engine,
                resources.chat_model(),
                resources.embeddings(),
                token=token,
                card_id=card.id,
                automatic=settings.pipeline == "auto",
            )
        participant.go(ParticipantStage.VOTE, token)
    if change.button(
        "Ask for changes",
        disabled=view.state == Stage.REVISE,
        help="Say in the chat what should change: the card is rewritten with your changes.",
    ):
        with components.stop_on_error():
            cards.ask_for_changes(engine, token=token, interview_id=view.id)
        st.rerun()
    room = can_go_back(user_turns=view.user_turns, turn_limit=view.turn_limit) and not (
        interviewing.over_budget(view, settings.participant_token_budget)
    )
    if back.button(
        "Go back to the conversation",
        disabled=not room,
        help="Talk more with the interviewer; your next card is written from the whole conversation.",
    ):
        with components.stop_on_error():
            cards.back_to_conversation(
                engine, token=token, interview_id=view.id, token_budget=settings.participant_token_budget
            )
        st.session_state[state.EDITING_CARD] = False
        st.rerun()
    if not room:
        st.caption("The conversation has reached its length limit: ask for changes or edit the card.")
    if edit.button("Edit it myself") or card.problems:
        st.session_state[state.EDITING_CARD] = True
    if st.session_state[state.EDITING_CARD]:
        with st.form("edit_card"):
            title = st.text_input("Title (2-5 words)", card.title)  # the card rules refuse a long one
            description = st.text_area("One sentence about this way of choosing", card.description)
            policies = st.text_area(
                "What you pay attention to, one per line (start each with a plural noun in CAPS)",
                "\n".join(card.policies),
                height=180,
            )
            if st.form_submit_button("Save my changes"):
                with components.stop_on_error("Saving the card"):
                    cards.edit_card(
                        engine,
                        token=token,
                        card_id=card.id,
                        title=title,
                        description=description,
                        policies=policies.splitlines(),
                    )
                st.session_state[state.EDITING_CARD] = False
                st.rerun()

if conversation and view.user_turns >= 1 and st.button("Show me my card now", icon=":material/style:"):
    write_card(view.id)
