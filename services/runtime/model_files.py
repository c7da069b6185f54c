"""Downloading a larger offline model: ``python cli.py model pull NAME`` (README, "Choosing a model").

The file goes to ``DATA_DIR/models/NAME.gguf`` (what ``LOCAL_MODEL=NAME`` serves), written first as
``NAME.gguf.part``. The download is resumable: a ``.part`` left by an interrupted run is continued with an
HTTP ``Range`` request (a server that ignores it sends the whole file again, and the part starts over).
The SHA-256 is computed while the bytes arrive and compared with the catalogue's
(:mod:`providers.model_catalogue`) or ``--sha256``: a mismatch deletes the partial file and says so; only a
file that matches is renamed into place. A file already in place is checked, not downloaded again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from errors import InvalidInput, StudioError, one_line
from providers.model_catalogue import CATALOGUE
from settings import MODEL_NAME_RULE, Settings

__all__ = ["ModelFileError", "ModelSource", "PulledModel", "model_file", "pull_model", "source_for"]

CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: ``(bytes so far, total bytes or None)`` after each chunk.
Progress = Callable[[int, int | None], None]


class ModelFileError(StudioError):
    """A model file could not be downloaded, or its checksum does not match; the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model file comes from and what it must be."""

    name: str
    url: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class PulledModel:
    """A model file in place: where, how big, and how this run got it."""

    name: str
    path: Path
    size: int
    sha256: str
    resumed_from: int = 0  # bytes of an earlier partial download that were kept
    already_there: bool = False


def model_file(settings: Settings, name: str) -> Path:
    """Where model ``name`` lives: ``DATA_DIR/models/NAME.gguf`` (the file ``LOCAL_MODEL=NAME`` serves)."""
    return settings.models_dir / f"{name}.gguf"


def source_for(name: str, *, url: str | None = None, sha256: str | None = None) -> ModelSource:
    """The file to download for ``name``: a catalogue entry, or ``url`` with its ``sha256`` for any other.

    Raises :class:`~errors.InvalidInput` for a malformed name, URL or checksum, or an unknown name without
    a URL.
    """
    if not MODEL_NAME_RULE.fullmatch(name):
        raise InvalidInput(
            "A model name is up to 100 letters, digits, '.', '-' or '_' (e.g. qwen2.5-1.5b-instruct); "
            f"got {name!r}."
        )
    if url is None:
        if sha256 is not None:
            raise InvalidInput("--sha256 goes with --url (the catalogue knows its models' checksums).")
        known = CATALOGUE.get(name)
        if known is None:
            raise InvalidInput(
                f"No model named {name!r} in the catalogue ({', '.join(sorted(CATALOGUE))}); for any other "
                "GGUF file give --url URL --sha256 HEX."
            )
        return ModelSource(name, known.url, known.sha256, known.size)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"--url must be an http(s) address of a GGUF file (got {url!r}).")
    digest = (sha256 or "").strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InvalidInput("--url needs --sha256 HEX: the file's SHA-256, 64 hexadecimal digits.")
    return ModelSource(name, url, digest)


def pull_model(
    settings: Settings,
    source: ModelSource,
    *,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
) -> PulledModel:
    """Download ``source`` into :func:`model_file` (resuming a partial download) and check its SHA-256.

    Raises :class:`ModelFileError` when the server fails or the connection drops (the ``.part`` is kept:
    the same command resumes it), or when the checksum or size does not match (the ``.part`` is deleted).
    """
    target = model_file(settings, source.name)
    if target.is_file():
        return _already_there(source, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=20.0), follow_redirects=True)
    try:
        done, digest, resumed = _download(http, source, part, progress)
    finally:
        if own_client:
            http.close()
    if source.size is not None and done < source.size:
        raise ModelFileError(
            f"The download of {source.name} ended early ({done:,} of {source.size:,} bytes): run the same "
            "command again to resume it."
        )
    if digest != source.sha256 or (source.size is not None and done != source.size):
        part.unlink(missing_ok=True)
        raise ModelFileError(
            f"The file downloaded from {source.url} does not match its checksum (SHA-256 {digest}, expected "
            f"{source.sha256}; {done:,} bytes): the partial file was deleted. Check the URL and --sha256."
        )
    part.replace(target)
    return PulledModel(source.name, target, done, digest, resumed_from=resumed)


def _already_there(source: ModelSource, target: Path) -> PulledModel:
    digest, size = _hash_file(target)
    if digest != source.sha256:
        raise ModelFileError(
            f"{target} is already there but its SHA-256 is {digest}, not {source.sha256}: delete it and run "
            "the command again to download it."
        )
    return PulledModel(source.name, target, size, digest, already_there=True)


def _download(
    http: httpx.Client, source: ModelSource, part: Path, progress: Progress | None
) -> tuple[int, str, int]:
    """Fetch into ``part`` (continuing it); ``(bytes, sha256 hex, bytes kept from before)``."""
    hasher, done = hashlib.sha256(), 0
    if part.is_file():
        with part.open("rb") as existing:
            while block := existing.read(CHUNK):
                hasher.update(block)
                done += len(block)
    resumed = done
    headers = {"Range": f"bytes={done}-"} if done else {}
    try:
        with http.stream("GET", source.url, headers=headers) as response:
            if response.status_code == 416 and done:  # nothing after what we have: it is whole
                return done, hasher.hexdigest(), resumed
            if response.status_code == 200 and done:  # the server ignored the range: start over
                hasher, done, resumed = hashlib.sha256(), 0, 0
            elif response.status_code not in (200, 206):
                raise ModelFileError(
                    f"{source.url} answered HTTP {response.status_code} {response.reason_phrase}; check the "
                    "URL (and that this machine can reach the model hub)."
                )
            length = response.headers.get("content-length")
            total = done + int(length) if length and length.isdigit() else source.size
            with part.open("ab" if done else "wb") as out:
                for block in response.iter_bytes():  # as it arrives: a drop keeps every byte
                    out.write(block)
                    hasher.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
    except httpx.HTTPError as exc:
        raise ModelFileError(
            f"The download of {source.name} stopped ({one_line(exc)}) after {done:,} bytes: run the same "
            "command again to resume it."
        ) from exc
    return done, hasher.hexdigest(), resumed


def _hash_file(path: Path) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size
