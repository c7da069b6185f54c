"""Shared fixtures: settings, databases on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from settings import Settings, load_settings
from storage import db
from tests import postgres_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a real PostgreSQL server: TEST_POSTGRES_URL, else a private cluster we start.

    A run that cannot get one fails loudly: PostgreSQL support is a feature, not an option.
    """
    existing = os.environ.get("TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    try:
        cluster = postgres_server.PrivateCluster()
        url = cluster.start()
    except postgres_server.PostgresUnavailable as exc:
        pytest.fail(f"POSTGRESQL TESTS CANNOT RUN: {exc}", pytrace=False)
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A freshly created, empty PostgreSQL database, dropped after the test."""
    url = postgres_server.create_database(postgres_admin_url)
    try:
        yield url
    finally:
        postgres_server.drop_database(postgres_admin_url, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'test.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn (tests using it run twice)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    engine = db.init_db(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = db.init_db(sqlite_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fake-model app on a private SQLite file (never the developer's environment)."""
    return load_settings(environ={"LLM_MODE": "fake", "DATA_DIR": str(tmp_path / "data")}, secrets={})
