"""Process-wide resources, created once and never replaced: settings, database engine, chat model,
embeddings, and the pool that runs side jobs.

Each is a ``st.cache_resource``; tests clear them with ``st.cache_resource.clear()``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from services.facilitator import system
from services.runtime import model_clients
from services.runtime.background import BackgroundJobs
from settings import Settings, load_settings


def _secrets() -> dict[str, Any]:
    """``st.secrets`` as a plain dict; empty when there is no secrets file (it raises then)."""
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except Exception:  # no secrets.toml anywhere: Streamlit raises its own FileNotFound variant
        return {}


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return load_settings(secrets=_secrets())


@st.cache_resource(show_spinner="Opening the database...")
def engine() -> Engine:
    return system.open_database(settings())


@st.cache_resource(show_spinner="Starting the language model...")
def chat_model() -> BaseChatModel:
    """The configured chat model; every call it makes is stored as an LLMCall row."""
    return model_clients.chat_model(settings(), engine())


@st.cache_resource(show_spinner="Loading the embedding model...")
def embeddings() -> Embeddings:
    """The configured embeddings (local MiniLM or the endpoint's); every call is stored as an LLMCall row."""
    return model_clients.embeddings(settings(), engine())


@st.cache_resource(show_spinner=False)
def model_warmup() -> bool:
    """Once per process: start the offline model in the background when it is the one configured (the
    landing page's model check shows its progress meanwhile)."""
    return model_clients.warm_up(settings())


@st.cache_resource(show_spinner=False)
def jobs() -> BackgroundJobs:
    """The process's side jobs (the pipeline after each submitted card): they never keep a participant
    waiting."""
    return BackgroundJobs(workers=2)


@st.cache_resource(show_spinner=False)
def console_jobs() -> BackgroundJobs:
    """The pool of the console's job runs (dedup, stories, grading, imports...; the Jobs and Import pages):
    its own workers, so a long job never holds up the participants' pipeline (:func:`jobs`)."""
    return BackgroundJobs(workers=2)
