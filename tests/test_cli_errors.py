"""Every branch of the error tree (errors.py) reaches the command line as one line: ``Error: ...`` on
stderr, exit code 1, no traceback; anything else is a bug and keeps its traceback (issue 9, item 8).

Each branch is met for real where a person can meet it (a bad setting, an unopenable database, a missing
id, an endpoint that refuses, a bad argument, a graph that does not converge, a broken prompt file, an
embedding model that answers short); every class of the tree is also raised from inside a command.
"""

from __future__ import annotations

import importlib
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from langchain_core.embeddings import Embeddings

from errors import StudioError
from interviews.contexts import clean_context
from services.facilitator import deliberations, system
from services.jobs import contexts as context_jobs
from services.runtime import model_clients
from settings import load_settings
from storage import repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from storage.tables import CanonicalValue, Context, Judgement
from tests.cli_runner import cli_env, run
from tests.error_tree import ONE_LINE, broken_prompt, instance, project_errors
from tests.services.dedup_world import add_cards, new_deliberation


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def one_error_line(result: Result, starts: str) -> str:
    """The single ``Error:`` line of a failed command (and no traceback anywhere)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {starts}"), result.stderr
    return lines[0]


def _engine(env: dict[str, str]):
    return system.open_database(load_settings(environ=env, secrets={}))


def _question(env: dict[str, str]) -> int:
    created = run(env, "deliberation", "create", "--title", "T", "--question", "Q?")
    assert created.exit_code == 0, created.output
    engine = _engine(env)
    try:
        return deliberations.get_deliberation(engine, deliberation_id=int(created.stdout)).questions[0].id
    finally:
        engine.dispose()


def test_settings_a_bad_value(env: dict[str, str]) -> None:
    result = run({**env, "LLM_TIMEOUT_S": "soon"}, "status")
    one_error_line(result, "LLM_TIMEOUT_S must be a positive number of seconds (got 'soon')")


def test_storage_an_unopenable_database(env: dict[str, str]) -> None:
    result = run({**env, "DATABASE_URL": "sqlite:////proc/nope/db.sqlite3"}, "deliberation", "list")
    assert "DATABASE_URL" in one_error_line(result, "")


def test_storage_a_missing_id(env: dict[str, str]) -> None:
    one_error_line(run(env, "values", "show", "424242"), "There is no value 424242.")


def test_storage_a_database_file_deleted_while_a_command_runs(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file goes away between opening the database and the command's work: one line, nothing written
    into the unlinked file, no empty database left in its place (issue 10, item 3)."""
    assert run(env, "deliberation", "create", "--title", "Before", "--question", "Q?").exit_code == 0
    opened = system.open_database

    def open_then_lose_the_file(settings: Any) -> Any:
        engine = opened(settings)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp_path / 'cli.sqlite3'}{suffix}").unlink(missing_ok=True)
        return engine

    monkeypatch.setattr(system, "open_database", open_then_lose_the_file)
    result = run(env, "deliberation", "create", "--title", "Lost", "--question", "Q?")
    line = one_error_line(result, f"The database file {tmp_path / 'cli.sqlite3'} was deleted while the app")
    assert "DATABASE_URL" in line and not (tmp_path / "cli.sqlite3").exists()


def test_provider_an_endpoint_that_refuses(env: dict[str, str]) -> None:
    question = _question(env)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = {
        "LLM_MODE": "openai",
        "LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "LLM_API_KEY": "sk-test",
        "LLM_MODEL": "llama3.2",
        "LLM_MAX_RETRIES": "0",
    }
    result = run({**env, **endpoint}, "contexts", str(question), "--count", "2")
    assert "Check LLM_BASE_URL." in one_error_line(result, "The model endpoint could not be reached")


