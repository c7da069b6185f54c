"""Fixtures of the graph tests: the published MAI study data, read from ../shared/data (never copied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graph import Judgement

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
CUTOFF = "2023-10-18"  # judgements created before this date made the published graph


def _load(name: str) -> Any:
    path = DATA / name
    if not path.exists():
        pytest.skip(
            f"REFERENCE DATA ABSENT: {path} not found; the reproduction of MAI's published moral graph "
            "was NOT checked (see DOMAIN.md section 8)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def published() -> dict[str, Any]:
    """MAI's published moral graph (all participants): 60 values, 69 edges."""
    return _load("moral-graph-all-participants.json")


@pytest.fixture(scope="session")
def dft_edges() -> list[dict[str, Any]]:
    """Raw judgement rows of the 2023 study (one per judgement)."""
    return _load("dft-data/edge.json")


@pytest.fixture(scope="session")
def study_judgements(dft_edges: list[dict[str, Any]]) -> list[Judgement]:
    """The judgements behind the published graph, in table order."""
    return [
        Judgement(r["userId"], r["fromId"], r["toId"], r["contextId"], r["relationship"])
        for r in dft_edges
        if r["createdAt"] < CUTOFF
    ]


@pytest.fixture(scope="session")
def demographics() -> dict[int, dict[str, Any]]:
    """Study demographics by userId (pseudonymous)."""
    return {row["userId"]: row for row in _load("dft-data/demographic.json")}
