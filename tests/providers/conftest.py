"""Fixtures for provider tests: settings for a fake endpoint, a FakeEndpoint-backed chat model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from providers.accounting import LLMCallRecord, RecordingCallback
from providers.chat import make_chat_model
from providers.fakes import FakeEndpoint
from settings import Settings, load_settings

BASE_URL = "http://llm.test/v1"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """``make_settings(LLM_MAX_RETRIES="0", ...)``: settings for an endpoint at ``BASE_URL`` by default."""

    def build(**env: str | None) -> Settings:
        environ = {
            "LLM_BASE_URL": BASE_URL,
            "LLM_MODEL": "test-model",
            "LLM_MAX_RETRIES": "2",
            "LLM_MAX_TOKENS": "321",
            "DATA_DIR": str(tmp_path / "data"),
        }
        environ.update(env)
        return load_settings(environ={k: v for k, v in environ.items() if v is not None}, secrets={})

    return build


@pytest.fixture
def records() -> list[LLMCallRecord]:
    return []


@pytest.fixture
def endpoint_model(
    make_settings: Callable[..., Settings], records: list[LLMCallRecord]
) -> Callable[..., Any]:
    """``endpoint_model(*replies, **env) -> (model, endpoint)``: the real factory over a FakeEndpoint."""

    def build(*replies: Any, repeat_last: bool = False, **env: str | None) -> tuple[Any, FakeEndpoint]:
        endpoint = FakeEndpoint(*replies, repeat_last=repeat_last)
        model = make_chat_model(
            make_settings(**env),
            http_client=endpoint.client(),
            http_async_client=endpoint.async_client(),
            callbacks=[RecordingCallback(records.append)],
        )
        return model, endpoint

    return build