def test_input_a_bad_argument(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "dft-data"
    empty.mkdir()
    assert "is missing" in one_error_line(run(env, "import-dft", str(empty)), "")
    assert run(env, "deliberation", "list").stdout == ""  # and nothing was written


def test_graph_that_does_not_converge(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two values, one edge, PageRank allowed a single iteration: the build stops with one line."""
    engine = _engine(env)
    d = deliberations.create_deliberation(engine, title="T", questions=["Q"])
    with session_scope(engine) as s:
        a, b = (
            CanonicalValue(deliberation_id=d.id, title="A"),
            CanonicalValue(deliberation_id=d.id, title="B"),
        )
        ctx = Context(deliberation_id=d.id, text="When asked")
        s.add_all([a, b, ctx])
        s.flush()
        assert a.id is not None and b.id is not None and ctx.id is not None
        for _ in range(3):
            p = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d.id))
            assert p.id is not None
            s.add(
                Judgement(
                    deliberation_id=d.id,
                    participant_id=p.id,
                    from_value_id=a.id,
                    to_value_id=b.id,
                    context_id=ctx.id,
                    answer="upgrade",
                )
            )
    engine.dispose()
    power_iteration = importlib.import_module("graph.pagerank").pagerank_arrays

    def one_iteration(*args: Any, **kwargs: Any) -> Any:
        return power_iteration(*args, **{**kwargs, "max_iter": 1})

    for name, module in list(sys.modules.items()):  # wherever the ranking is bound under that name
        if name.split(".")[0] == "graph" and getattr(module, "pagerank_arrays", None) is power_iteration:
            monkeypatch.setattr(module, "pagerank_arrays", one_iteration)
    one_error_line(run(env, "build", str(d.id)), "PageRank did not converge in 1 iterations")


def test_prompt_a_broken_prompt_file(env: dict[str, str], tmp_path: Path) -> None:
    question = _question(env)
    with broken_prompt(tmp_path / "prompts", "generate_contexts"):
        result = run(env, "contexts", str(question), "--count", "2")
    one_error_line(result, "a prompt file starts with a '---' header block")


def test_context_a_text_that_is_not_a_context(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    question = _question(env)

    def writes_a_bad_context(*_: object, **__: object) -> list[str]:
        return [clean_context("Whatever the model wrote")]  # the core's own rule refuses it

    monkeypatch.setattr(context_jobs, "generate_for_question", writes_a_bad_context)
    one_error_line(run(env, "contexts", str(question)), 'a context starts with "When"')


class ShortEmbeddings(Embeddings):
    """An embedding endpoint that answers one vector however many texts it is sent."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0]]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]


def test_dedup_unusable_input(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(env)
    d, (q,) = new_deliberation(engine)
    add_cards(engine, q, ["Value A", "Value B"])
    engine.dispose()
    monkeypatch.setattr(model_clients, "embeddings", lambda *_: ShortEmbeddings())
    one_error_line(run(env, "dedup", str(d)), "1 vectors for 2 ids")


@pytest.mark.parametrize("cls", project_errors(), ids=lambda c: c.__name__)
def test_every_class_of_the_tree_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, cls: type[StudioError]
) -> None:
    def fails(*_: object, **__: object) -> None:
        raise instance(cls)

    monkeypatch.setattr(deliberations, "list_deliberations", fails)
    result = run(env, "deliberation", "list")
    one_error_line(result, ONE_LINE)
    assert result.stdout == ""


def test_anything_else_is_a_bug_with_its_traceback(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_: object, **__: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(deliberations, "list_deliberations", bug)
    with pytest.raises(KeyError, match="a bug"):
        run(env, "deliberation", "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "Error: No such option '--bogus'. (see cli --help)"),
        (["values", "--bogus"], "Error: No such option '--bogus'. (see cli values --help)"),
    ],
)
def test_a_usage_mistake_is_one_line_with_exit_code_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = run(env, *args)
    assert result.exit_code == 2 and result.stderr.strip() == message and result.stdout == ""


def test_a_group_without_its_command_prints_its_help(env: dict[str, str]) -> None:
    result = run(env, "deliberation")
    assert result.exit_code == 2 and "Error" not in result.output
    assert result.stderr.startswith("Usage: ") and "Commands:" in result.stderr and "list" in result.stderr
