"""A deliberation for the pipeline tests: participants' submitted cards added one by one, and a scripted
model that answers every call of the pipeline by reading its prompt (contexts, a dedup partition that
groups cards by title, stories, passing judge scores)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage
from sqlalchemy import Engine

from providers.accounting import RecordingCallback
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from services.runtime.accounting import llm_call_sink
from storage.db import session_scope
from storage.tables import Participant, Question, ValuesCard, utcnow
from tests.services.dedup_world import title_judge
from tests.services.story_world import PASS

CONTEXT = "When someone faces a frightening choice"


def new_deliberation(engine: Engine, **config: object) -> tuple[int, int]:
    created = deliberations.create_deliberation(engine, title="Pipeline", questions=["Q one?"], config=config)
    return created.id, created.questions[0].id


def submit(engine: Engine, question_id: int, title: str) -> tuple[int, str]:
    """A new participant's submitted card on the question (as cards.submit_card leaves it): (card, token)."""
    with session_scope(engine) as session:
        deliberation_id = session.get_one(Question, question_id).deliberation_id
        person = Participant(deliberation_id=deliberation_id, stage="vote")
        session.add(person)
        session.flush()
        card = ValuesCard(
            participant_id=person.id,
            question_id=question_id,
            title=title,
            description=f"What {title.lower()} asks of us.",
            policies=[f"MOMENTS of {title.lower()}", "CHOICES people make for themselves"],
            status="submitted",
            submitted_at=utcnow(),
        )
        session.add(card)
        session.flush()
        assert card.id is not None
        return card.id, person.token


def answer(messages: list[BaseMessage]) -> dict[str, Any]:
    """Whatever the pipeline asks, answered validly: read from the prompt's tags."""
    prompt = str(messages[0].content)
    if "<new_cards>" in prompt:
        return title_judge(messages)
    if "<story>" in prompt:
        return {**PASS, "reason": "clear"}
    if "<value_a>" in prompt:
        title = prompt.split("<value_a>\nTitle: ", 1)[1].split("\n", 1)[0]
        return {"story": f"I lived by {title}. Then one evening I saw what it left out, and changed."}
    if "<values_card>" in prompt:
        return {"contexts": [CONTEXT]}
    raise AssertionError(f"an unexpected prompt: {prompt[:200]!r}")


def model(
    engine: Engine, calls: int, *, fail_at: int | None = None, error: BaseException | None = None
) -> ScriptedChatModel:
    """A scripted model good for ``calls`` pipeline calls (recorded as LLMCall rows); with ``fail_at`` the
    call of that number (1-based) raises ``error`` instead."""
    turns: list[Callable[[list[BaseMessage]], Any] | BaseException] = [answer] * calls
    if fail_at is not None:
        assert error is not None
        turns[fail_at - 1] = error
    return ScriptedChatModel(turns, callbacks=[RecordingCallback(llm_call_sink(engine))])
