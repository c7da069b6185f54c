"""Every model call the app makes, chat or embedding, becomes an LLMCall row."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import HumanMessage
from sqlalchemy import Engine

from services.facilitator import system
from services.runtime import model_clients
from settings import load_settings
from storage import repo_llm_calls
from storage.db import session_scope


def test_chat_and_embedding_calls_are_stored(sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(environ={"LLM_MODE": "fake", "DATA_DIR": str(tmp_path)}, secrets={})
    chat = model_clients.chat_model(settings, sqlite_engine)
    chat.invoke([HumanMessage("hello")], config={"metadata": {"purpose": "interview"}})
    assert "".join(str(c.content) for c in chat.stream([HumanMessage("again")]))

    vectors = model_clients.embeddings(settings, sqlite_engine).embed_documents(
        ["a dog runs", "a cat sleeps"]
    )
    assert len(vectors) == 2 and len(vectors[0]) == 384

    with session_scope(sqlite_engine) as session:
        summary = repo_llm_calls.usage_summary(session)
    assert summary.calls == 3 and summary.errors == 0
    assert summary.tokens_in > 0


def test_model_check_reports_a_reply(sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(environ={"LLM_MODE": "fake", "DATA_DIR": str(tmp_path)}, secrets={})
    assert system.check_model(model_clients.chat_model(settings, sqlite_engine))
