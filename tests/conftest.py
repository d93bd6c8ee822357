"""Shared fixtures: fresh SQLite and PostgreSQL databases for every test that asks for one.

``db_url`` runs a test once per supported dialect. The PostgreSQL server starts only when the
first test needing it runs (one server per xdist worker) and is removed when the session ends.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
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
def db_engine(db_url: str, copy_of_template: Callable[[str, Fill], None]) -> Iterator[Engine]:
    """An engine on a fresh, migrated database, once per dialect.

    The database is a copy of one migrated once per worker: running the migrations costs
    about 50 ms of CPU a database (a few hundred tests ask for one), a copy a few. Tests of
    the migrations themselves start from ``db_url``, which stays empty.
    """
    copy_of_template("migrated", _migrate)
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


Fill = Callable[[str], None]
"""Fills the empty database at the URL it is given (typically: collect from a simulator)."""


def _migrate(url: str) -> None:
    open_database(url).dispose()


_TEMPLATES: dict[tuple[str, str], str] = {}
"""This worker's filled template databases: (dialect, key) -> SQLite path or PostgreSQL name."""


@pytest.fixture
def copy_of_template(
    request: pytest.FixtureRequest, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, Fill], None]:
    """Make this test's empty ``db_url`` a copy of a database filled once per worker.

    Collecting the same organisation into a fresh database for every test was most of the
    suite's time; a copy of one collected database (a file copy, or PostgreSQL's ``CREATE
    DATABASE ... TEMPLATE``) takes milliseconds and gives each test its own data to change.
    ``key`` names what ``fill`` produces: two fills under one key must produce the same data.
    """

    def copy(key: str, fill: Fill) -> None:
        if db_url.startswith("sqlite"):
            target = Path(db_url.removeprefix("sqlite:///"))
            template = _TEMPLATES.get(("sqlite", key))
            if template is None:
                path = tmp_path_factory.mktemp("template") / "template.db"
                fill(f"sqlite:///{path}")
                with sqlite3.connect(path) as conn:  # fold the WAL into the file copied below
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                template = _TEMPLATES[("sqlite", key)] = str(path)
            shutil.copyfile(template, target)
            return
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = _TEMPLATES.get(("postgresql", key))
        if name is None:
            name = _create_database(server)
            fill(server.base_url + name)
            _TEMPLATES[("postgresql", key)] = name
        target_name = db_url.rsplit("/", 1)[1]
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{target_name}" TEMPLATE "{name}"')

    return copy
