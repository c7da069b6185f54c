"""``cli.py pipeline ID``: the catch-up of the continuous pipeline (what stopped jobs left), resumable; and
``cli.py stories ID --run pipeline-ID`` resuming the pipeline's own story run by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from providers.accounting import RecordingCallback
from providers.errors import ModelUnavailable
from providers.fakes import ScriptedChatModel
from services.facilitator import system
from services.runtime import model_clients
from services.runtime.accounting import llm_call_sink
from settings import load_settings
from tests.cli_runner import cli_env, run
from tests.services.dedup_world import TitleEmbeddings
from tests.services.pipeline_world import answer, new_deliberation, submit


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def _world(env: dict[str, str], titles: list[str]) -> int:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    d, q = new_deliberation(engine)
    for title in titles:
        submit(engine, q, title)
    engine.dispose()
    return d


def _use(monkeypatch: pytest.MonkeyPatch, model: ScriptedChatModel) -> None:
    """The command's models: ``model``, recording its calls as model_clients.chat_model's does."""

    def chat_model(_settings: object, engine: Engine) -> ScriptedChatModel:
        model.callbacks = [RecordingCallback(llm_call_sink(engine))]
        return model

    monkeypatch.setattr(model_clients, "chat_model", chat_model)
    monkeypatch.setattr(model_clients, "embeddings", lambda *_: TitleEmbeddings())


def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command starts a model (in local mode that starts the offline server)."""

    def refused(*_: object) -> None:
        raise AssertionError("a model was started with nothing to do")

    monkeypatch.setattr(model_clients, "chat_model", refused)
    monkeypatch.setattr(model_clients, "embeddings", refused)


def test_the_catch_up_does_what_is_left_and_a_rerun_does_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = _world(env, ["Honest Presence", "Room to Decide"])
    _use(monkeypatch, ScriptedChatModel([answer] * 7))
    done = run(env, "pipeline", str(d))
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == (
        f"Pipeline pipeline-{d} of deliberation {d}: 2 cards mined (1 contexts), 2 cards linked to values, "
        "1 pairs (1 new): 2 stories written, 2 judged, 2 shown; 7 model calls."
    )
    status = f"Pipeline pipeline-{d}: 0 of 5000 model calls used, 0 of 1000 pairs; 2 cards to mine, "
    assert done.stderr.startswith(status + "2 to deduplicate, 0 pairs to write within the caps.")
    assert "dedup batch 1/1: 2 cards, 2 new values" in done.stderr and ": judged (shown)" in done.stderr

    _no_model(monkeypatch)  # nothing left: no model is even started
    again = run(env, "pipeline", str(d))
    assert again.exit_code == 0, again.output
    assert (
        again.stdout.strip() == f"Pipeline pipeline-{d} of deliberation {d}: nothing to do; no model asked."
    )
    assert again.stderr.strip() == (
        f"Pipeline pipeline-{d}: 7 of 5000 model calls used, 1 of 1000 pairs; 0 cards to mine, "
        "0 to deduplicate, 0 pairs to write within the caps."
    )

    missing = run(env, "pipeline", "424242")
    assert (missing.exit_code, missing.output.strip()) == (
        1,
        "Error: There is no deliberation with id 424242.",
    )


def test_after_a_stop_the_story_run_resumes_by_hand(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = _world(env, ["Honest Presence", "Room to Decide"])
    # Mining (2), dedup (1), the first story written and judged (2): then the endpoint goes away.
    _use(
        monkeypatch,
        ScriptedChatModel([answer] * 5 + [ModelUnavailable("The model endpoint is unreachable.")]),
    )
    stopped = run(env, "pipeline", str(d))
    assert stopped.exit_code == 1
    assert stopped.output.strip().splitlines()[-1].startswith("Error: The model endpoint is unreachable.")

    _use(monkeypatch, ScriptedChatModel([answer] * 2))
    resumed = run(env, "stories", str(d), "--run", f"pipeline-{d}")
    assert resumed.exit_code == 0, resumed.output
    assert "1 pairs; 1 stories written, 1 judged, 1 already done, 0 failed; 2 shown" in resumed.stdout

    _no_model(monkeypatch)
    idle = run(env, "pipeline", str(d))
    assert idle.exit_code == 0 and "nothing to do; no model asked" in idle.stdout, idle.output


def test_a_reached_cap_is_said(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = system.open_database(load_settings(environ=env, secrets={}))
    d, q = new_deliberation(engine, pipeline_max_calls=4)
    for title in ("Honest Presence", "Room to Decide"):
        submit(engine, q, title)
    engine.dispose()
    _use(monkeypatch, ScriptedChatModel([answer] * 7))
    capped = run(env, "pipeline", str(d))
    assert capped.exit_code == 0, capped.output
    assert "2 cards linked to values" in capped.stdout and "3 model calls." in capped.stdout
    # mining 2, dedup 1: a pair (4 calls) would go over
    assert "Stories wait: the cap is reached (pipeline_max_calls)" in capped.stderr
    assert f"python cli.py stories {d} --run pipeline-{d}" in capped.stderr
    assert "Stopped early" not in capped.stderr

    _no_model(monkeypatch)  # the cap leaves no pair to write: nothing to do, no model started
    again = run(env, "pipeline", str(d))
    assert again.exit_code == 0 and "nothing to do; no model asked" in again.stdout, again.output
    assert f"Pipeline pipeline-{d}: 3 of 4 model calls used, 0 of 1000 pairs;" in again.stderr
