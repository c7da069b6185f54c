"""Imports point one way only (docs/ARCHITECTURE.md). A line that crosses a layer fails here.

Two rules: the layers (``FORBIDDEN``, with a few precise exceptions in ``ALLOWED``) and, inside
``services/``, the rooms (``ROOM_MAY_IMPORT``): a room imports only itself and the rooms it builds on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FRAMEWORKS = {
    "streamlit",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "openai",
    "langchain_openai",
    "llama_cpp",
}
APP_LAYERS = {"storage", "services", "ui", "pages", "providers", "cli", "app"}
FIRST_PARTY = APP_LAYERS | {"settings", "graph", "interviews", "exports", "errors", "tests", "bench"}

# layer -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    # The error root sits below everything: every layer may raise from it.
    "errors": FRAMEWORKS | FIRST_PARTY | {"langchain_core", "langchain"},
    # The pure core: no frameworks, no I/O layers (interviews may use langchain_core and pydantic).
    "graph": FRAMEWORKS | APP_LAYERS | {"langchain_core", "langchain"},
    "interviews": FRAMEWORKS | APP_LAYERS,
    "exports": FRAMEWORKS | APP_LAYERS | {"langchain_core", "langchain"},
    "settings": FRAMEWORKS | APP_LAYERS | {"graph", "interviews", "exports"},
    "storage": {"streamlit", "openai", "langchain_openai", "langchain_core", "llama_cpp"}
    | {"services", "ui", "pages", "providers", "cli", "app", "interviews", "exports"},
    "providers": {"streamlit", "sqlmodel", "sqlalchemy", "alembic", "psycopg"}
    | {"storage", "services", "ui", "pages", "cli", "app"},
    "services": {
        "streamlit",
        "sqlmodel",
        "openai",
        "langchain_openai",
        "llama_cpp",
        "ui",
        "pages",
        "cli",
        "app",
    },
    "ui": {"sqlmodel", "openai", "langchain_openai", "llama_cpp", "storage", "providers", "pages", "cli"},
    # Front ends are thin: no sessions, tables or model SDKs.
    "pages": {
        "sqlmodel",
        "sqlalchemy",
        "openai",
        "langchain_openai",
        "llama_cpp",
        "storage",
        "providers",
        "cli",
    },
    "app": {"sqlmodel", "sqlalchemy", "openai", "langchain_openai", "storage", "providers", "cli"},
    "cli": {"streamlit", "sqlmodel", "sqlalchemy", "openai", "langchain_openai", "storage", "ui", "pages"},
}
# Precise exceptions, each with its reason.
ALLOWED: dict[str, set[str]] = {
    # Services hand an Engine around (a type only); sessions stay inside storage.
    "services": {"sqlalchemy"},
    # Every layer may catch the documented model errors; the module imports no SDK.
    "interviews": {"providers.errors"},
    # Four pure modules storage builds on: a card's public schema carries its digest and the card rules it
    # breaks; merging values applies the pure merge plan; the tables' CHECK constraints are built from the
    # closed sets of the vocabulary; the settings' number questions share the answer rules' bounds (one
    # definition of each; all four import only pydantic, the stdlib, errors and the pure core).
    "storage": {"interviews.answers", "interviews.cards", "interviews.value_merge", "interviews.vocabulary"},
}

# services/<room> -> the other rooms it may import. Participants' actions start side jobs; nothing imports
# the participant, facilitator or research rooms but themselves (and the front ends), except the console's
# job runner (services/jobs/run_kinds.py), which runs grading (facilitator), graph builds and the study's
# import (research) as job runs.
ROOM_MAY_IMPORT: dict[str, set[str]] = {
    "runtime": set(),
    "jobs": {"runtime", "facilitator", "research"},
    "participant": {"runtime", "jobs"},
    "facilitator": {"runtime", "jobs"},
    "research": {"runtime"},
}


def imports_of(source: str) -> set[str]:
    """Dotted names a module imports (``from a.b import c`` gives ``a.b``).

    >>> sorted(imports_of("import os\\nfrom storage.db import x\\nfrom . import y"))
    ['os', 'storage.db']
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violations(layer: str, source: str) -> list[str]:
    """The imports in ``source`` that ``layer`` may not make."""
    allowed = ALLOWED.get(layer, set())
    bad = []
    for name in sorted(imports_of(source)):
        top = name.split(".")[0]
        if top in FORBIDDEN.get(layer, set()) and name not in allowed and top not in allowed:
            bad.append(name)
    return bad


