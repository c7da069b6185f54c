"""The interview engine (pure): stages, card rules, prompts, articulation, dedup, upgrade stories.

It receives a LangChain ``BaseChatModel`` and never imports a provider SDK, streamlit or storage
(tests/test_layers.py enforces this); persistence goes through ``services/``.
"""
