"""Language-model and embedding providers: the only package that names a provider or starts a model server.

- :mod:`providers.chat` — :func:`~providers.chat.make_chat_model`, one factory for any OpenAI-compatible
  endpoint, the bundled offline model and the demo.
- :mod:`providers.local` — the bundled SmolLM2 server (llama-cpp-python), one per process.
- :mod:`providers.embeddings` — :func:`~providers.embeddings.make_embeddings` (local MiniLM or endpoint).
- :mod:`providers.accounting` — one :class:`~providers.accounting.LLMCallRecord` per model call.
- :mod:`providers.errors` — the :class:`~providers.errors.ModelError` tree every failure is mapped to.
- :mod:`providers.fakes` — scripted and demo chat models, transport-level fakes for tests.
"""
