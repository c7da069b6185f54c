"""Settings: defaults, aliases, precedence, and one clear message per bad value."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parent.parent


def load(**env: str) -> Settings:
    return load_settings(environ=env, secrets={})


def test_defaults_run_offline_on_sqlite() -> None:
    s = load()
    assert s.llm_mode == "auto" and s.effective_llm_mode == "local"
    assert s.chat_model_name == "SmolLM2-135M-Instruct"
    assert s.embedding_model_name == "local"
    assert s.database_url == f"sqlite:///{REPO / 'data' / 'moral_graph.sqlite3'}"
    assert s.database_backend == "sqlite"
    assert (s.llm_timeout_s, s.llm_max_retries, s.llm_max_tokens) == (60.0, 3, 1024)


def test_settings_are_frozen() -> None:
    s = load()
    with pytest.raises(AttributeError):
        s.llm_model = "other"  # type: ignore[misc]


def test_an_api_key_alone_means_openai() -> None:
    s = load(OPENAI_API_KEY="sk-test")
    assert s.effective_llm_mode == "openai"
    assert s.llm_api_key == "sk-test"
    assert s.chat_model_name == "gpt-4o-mini"
    assert s.embedding_model_name == "text-embedding-3-small"
    assert "sk-test" not in repr(s)


def test_a_local_endpoint_uses_local_embeddings_unless_told() -> None:
    s = load(OPENAI_BASE_URL="http://127.0.0.1:11434/v1/", LLM_MODEL="llama3.2")
    assert (s.effective_llm_mode, s.llm_base_url, s.is_openai_host) == (
        "openai",
        "http://127.0.0.1:11434/v1",
        False,
    )
    assert s.embedding_model_name == "local"
    assert load(
        LLM_BASE_URL="http://h/v1", LLM_MODEL="m", EMBEDDING_MODEL="nomic-embed-text"
    ).embedding_model_name == ("nomic-embed-text")


def test_llm_names_win_over_openai_aliases() -> None:
    s = load(
        LLM_API_KEY="mine",
        OPENAI_API_KEY="theirs",
        LLM_BASE_URL="http://a/v1",
        OPENAI_BASE_URL="http://b/v1",
        LLM_MODEL="m",
    )
    assert (s.llm_api_key, s.llm_base_url) == ("mine", "http://a/v1")


def test_environment_wins_over_secrets_and_blank_means_unset() -> None:
    s = load_settings(
        environ={"LLM_MODEL": "env-model", "LLM_BASE_URL": ""},
        secrets={"LLM_MODEL": "x", "LLM_MAX_TOKENS": 77},
    )
    assert s.llm_model == "env-model"
    assert s.llm_max_tokens == 77
    assert s.llm_base_url is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    assert load(DATABASE_URL=url).database_url == expected


def test_the_pipeline_runs_by_default_and_can_be_turned_off() -> None:
    assert load().pipeline == "auto"
    assert load(PIPELINE="OFF").pipeline == "off"


def test_database_password_is_masked_for_display() -> None:
    s = load(DATABASE_URL="postgresql://mgs:s3cret@db:5432/mgs")
    assert s.database_backend == "postgresql"
    assert "s3cret" not in s.database_display and "***" in s.database_display


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LLM_MODE": "gpt"}, "LLM_MODE"),
        ({"LLM_MODE": "openai"}, "LLM_MODE"),
        ({"LLM_BASE_URL": "localhost:11434"}, "LLM_BASE_URL"),
        ({"OPENAI_BASE_URL": "ftp://x/v1"}, "LLM_BASE_URL"),
        ({"DATABASE_URL": "mysql://root@h/db"}, "DATABASE_URL"),
        ({"LLM_TIMEOUT_S": "soon"}, "LLM_TIMEOUT_S"),
        ({"LLM_TIMEOUT_S": "-1"}, "LLM_TIMEOUT_S"),
        ({"LLM_TIMEOUT_S": "nan"}, "LLM_TIMEOUT_S"),
        ({"LLM_MAX_RETRIES": "-1"}, "LLM_MAX_RETRIES"),
        ({"LLM_MAX_TOKENS": "0"}, "LLM_MAX_TOKENS"),
        ({"LLM_MAX_TOKENS": "1.5"}, "LLM_MAX_TOKENS"),
        ({"PARTICIPANT_TOKEN_BUDGET": "lots"}, "PARTICIPANT_TOKEN_BUDGET"),
        ({"PUBLIC_BASE_URL": "example.org"}, "PUBLIC_BASE_URL"),
        ({"LOCAL_MODEL_PATH": "/nonexistent/model.gguf"}, "LOCAL_MODEL_PATH"),
        ({"LOCAL_MODEL_THREADS": "0"}, "LOCAL_MODEL_THREADS"),
        ({"LLM_REPLY_MAX_TOKENS": "0"}, "LLM_REPLY_MAX_TOKENS"),
        ({"PROMPT_STYLE": "tiny"}, "PROMPT_STYLE"),
        ({"LOCAL_MODEL": "../../etc/passwd"}, "LOCAL_MODEL"),
        ({"LOCAL_MODEL": "m", "LOCAL_MODEL_PATH": __file__}, "LOCAL_MODEL"),
        ({"DB_POOL_SIZE": "x"}, "DB_POOL_SIZE"),
        ({"PIPELINE": "sometimes"}, "PIPELINE"),
        ({"LLM_BASE_URL": "http://127.0.0.1:11434/v1"}, "LLM_MODEL"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(**env)
    message = str(info.value)
    assert variable in message
    assert "\n" not in message


def _variables_read_by_settings() -> set[str]:
    tree = ast.parse((REPO / "settings.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "raw":
            names.update(arg.value for arg in node.args if isinstance(arg, ast.Constant))
    return names


def test_env_example_and_readme_list_every_variable() -> None:
    read = _variables_read_by_settings()
    assert {"DATABASE_URL", "LLM_MODE", "LLM_BASE_URL", "FACILITATOR_PASSWORD"} <= read
    example = set(re.findall(r"^([A-Z_]+)=", (REPO / ".env.example").read_text(), flags=re.M))
    aliases = {"OPENAI_API_KEY", "OPENAI_BASE_URL"}  # documented in the comments of their LLM_ twins
    assert read - aliases == example
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in read if f"`{name}`" not in readme)
    assert missing == [], f"README configuration table lacks {missing}"


def test_an_empty_variable_does_not_hide_a_secret() -> None:
    """A blank ``LLM_API_KEY=`` line of a copied .env must not override .streamlit/secrets.toml."""
    s = load_settings(environ={"LLM_API_KEY": "", "DATA_DIR": "x"}, secrets={"LLM_API_KEY": "sk-secret"})
    assert s.llm_api_key == "sk-secret" and s.effective_llm_mode == "openai"


def test_the_prompt_style_follows_the_models_size_unless_set(tmp_path: Path) -> None:
    assert load().prompt_style == "compact"  # the bundled SmolLM2-135M
    assert load(LLM_MODE="fake").prompt_style == "full"
    assert load(LLM_API_KEY="sk-x").prompt_style == "full"  # gpt-4o-mini: no size in its name
    assert load(LLM_BASE_URL="http://h/v1", LLM_MODEL="qwen2.5:0.5b").prompt_style == "compact"
    assert load(LLM_BASE_URL="http://h/v1", LLM_MODEL="llama3.2:3b").prompt_style == "full"
    assert load(PROMPT_STYLE="full").prompt_style == "full"
    assert load(LLM_API_KEY="sk-x", PROMPT_STYLE="Compact").prompt_style == "compact"
    small, large = tmp_path / "small.gguf", tmp_path / "large.gguf"
    small.write_bytes(b"GGUF")
    with large.open("wb") as f:  # a sparse file: large on paper
        f.truncate(700_000_000)
    assert load(LOCAL_MODEL_PATH=str(small)).prompt_style == "compact"
    assert load(LOCAL_MODEL_PATH=str(large)).prompt_style == "full"
    assert load(LOCAL_MODEL_PATH=str(large)).chat_model_name == "large"


def test_a_pulled_model_is_served_by_name(tmp_path: Path) -> None:
    s = load(DATA_DIR=str(tmp_path), LOCAL_MODEL="qwen2.5-1.5b-instruct")
    assert s.local_model_file == tmp_path / "models" / "qwen2.5-1.5b-instruct.gguf"
    assert s.chat_model_name == "qwen2.5-1.5b-instruct" and s.prompt_style == "full"
    assert load().local_model_file is None and load().llm_reply_max_tokens == 120
