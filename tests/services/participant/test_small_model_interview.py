"""An interview with a small model (issue 11 item 4): the compact prompts are chosen at the start and kept
(their refs recorded), each chat reply is capped at LLM_REPLY_MAX_TOKENS (also in the body llama.cpp
reads), kept brief and ends with its stage's question; the card is written with the compact prompt."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from interviews.flow import Stage, fallback_question
from interviews.prompting import load_prompt
from providers.chat import make_chat_model
from providers.fakes import FakeEndpoint, ScriptedChatModel
from services.facilitator import deliberations
from services.participant import cards, interviewing
from services.runtime.retrying import RetryPolicy
from settings import load_settings
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from storage.tables import Interview
from tests.worlds import HONEST_CARD

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda s: None)


def _start(engine: Engine, style: str) -> tuple[str, int]:
    d = deliberations.create_deliberation(engine, title="T", questions=["My friend lied to me. Forgive her?"])
    with session_scope(engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id)).token
    view = interviewing.start_interview(
        engine,
        token=token,
        question_id=d.questions[0].id,
        prompt_style=style,  # type: ignore[arg-type]
    )
    return token, view.id


def _say(engine: Engine, model, token: str, interview_id: int, text: str) -> str:
    interviewing.post_message(engine, token=token, interview_id=interview_id, text=text)
    return "".join(
        interviewing.reply(
            engine,
            model,
            token=token,
            interview_id=interview_id,
            token_budget=10**6,
            retry=NO_WAIT,
            reply_max_tokens=42,
        )
    )


def test_the_compact_prompts_are_recorded_and_kept_for_the_whole_interview(engine: Engine) -> None:
    token, interview_id = _start(engine, "compact")
    with session_scope(engine) as s:
        refs = s.get(Interview, interview_id).prompt_versions
    assert refs == {
        name: load_prompt(name, "compact").ref for name in ("interviewer", "articulate_card", "repair_card")
    }
    assert all(".compact@" in ref for ref in refs.values())
    view = interviewing.get_interview(engine, token=token, interview_id=interview_id)
    assert view.prompt_style == "compact"

    monologue = "That is a lovely thought. " + "Honesty is a value that many people hold dear in life. " * 5
    model = ScriptedChatModel([monologue, "What did you notice? And then?", HONEST_CARD])
    shown = _say(engine, model, token, interview_id, "Honesty matters, but so does mercy.")
    brief = (
        "That is a lovely thought. " + "Honesty is a value that many people hold dear in life. " * 2
    ).strip()
    assert shown == f"{brief}\n\n{fallback_question(Stage.STORY, 1)}"  # 30 words at most, then the question
    assert "one real moment" in model.calls[0][0].content  # the compact system prompt and its stage aim
    assert _say(engine, model, token, interview_id, "My brother lied once.") == "What did you notice?"
    stored = [
        m.content for m in interviewing.get_interview(engine, token=token, interview_id=interview_id).messages
    ]
    assert stored[-3].endswith(fallback_question(Stage.STORY, 1)) and stored[-1] == "What did you notice?"

    card = cards.request_card(engine, model, token=token, interview_id=interview_id, retry=NO_WAIT)
    assert card.title == HONEST_CARD["title"]
    assert "Write a card about the one thing the participant cares about" in model.calls[-1][0].content


def test_the_full_prompts_by_default_and_no_added_question(engine: Engine) -> None:
    token, interview_id = _start(engine, "full")
    model = ScriptedChatModel(["I see. You value honesty."])
    assert _say(engine, model, token, interview_id, "Honesty.") == "I see. You value honesty."
    assert "getting a story" in model.calls[0][0].content
    assert interviewing.get_interview(engine, token=token, interview_id=interview_id).prompt_style == "full"


def test_the_reply_cap_reaches_a_llama_cpp_server_in_both_fields(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    token, interview_id = _start(sqlite_engine, "compact")
    environ = {"LLM_BASE_URL": "http://llm.test/v1", "LLM_MODEL": "m", "DATA_DIR": str(tmp_path)}
    endpoint = FakeEndpoint("What mattered most to you then?")
    model = make_chat_model(load_settings(environ=environ, secrets={}), http_client=endpoint.client())
    assert _say(sqlite_engine, model, token, interview_id, "Honesty.") == "What mattered most to you then?"
    (body,) = endpoint.bodies
    assert body["stream"] and body["max_tokens"] == 42 and body["max_completion_tokens"] == 42


def _last_reply(engine: Engine, token: str, interview_id: int):
    return interviewing.get_interview(engine, token=token, interview_id=interview_id).messages[-1]


def test_the_participant_reads_the_shaped_reply_and_the_models_own_text_is_kept(engine: Engine) -> None:
    token, interview_id = _start(engine, "compact")
    asked_twice = "That is hard. What did you notice? And what did you do next?"
    model = ScriptedChatModel([asked_twice, "Thank you.", {"reason": "enough"}])
    assert (
        _say(engine, model, token, interview_id, "Honesty matters.") == "That is hard. What did you notice?"
    )
    reply = _last_reply(engine, token, interview_id)
    assert (reply.content, reply.model_text, reply.shaping) == (
        "That is hard. What did you notice?",
        asked_twice,
        ["cut_after_question"],
    )
    question = fallback_question(Stage.ZOOM_IN, 2)
    assert _say(engine, model, token, interview_id, "My brother lied.") == f"Thank you.\n\n{question}"
    reply = _last_reply(engine, token, interview_id)
    # the stage's question is the app's words: the model's own text says what it wrote
    assert (reply.content, reply.model_text, reply.shaping) == (
        f"Thank you.\n\n{question}",
        "Thank you.",
        ["question_added"],
    )
    assert _say(engine, model, token, interview_id, "That he told me.") == interviewing.READY_MESSAGE
    reply = _last_reply(engine, token, interview_id)
    assert (reply.content, reply.model_text, reply.shaping) == (
        interviewing.READY_MESSAGE,
        "",
        ["ready_message"],
    )


def test_a_capable_models_reply_is_stored_as_it_wrote_it(engine: Engine) -> None:
    token, interview_id = _start(engine, "full")
    reply_text = "You mentioned honesty. Is that right? If so, what did honesty look like for you?"
    model = ScriptedChatModel([reply_text])
    assert _say(engine, model, token, interview_id, "Honesty.") == reply_text
    reply = _last_reply(engine, token, interview_id)
    assert (reply.content, reply.model_text, reply.shaping) == (reply_text, None, [])
