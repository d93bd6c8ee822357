"""One collected organisation per test module and database, the pages served on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.dashboard.helpers import build_organisation

try:
    from tests.postgres import PostgresServer
except ModuleNotFoundError:
    from postgres import PostgresServer  # type: ignore[no-redef]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def organisation_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A collected and detected organisation, once per module and dialect (tests in the
    module share it, in order: a test that acknowledges says which incident it takes)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("dashboard") / "tracker.db"
        yield build_organisation(f"sqlite:///{path}")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"dashboard_{uuid.uuid4().hex}"
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield build_organisation(server.base_url + name)
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
