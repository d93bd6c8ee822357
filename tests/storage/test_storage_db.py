"""Opening and migrating databases: schema, concurrency, SQLite settings and error messages."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import StatementError

from tracker_core.errors import StorageError
from tracker_core.storage import (
    begin_write,
    get_watermark,
    make_engine,
    metadata,
    migrate,
    open_database,
    set_watermark,
)
from tracker_core.storage import tables as t
from tracker_core.storage.db import MIGRATIONS_DIR, SCHEMA_HEAD

LATEST_REVISION = "0014"
"""The newest migration; a database opened by this code must end there."""

EXPECTED_TABLES = {
    "alembic_version",
    "members",
    "daily_usage",
    "member_spend",
    "usage_events",
    "billing_groups",
    "group_members",
    "local_groups",
    "group_renames",
    "group_assignments",
    "group_edits",
    "analytics_values",
    "detection_settings",
    "collection_runs",
    "collection_streams",
    "watermarks",
    "collection_plan",
    "leases",
    "anomalies",
    "incidents",
    "alert_outbox",
    "message_outbox",
    "view_cache",
    "data_versions",
    "event_rollups",
    "rollup_stale_days",
    "event_rollups_weekly",
    "event_rollups_members",
    "budgets",
}


def _schema(engine: Engine) -> dict[str, tuple[list[str], list[str]]]:
    inspector = inspect(engine)
    return {
        name: (
            [c["name"] for c in inspector.get_columns(name)],
            sorted(str(ix["name"]) for ix in inspector.get_indexes(name)),
        )
        for name in inspector.get_table_names()
    }


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_the_head_a_start_checks_for_is_the_newest_migration() -> None:
    """A start skips migrating when the database is at SCHEMA_HEAD: a new migration must
    move it, or databases would never get the new schema."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD] == [LATEST_REVISION]


def test_migrate_builds_the_schema_and_a_second_run_changes_nothing(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        before = _schema(engine)
        assert set(before) == EXPECTED_TABLES
        assert before["usage_events"][1] == [
            "ix_usage_events_day",
            "ix_usage_events_timestamp_ms",
            "ix_usage_events_user_email_day",
        ]
        assert _versions(engine) == [LATEST_REVISION]

        migrate(engine)

        assert _schema(engine) == before
        assert _versions(engine) == [LATEST_REVISION]
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_schema_drift_would_be_detected(db_engine: Engine) -> None:
    """Guards the test above: a column the migration lacks must show up as a difference."""
    from sqlalchemy import Column, Integer, MetaData

    drifted = MetaData()
    for table in metadata.sorted_tables:
        copy = table.to_metadata(drifted)
        if table.name == "watermarks":
            copy.append_column(Column("extra", Integer))
    with db_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), drifted)
    assert [d[0] for d in differences] == ["add_column"]


def test_concurrent_migrations_on_a_fresh_database_all_succeed(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            barrier.wait()
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert _versions(engines[0]) == [LATEST_REVISION]
        assert set(inspect(engines[0]).get_table_names()) == EXPECTED_TABLES
    finally:
        for engine in engines:
            engine.dispose()


def test_database_newer_than_the_code_is_refused_plainly(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="newer version of the tracker"):
        migrate(db_engine)


def test_sqlite_pragmas_hold_on_every_connection(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def test_sqlite_enforces_foreign_keys(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as conn:
            conn.execute(
                t.group_members.insert().values(
                    group_id="nope",
                    email="a@example.test",
                    name="A",
                    spend_cents=0.0,
                    collected_at=datetime.now(UTC),
                )
            )
    finally:
        engine.dispose()


def test_sqlite_transactions_roll_back_ddl_and_dml_together(sqlite_url: str) -> None:
    """The sqlite3 module alone would autocommit DDL; migrations rely on it not doing so."""
    engine = make_engine(sqlite_url)
    try:
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
            raise RuntimeError("abort")
        assert "scratch" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_parent_directories_are_created(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "tracker.db"
    engine = open_database(f"sqlite:///{target}")
    engine.dispose()
    assert target.is_file()


def test_sqlite_path_under_a_file_is_a_plain_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StorageError) as caught:
        make_engine(f"sqlite:///{blocker / 'tracker.db'}")
    message = str(caught.value)
    assert str(blocker) in message
    assert "Traceback" not in message and "\n" not in message


def test_sqlite_path_that_is_a_directory_is_a_plain_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot open the database sqlite:///"):
        make_engine(f"sqlite:///{tmp_path}")


def test_unreachable_postgres_is_a_storage_error_without_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    url = f"postgresql://tracker:s3cret-Pa55@127.0.0.1:{port}/tracker"
    with pytest.raises(StorageError) as caught:
        make_engine(url)
    message = str(caught.value)
    assert "s3cret-Pa55" not in message
    assert f"postgresql+psycopg://tracker:***@127.0.0.1:{port}/tracker" in message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "is not valid"),
        ("mysql://u:pw@localhost/db", "not supported"),
    ],
)
def test_bad_urls_are_plain_storage_errors(url: str, fragment: str) -> None:
    with pytest.raises(StorageError, match=fragment) as caught:
        make_engine(url)
    assert ":pw@" not in str(caught.value)


@pytest.mark.postgres
def test_plain_postgresql_url_uses_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    engine = open_database(plain)
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_instants_come_back_as_aware_utc(db_engine: Engine) -> None:
    plus_two = timezone(timedelta(hours=2))
    written = datetime(2025, 3, 3, 14, 30, 5, 123456, tzinfo=plus_two)
    with db_engine.begin() as conn:
        set_watermark(conn, "events", 1, at=written)
    with db_engine.connect() as conn:
        stored = conn.execute(t.watermarks.select()).one()
        assert get_watermark(conn, "events") == 1
    assert stored.updated_at == written
    assert stored.updated_at.tzinfo == UTC
    assert stored.updated_at.hour == 12


def test_naive_instants_are_refused(db_engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db_engine.begin() as conn:
        set_watermark(conn, "events", 1, at=datetime(2025, 3, 3, 12, 0))


def test_opening_a_current_database_does_not_wait_for_a_writer(sqlite_url: str) -> None:
    """The console must start while the collector is mid-transaction (busy timeout is 30 s)."""
    writer = open_database(sqlite_url)
    try:
        with begin_write(writer) as conn:
            set_watermark(conn, "usage_events", 1, at=datetime.now(UTC))
            started = time.monotonic()
            reader = open_database(sqlite_url)
            elapsed = time.monotonic() - started
            with reader.connect() as other:
                assert get_watermark(other, "usage_events") is None, "uncommitted write is hidden"
            reader.dispose()
        assert elapsed < 5
    finally:
        writer.dispose()
