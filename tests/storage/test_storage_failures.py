"""A database that cannot be written, is damaged or lacks a table: one plain line, exit 1.

The command runs in this process (``cli.main``) against a real database of each dialect,
broken the way an operator's would be: a table dropped, writes refused, a page overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from tests.integration.helpers import KEY
from tracker_core.cli import main as cli
from tracker_core.config import Settings
from tracker_core.domain import Member
from tracker_core.jobs.detect import run_detection
from tracker_core.service import failure_message
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import open_database, set_detection_setting, upsert_members
from tracker_core.storage import tables as t
from tracker_core.storage.failures import database_error, database_name

NOW = datetime.now(UTC).replace(microsecond=0)


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, list[str]]:
    code = cli.main([*args, "--config", str(config)])
    return code, capsys.readouterr().err.splitlines()


def config_for(tmp_path: Path, db_url: str, api_url: str = "http://127.0.0.1:9") -> Path:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[cursor]\napi_url = "{api_url}"\nmax_attempts = 1\n'
        "admin_requests_per_minute = 10000\nanalytics_requests_per_minute = 10000\n"
        f'[database]\nurl = "{db_url}"\n'
        "[collector]\nanalytics = false\n"
    )
    return config


@pytest.fixture(autouse=True)
def outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "RESEND_API_KEY", "CURSOR_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CURSOR_ADMIN_API_KEY", KEY)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def drop(engine: Engine, table: str) -> None:
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}{cascade}"))


def assert_plain(lines: list[str], db_url: str) -> str:
    """One line, naming the database, with no SQL statement or parameters in it."""
    assert len(lines) == 1, lines
    [line] = lines
    assert database_name(db_url) in line
    assert not re.search(r"\[SQL|\[parameters|SELECT |INSERT |Traceback", line), line
    return line


def test_a_missing_table_is_one_line_naming_database_and_table(
    engine: Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as conn:  # a database that has been collected into
        upsert_members(conn, [Member("ana@example.test", "Ana", "member")], seen_at=NOW)
    drop(engine, "event_rollups")

    code, lines = run(capsys, config_for(tmp_path, db_url), "stats")

    assert code == 1
    assert "table event_rollups is missing" in assert_plain(lines, db_url)


def test_a_read_only_database_refuses_a_change_plainly_and_keeps_what_was_stored(
    engine: Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as conn:
        set_detection_setting(conn, "max_requests_per_day", "7", at=NOW)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        used_url = db_url
    else:
        # Root ignores file permissions, so the file is opened read-only as SQLite allows.
        used_url = f"sqlite:///file:{engine.url.database}?mode=ro&uri=true"
    engine.dispose()

    code, lines = run(
        capsys, config_for(tmp_path, used_url), "settings", "set", "max_requests_per_day", "9"
    )

    assert code == 1
    assert "read-only" in assert_plain(lines, used_url)
    with engine.connect() as conn:
        stored = conn.execute(select(t.detection_settings.c.value)).scalars().all()
    assert stored == ["7"]


def test_console_notification_names_the_database_not_the_statement(
    engine: Engine, db_url: str
) -> None:
    drop(engine, "incidents")
    with pytest.raises(SQLAlchemyError) as raised, engine.connect() as conn:
        conn.execute(select(t.incidents.c.id).where(t.incidents.c.id == 12345))

    message = failure_message(raised.value, engine.url)

    assert_plain([message], db_url)
    assert "12345" not in message and "incidents is missing" in message


def test_a_damaged_sqlite_file_fails_detection_instead_of_passing_unnoticed(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_database(sqlite_url)
    run_detection(engine, Settings(), clock=lambda: NOW, senders={})
    with engine.connect() as conn:
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        root = conn.execute(
            text("SELECT rootpage FROM sqlite_master WHERE name = 'view_cache'")
        ).scalar_one()
    engine.dispose()  # the last connection folds the WAL back into the file
    path = Path(str(engine.url.database))
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)

    code, lines = run(capsys, config_for(tmp_path, sqlite_url), "detect")

    assert code == 1
    assert "is damaged" in assert_plain(lines, sqlite_url)


@pytest.fixture(scope="module")
def small_api() -> Iterator[str]:
    scenario = generate_scenario(users=12, days=10, seed=3, now=NOW)
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


def test_one_streams_database_error_spares_the_others_and_closes_the_run(
    engine: Engine,
    db_url: str,
    small_api: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = t.collection_runs
    with engine.begin() as conn:  # a collector killed earlier left its run open
        conn.execute(runs.insert().values(started_at=NOW, status="running"))
    drop(engine, "group_members")

    code, lines = run(capsys, config_for(tmp_path, db_url, small_api), "collect", "--json")

    assert code == 1
    assert "table group_members is missing" in assert_plain(lines, db_url)
    streams = t.collection_streams
    with engine.connect() as conn:
        statuses = conn.execute(select(runs.c.status).order_by(runs.c.id)).scalars().all()
        errors = {row.stream: row.error for row in conn.execute(select(streams))}
        members = conn.execute(select(t.members.c.email)).scalars().all()
        events = conn.execute(select(t.usage_events.c.id).limit(1)).scalars().all()
    assert statuses == ["failed", "partial"]
    assert [name for name, error in errors.items() if error] == ["groups"]
    assert "table group_members is missing" in str(errors["groups"])
    assert "[SQL" not in str(errors["groups"])
    assert len(members) == 12 and events


def test_a_run_that_cannot_record_its_streams_is_closed_as_failed(
    engine: Engine,
    db_url: str,
    small_api: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    drop(engine, "collection_streams")

    code, lines = run(capsys, config_for(tmp_path, db_url, small_api), "collect", "--json")

    assert code == 1
    assert "table collection_streams is missing" in assert_plain(lines, db_url)
    runs = t.collection_runs
    with engine.connect() as conn:
        [(status, error)] = conn.execute(select(runs.c.status, runs.c.error)).all()
    assert status == "failed" and "collection_streams is missing" in error


@pytest.mark.postgres
def test_the_line_never_carries_the_password_the_statement_or_its_parameters(
    postgres_url: str,
) -> None:
    engine = open_database(postgres_url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table WHERE secret = :s"), {"s": "tok-123"})
    finally:
        engine.dispose()
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")

    message = str(database_error(raised.value, with_password))

    assert "hunter2" not in message and "tok-123" not in message and "SELECT" not in message
    assert "postgres:***@" in message and "table no_such_table is missing" in message


def test_a_full_disk_reads_as_such(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, engine.begin() as conn:
            # SQLite answers SQLITE_FULL when a file may grow no further, as on a full disk.
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 1}")
            set_detection_setting(conn, "max_requests_per_day", "x" * 100_000, at=NOW)
    finally:
        engine.dispose()

    message = str(database_error(raised.value, sqlite_url))

    assert message == f"cannot write {database_name(sqlite_url)}: disk full"


@pytest.mark.parametrize("prefix", ["", "file:"])
def test_a_read_only_sqlite_uri_opens_the_file_it_names(
    prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``?mode=ro&uri=true`` on a plain path once opened a new, empty file named
    ``tracker.db?mode=ro`` and wrote there, reporting success while the named file was never
    read; SQLite reads a filename as a URI only when it starts with ``file:``."""
    path = tmp_path / "tracker.db"
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as conn:
        set_detection_setting(conn, "max_requests_per_day", "7", at=NOW)
    engine.dispose()
    used_url = f"sqlite:///{prefix}{path}?mode=ro&uri=true"

    shown, shown_lines = run(capsys, config_for(tmp_path, used_url), "settings", "show", "--json")
    code, lines = run(
        capsys, config_for(tmp_path, used_url), "settings", "set", "max_requests_per_day", "9"
    )

    assert shown == 0, shown_lines
    assert code == 1
    assert "read-only" in assert_plain(lines, used_url)
    assert [p.name for p in tmp_path.iterdir() if "mode" in p.name] == []
    engine = open_database(f"sqlite:///{path}")
    with engine.connect() as conn:
        stored = conn.execute(select(t.detection_settings.c.value)).scalars().all()
    engine.dispose()
    assert stored == ["7"]
