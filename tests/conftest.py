"""Shared fixtures: fresh SQLite and PostgreSQL databases for every test that asks for one.

``db_url`` runs a test once per supported dialect. The PostgreSQL server starts only when the
first test needing it runs (one server per xdist worker) and is removed when the session ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from tracker_core.storage import open_database

try:  # tests/ is a plain directory today; keep working if it becomes a package.
    from tests.postgres import PostgresServer
except ModuleNotFoundError:
    from postgres import PostgresServer  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for this worker; its ``base_url`` takes a db name."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


def _create_database(server: PostgresServer) -> str:
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(server: PostgresServer, name: str) -> None:
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file that does not exist yet, in this test's own directory."""
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    name = _create_database(postgres_server)
    try:
        yield postgres_server.base_url + name
    finally:
        _drop_database(postgres_server, name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = _create_database(server)
    try:
        yield server.base_url + name
    finally:
        _drop_database(server, name)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database, once per dialect."""
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