def room_violations(room: str, source: str) -> list[str]:
    """The ``services.<room>`` imports in ``source`` that services room ``room`` may not make.

    >>> room_violations("jobs", "from services.participant import judging")
    ['services.participant']
    >>> room_violations("participant", "from services.jobs import contexts")
    []
    """
    allowed = ROOM_MAY_IMPORT[room] | {room}
    bad = []
    for name in sorted(imports_of(source)):
        parts = name.split(".")
        if parts[0] == "services" and len(parts) > 1 and parts[1] not in allowed:
            bad.append(".".join(parts[:2]))
    return bad


def _layer_files() -> list[tuple[str, Path]]:
    files = []
    for layer in FORBIDDEN:
        single = REPO / f"{layer}.py"
        if single.exists():
            files.append((layer, single))
        folder = REPO / layer
        if folder.is_dir():
            files.extend((layer, path) for path in sorted(folder.rglob("*.py")))
    return files


@pytest.mark.parametrize(("layer", "path"), _layer_files(), ids=lambda v: str(v).replace(str(REPO) + "/", ""))
def test_module_respects_its_layer(layer: str, path: Path) -> None:
    assert violations(layer, path.read_text()) == []


def test_services_live_in_rooms() -> None:
    loose = sorted(p.name for p in (REPO / "services").glob("*.py") if p.name != "__init__.py")
    assert loose == [], "every service module belongs to a room (services/<room>/)"
    assert sorted(
        p.name for p in (REPO / "services").iterdir() if p.is_dir() and p.name != "__pycache__"
    ) == sorted(ROOM_MAY_IMPORT)


@pytest.mark.parametrize(
    ("room", "path"),
    [(room, path) for room in ROOM_MAY_IMPORT for path in sorted((REPO / "services" / room).rglob("*.py"))],
    ids=lambda v: str(v).replace(str(REPO) + "/", ""),
)
def test_service_respects_its_room(room: str, path: Path) -> None:
    assert room_violations(room, path.read_text()) == []


def test_the_checker_catches_a_crossing() -> None:
    assert violations("graph", "import streamlit as st") == ["streamlit"]
    assert violations("pages", "from storage.db import session_scope") == ["storage.db"]
    assert violations("interviews", "from providers.errors import ModelError") == []
    assert violations("interviews", "from providers.chat import make_chat_model") == ["providers.chat"]
    assert violations("services", "from sqlalchemy import Engine") == []
    assert violations("ui", "from sqlmodel import Session") == ["sqlmodel"]
    assert violations("errors", "from settings import Settings") == ["settings"]
    assert violations("storage", "from interviews.cards import lint_card") == []
    assert violations("storage", "from interviews.flow import Stage") == ["interviews.flow"]
    assert room_violations("runtime", "import services.participant.joining") == ["services.participant"]


def test_only_storage_imports_sqlmodel_and_only_providers_name_a_provider() -> None:
    for path in REPO.rglob("*.py"):
        rel = path.relative_to(REPO)
        if rel.parts[0] in {".venv", "tests", "bench", "data"}:
            continue
        names = {n.split(".")[0] for n in imports_of(path.read_text())}
        if "sqlmodel" in names:
            assert rel.parts[0] == "storage", rel
        if names & {"openai", "langchain_openai", "llama_cpp"}:
            assert rel.parts[0] == "providers", rel
