"""Opening the database and describing the running system (landing page, ``cli.py status``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from settings import LOCAL_EMBEDDING, Settings
from storage import db, repo_deliberations, repo_llm_calls
from storage.db import session_scope

if TYPE_CHECKING:  # langchain loads only for the model check, so `cli.py status` starts fast
    from langchain_core.language_models import BaseChatModel


def open_database(settings: Settings) -> Engine:
    """The engine for ``settings.database_url`` with its schema upgraded in place to the newest revision."""
    return db.init_db(settings.database_url, pool_size=settings.db_pool_size)


@dataclass(frozen=True)
class SystemStatus:
    model_mode: str  # openai | local | fake
    model_name: str
    model_endpoint: str
    embedding: str
    database_backend: str
    database: str
    schema_revision: str
    deliberations: int
    model_calls: int


def describe(settings: Settings, engine: Engine, *, local_endpoint: str | None = None) -> SystemStatus:
    """What the app runs on, in words a facilitator can check against their configuration."""
    mode = settings.effective_llm_mode
    if mode == "openai":
        endpoint = settings.llm_base_url or "https://api.openai.com/v1 (OpenAI)"
    elif mode == "local":
        endpoint = local_endpoint or "bundled offline model (starts on first use)"
    else:
        endpoint = "none: scripted demo replies"
    embedding = settings.embedding_model_name
    if embedding == LOCAL_EMBEDDING:
        embedding = "all-MiniLM-L6-v2 (local, bundled)"
    with session_scope(engine) as session:
        deliberations = repo_deliberations.count_deliberations(session)
        calls = repo_llm_calls.usage_summary(session).calls
    return SystemStatus(
        model_mode=mode,
        model_name=settings.chat_model_name,
        model_endpoint=endpoint,
        embedding=embedding,
        database_backend=settings.database_backend,
        database=settings.database_display,
        schema_revision=db.current_revision(engine) or "empty",
        deliberations=deliberations,
        model_calls=calls,
    )


def check_model(model: BaseChatModel) -> str:
    """Ask the model for a one-word reply; raises :class:`providers.errors.ModelError` on failure."""
    from langchain_core.messages import HumanMessage

    reply = model.invoke(
        [HumanMessage("Reply with the single word: ready")],
        config={"metadata": {"purpose": "health_check"}},
    )
    return str(reply.content).strip()
