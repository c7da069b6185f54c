"""graph/ is the pure core: standard library, numpy, scipy, networkx and the error root only; small files."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

GRAPH = Path(__file__).resolve().parents[2] / "graph"
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "scipy", "networkx", "graph", "errors"}
FILES = sorted(GRAPH.glob("*.py"))


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_only_pure_imports(path: Path) -> None:
    assert top_level_imports(path) <= ALLOWED, top_level_imports(path) - ALLOWED


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_stay_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


def test_the_public_api_is_exported() -> None:
    import graph

    missing = [name for name in graph.__all__ if not hasattr(graph, name)]
    assert missing == []
