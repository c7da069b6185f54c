"""The configured chat and embedding models, wired so every call they make is stored as an LLMCall row.

The UI caches these once per process (``ui/resources.py``); the CLI builds them per command.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from providers.accounting import RecordingCallback, RecordingEmbeddings
from providers.chat import make_chat_model
from providers.embeddings import make_embeddings
from providers.local import running_local_server
from services.runtime.accounting import llm_call_sink
from settings import Settings


def model_id(model: BaseChatModel) -> str:
    """The model's name as stored with what it wrote (``model_name``, ``model``, else the class name).

    >>> from providers.fakes import ScriptedChatModel
    >>> model_id(ScriptedChatModel([]))
    'scripted'
    """
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value[:200]
    return type(model).__name__


def chat_model(settings: Settings, engine: Engine) -> BaseChatModel:
    """The chat model of ``settings`` (starting the offline server if that is the one configured)."""
    return make_chat_model(settings, callbacks=[RecordingCallback(llm_call_sink(engine))])


def embeddings(settings: Settings, engine: Engine) -> Embeddings:
    """The embedding model of ``settings``; each call is recorded with ``purpose="embedding"``."""
    return RecordingEmbeddings(
        make_embeddings(settings), llm_call_sink(engine), model=settings.embedding_model_name
    )


def local_endpoint() -> str | None:
    """Where the bundled offline server listens, once it has started in this process."""
    server = running_local_server()
    return f"bundled offline model at {server.base_url}" if server else None
