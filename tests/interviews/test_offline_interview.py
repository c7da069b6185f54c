"""Smoke test: a short whole interview against the real bundled offline model (SmolLM2-135M)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from providers.accounting import RecordingCallback
from providers.chat import make_chat_model
from providers.local import stop_local_server
from services.facilitator import deliberations
from services.participant import cards, interviewing
from services.runtime.accounting import llm_call_sink
from services.runtime.retrying import RetryPolicy
from settings import load_settings
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from tests.worlds import usage


@pytest.fixture
def offline_model(tmp_path: Path, sqlite_engine: Engine) -> Iterator[object]:
    settings = load_settings(
        environ={"LLM_MODE": "local", "DATA_DIR": str(tmp_path / "data"), "LLM_MAX_TOKENS": "400"}, secrets={}
    )
    yield make_chat_model(settings, callbacks=[RecordingCallback(llm_call_sink(sqlite_engine))])
    stop_local_server()


@pytest.mark.slow
def test_a_short_interview_with_the_offline_model(sqlite_engine: Engine, offline_model) -> None:
    d = deliberations.create_deliberation(
        sqlite_engine, title="Smoke", questions=["My friend lied to me. Should I forgive her?"]
    )
    with session_scope(sqlite_engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id)).token
    view = interviewing.start_interview(sqlite_engine, token=token, question_id=d.questions[0].id)
    retry = RetryPolicy(attempts=2, backoff_s=0.1)
    for said in ("I think honesty matters, but so does mercy.", "Once my brother lied and I forgave him."):
        interviewing.post_message(sqlite_engine, token=token, interview_id=view.id, text=said)
        text = "".join(
            interviewing.reply(
                sqlite_engine,
                offline_model,
                token=token,
                interview_id=view.id,
                token_budget=50_000,
                retry=retry,
            )
        )
        assert text.strip()
    card = cards.request_card(sqlite_engine, offline_model, token=token, interview_id=view.id, retry=retry)
    assert card.title.strip() and card.policies  # a 135M model writes poor cards: the participant fixes them
    if card.problems:
        card = cards.edit_card(
            sqlite_engine,
            token=token,
            card_id=card.id,
            title="Honest Mercy",
            description="Holding honesty and forgiveness together when someone has let you down.",
            policies=["MOMENTS when the truth can be told without shaming", "CHANCES to rebuild trust"],
        )
    assert cards.submit_card(sqlite_engine, token=token, card_id=card.id, digest=card.digest).status == (
        "submitted"
    )
    spent = usage(sqlite_engine, deliberation_id=d.id)
    assert spent.calls >= 3 and spent.tokens_out > 0 and spent.errors == 0
