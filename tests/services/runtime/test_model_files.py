"""``cli.py model pull``: downloads from a local HTTP server (http.server on 127.0.0.1, never the hub), the
checksum check, a resumed download, and LOCAL_MODEL picking the file up."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from errors import InvalidInput
from providers import local
from providers.model_catalogue import CATALOGUE
from services.runtime import model_files
from services.runtime.model_files import ModelFileError, ModelSource
from settings import Settings, load_settings
from tests.cli_runner import cli_env, run


@dataclass
class Served:
    """What the test server serves at ``/model.gguf``, and what it was asked."""

    body: bytes = b""
    path: Path | None = None  # serve this file instead of ``body``
    drop_after: int | None = None  # close the connection after this many bytes of a full response
    honour_range: bool = True
    ranges: list[str | None] = field(default_factory=list)

    def data(self) -> bytes:
        return self.path.read_bytes() if self.path is not None else self.body


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path != "/model.gguf":
                self.send_error(404)
                return
            data = served.data()
            asked = self.headers.get("Range")
            served.ranges.append(asked)
            start = int(asked.removeprefix("bytes=").rstrip("-")) if asked and served.honour_range else 0
            if start >= len(data) and asked and served.honour_range:
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            chunk = data[start:]
            if served.drop_after is not None and not start:
                chunk = chunk[: served.drop_after]
                served.drop_after = None  # the next request gets the rest
            self.wfile.write(chunk)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/model.gguf", served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={"LLM_MODE": "local", "DATA_DIR": str(tmp_path / "data")}, secrets={})


def _source(url: str, body: bytes, name: str = "tiny", size: int | None = None) -> ModelSource:
    return ModelSource(name, url, hashlib.sha256(body).hexdigest(), size)


def test_the_bundled_model_file_downloads_and_local_model_serves_it(server, settings, tmp_path) -> None:
    url, served = server
    bundled = local.default_model_path()
    assert bundled is not None
    served.path = bundled
    digest = hashlib.sha256(bundled.read_bytes()).hexdigest()
    seen: list[tuple[int, int | None]] = []
    pulled = model_files.pull_model(
        settings,
        model_files.source_for("smollm2-copy", url=url, sha256=digest.upper()),
        progress=lambda *p: seen.append(p),
    )
    assert (
        pulled.path == settings.models_dir / "smollm2-copy.gguf"
        and pulled.path.read_bytes() == bundled.read_bytes()
    )
    assert pulled.sha256 == digest and not pulled.already_there
    assert seen[-1] == (bundled.stat().st_size, bundled.stat().st_size) and len(seen) > 1  # the progress bar
    assert not (settings.models_dir / "smollm2-copy.gguf.part").exists()

    chosen = load_settings(
        environ={"LLM_MODE": "local", "DATA_DIR": str(tmp_path / "data"), "LOCAL_MODEL": "smollm2-copy"},
        secrets={},
    )
    assert chosen.local_model_file == pulled.path and chosen.chat_model_name == "smollm2-copy"
    assert chosen.prompt_style == "compact"  # no size in its name: a 98 MB file is a small model

    again = model_files.pull_model(settings, model_files.source_for("smollm2-copy", url=url, sha256=digest))
    assert again.already_there and len(served.ranges) == 1  # checked, not downloaded again


def test_a_bad_checksum_deletes_the_partial_file_and_says_so(server, settings) -> None:
    url, served = server
    served.body = b"GGUF" + b"x" * 5000
    wrong = ModelSource("tiny", url, "0" * 64)
    with pytest.raises(ModelFileError, match="does not match its checksum") as caught:
        model_files.pull_model(settings, wrong)
    assert "the partial file was deleted" in str(caught.value)
    assert not any(settings.models_dir.iterdir())  # neither the file nor its .part


def test_an_interrupted_download_resumes_where_it_stopped(server, settings) -> None:
    url, served = server
    served.body = bytes(range(256)) * 200
    served.drop_after = 12_345
    source = _source(url, served.body, size=len(served.body))
    with pytest.raises(ModelFileError, match="run the same command again to resume"):
        model_files.pull_model(settings, source)
    part = settings.models_dir / "tiny.gguf.part"
    assert part.stat().st_size == 12_345
    pulled = model_files.pull_model(settings, source)
    assert pulled.resumed_from == 12_345 and pulled.path.read_bytes() == served.body
    assert served.ranges == [None, "bytes=12345-"]


def test_a_server_that_ignores_the_range_starts_over(server, settings) -> None:
    url, served = server
    served.body = b"abc" * 3000
    served.honour_range = False
    part = settings.models_dir / "tiny.gguf.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from another file")
    pulled = model_files.pull_model(settings, _source(url, served.body))
    assert pulled.path.read_bytes() == served.body and pulled.resumed_from == 0


def test_a_missing_file_is_one_clear_line(server, settings) -> None:
    url, _ = server
    with pytest.raises(ModelFileError, match="HTTP 404"):
        model_files.pull_model(settings, ModelSource("tiny", url.replace("model", "other"), "0" * 64))


@pytest.mark.parametrize(
    ("name", "url", "sha256", "message"),
    [
        ("no such model", None, None, "A model name is"),
        ("not-in-catalogue", None, None, "No model named"),
        ("qwen2.5-1.5b-instruct", None, "0" * 64, "--sha256 goes with --url"),
        ("mine", "ftp://host/x.gguf", "0" * 64, "http"),
        ("mine", "https://host/x.gguf", None, "needs --sha256"),
        ("mine", "https://host/x.gguf", "abc", "64 hexadecimal"),
    ],
)
def test_bad_requests_are_refused_before_any_download(name, url, sha256, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        model_files.source_for(name, url=url, sha256=sha256)


def test_the_catalogue_pins_each_file() -> None:
    for entry in CATALOGUE.values():
        source = model_files.source_for(entry.name)
        assert source.url.startswith("https://huggingface.co/") and source.url.endswith(".gguf")
        assert len(source.sha256) == 64 and source.size and source.size > 500_000_000


def test_the_command_line_pulls_with_a_progress_bar_and_refuses_a_bad_checksum(server, tmp_path) -> None:
    url, served = server
    served.body = b"GGUF" * 4096
    env = cli_env(tmp_path)
    digest = hashlib.sha256(served.body).hexdigest()
    done = run(env, "model", "pull", "mine", "--url", url, "--sha256", digest)
    assert done.exit_code == 0, done.output
    assert "Use it with LOCAL_MODEL=mine" in done.stdout and "mine" in done.stderr
    assert (tmp_path / "models" / "mine.gguf").read_bytes() == served.body
    listed = run(env, "model", "list")
    assert listed.exit_code == 0 and all(name in listed.stdout for name in CATALOGUE)
    bad = run(env, "model", "pull", "other", "--url", url, "--sha256", "f" * 64)
    assert bad.exit_code == 1 and "\nError: The file downloaded from" in bad.stderr
    assert "partial file was deleted" in bad.stderr and not (tmp_path / "models" / "other.gguf.part").exists()
