"""Local all-MiniLM-L6-v2 on onnxruntime, and the endpoint embeddings over httpx.MockTransport."""

from __future__ import annotations

import threading

import httpx
import numpy as np
import pytest

from providers.embeddings import DIMENSIONS, EndpointEmbeddings, LocalMiniLMEmbeddings, make_embeddings
from providers.errors import ModelAuthError, ModelUnavailable
from providers.fakes import embeddings_response, error_response


@pytest.fixture(scope="module")
def local() -> LocalMiniLMEmbeddings:
    return LocalMiniLMEmbeddings()


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))  # the vectors are unit length


def test_local_vectors_are_384_dims_and_unit_length(local):
    vectors = local.embed_documents(["a dog runs in the park", "", "x " * 600])
    assert [len(v) for v in vectors] == [DIMENSIONS] * 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_vectors_carry_meaning(local):
    dog, puppy, tax = local.embed_documents(
        ["a dog runs in the park", "a puppy plays outside", "quarterly tax filing deadline"]
    )
    assert cosine(dog, puppy) > cosine(dog, tax) + 0.2


def test_local_batching_does_not_change_vectors(local):
    texts = [f"sentence number {i} about what people value" + " more" * (i % 7) for i in range(70)]
    batched = np.array(local.embed_documents(texts))
    assert batched.shape == (70, DIMENSIONS)
    alone = np.array([local.embed_query(texts[0]), local.embed_query(texts[69])])
    assert np.allclose(batched[[0, 69]], alone, atol=1e-4)
    assert local.embed_documents([]) == []


def test_local_model_loads_once_across_threads():
    embeddings = LocalMiniLMEmbeddings()
    sessions = []

    def work() -> None:
        embeddings.embed_query("hello")
        sessions.append(id(embeddings._session))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sessions) == 4 and len(set(sessions)) == 1


def test_missing_model_file_is_model_unavailable(tmp_path):
    embeddings = LocalMiniLMEmbeddings(model_path=tmp_path / "missing.onnx")
    with pytest.raises(ModelUnavailable, match="EMBEDDING_MODEL"):
        embeddings.embed_query("x")


def test_factory_picks_local_or_endpoint(make_settings):
    assert isinstance(make_embeddings(make_settings()), LocalMiniLMEmbeddings)  # a non-OpenAI endpoint
    assert isinstance(make_embeddings(make_settings(LLM_MODE="fake")), LocalMiniLMEmbeddings)
    openai = make_embeddings(make_settings(LLM_BASE_URL=None, LLM_API_KEY="sk-test"))
    assert isinstance(openai, EndpointEmbeddings)
    assert openai.model == "text-embedding-3-small"


def test_endpoint_embeddings_over_mock_transport(make_settings):
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=embeddings_response([[1.0, 0.0], [0.0, 1.0]]))

    settings = make_settings(EMBEDDING_MODEL="nomic-embed-text")
    embeddings = make_embeddings(settings, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert embeddings.embed_documents(["one", "two"]) == [[1.0, 0.0], [0.0, 1.0]]
    assert bodies[0]["input"] == ["one", "two"]  # raw text, not tiktoken ids
    assert bodies[0]["model"] == "nomic-embed-text"
    assert bodies[0]["encoding_format"] == "float"


def test_endpoint_embedding_errors_are_translated(make_settings):
    def handler(request: httpx.Request) -> httpx.Response:
        return error_response(401, "bad key")

    settings = make_settings(EMBEDDING_MODEL="nomic-embed-text")
    embeddings = make_embeddings(settings, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(ModelAuthError):
        embeddings.embed_query("x")
