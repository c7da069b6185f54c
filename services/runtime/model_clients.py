"""The configured chat and embedding models, wired so every call they make is stored as an LLMCall row.

The UI caches these once per process (``ui/resources.py``); the CLI builds them per command.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from providers import local
from providers.accounting import RecordingCallback, RecordingEmbeddings
from providers.chat import make_chat_model
from providers.embeddings import make_embeddings
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
    """Where the bundled offline server listens, once it has started in this process (or how far its
    start has come: ``starting`` or ``failed``)."""
    server = local.running_local_server()
    if server is not None:
        return f"bundled offline model at {server.base_url}"
    return starting_line()


def warm_up(settings: Settings) -> bool:
    """Start the offline model's server in the background when ``settings`` use it (the app calls this
    once at start, so the first participant does not wait ~10-70 s for it); True when a start began."""
    if settings.effective_llm_mode != "local":
        return False
    return local.start_in_background(settings) is not None


def starting_line() -> str | None:
    """One line while the offline server starts ("starting the offline model... (12 s so far)") or after
    its start failed (its reason); ``None`` when it runs or was never asked for."""
    progress = local.server_progress()
    if progress.phase == "starting":
        return f"starting the offline model... ({progress.seconds():.0f} s so far)"
    if progress.phase == "failed":
        return f"the offline model could not start: {progress.error}"
    return None


def local_model_starting() -> bool:
    """Whether the offline server is starting right now (a model call would wait for it)."""
    return local.server_progress().phase == "starting"
