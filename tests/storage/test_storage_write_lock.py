"""Work that reads, then writes, holds the write lock from its start (SQLite and PostgreSQL).

On SQLite in WAL mode a transaction that began by reading cannot upgrade to a writer once
another connection has committed: it fails at once with "database is locked", whatever the busy
timeout. Each test lets another connection commit a write at the worst moment, just before the
unit of work under test writes for the first time, and expects the work to succeed anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError

from tests.integration.helpers import KEY
from tracker_core.alerting.items import AlertItem, Attempt, Delivery, Lookup
from tracker_core.alerting.outbox import dispatch
from tracker_core.cli import main as cli
from tracker_core.collector import SilentProgress
from tracker_core.config import Settings
from tracker_core.domain import Member, UsageEvent, usage_event_id, utc_day
from tracker_core.jobs.collect import collect_once, simulator_settings
from tracker_core.jobs.detect import run_detection
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import (
    insert_usage_events,
    make_engine,
    open_database,
    repo,
    set_detection_setting,
    upsert_members,
)
from tracker_core.storage import tables as t

NOW = datetime.now(UTC).replace(microsecond=0)
ANA = "ana@example.test"


def _event(minutes_ago: int) -> UsageEvent:
    when = NOW - timedelta(minutes=minutes_ago)
    fields: dict[str, Any] = {
        "timestamp_ms": int(when.timestamp() * 1000),
        "user_email": ANA,
        "model": "gpt-5",
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": 10,
        "output_tokens": 10,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "token_cents": None,
        "charged_cents": 5.0,
    }
    return UsageEvent(id=usage_event_id(**fields), day=utc_day(fields["timestamp_ms"]), **fields)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A database where Ana made more requests today than the one a day allowed."""
    engine = open_database(db_url)
    with engine.begin() as conn:
        upsert_members(conn, [Member(ANA, "Ana Silva", "member")], seen_at=NOW)
        insert_usage_events(conn, [_event(1), _event(2), _event(3)])
        set_detection_setting(conn, "max_requests_per_day", "1", at=NOW)
    try:
        yield engine
    finally:
        engine.dispose()


class Interloper:
    """Another process that commits a write just before the watched table's first write.

    When the unit of work already holds the write lock (as it should on SQLite), the
    interloper cannot write and gives up after a moment; that is the behaviour wanted.
    """

    def __init__(self, url: str, table: str) -> None:
        self.other = make_engine(url)
        self.prefixes = tuple(f"{verb} {table}" for verb in ("INSERT INTO", "UPDATE"))
        self.fired = False
        self.committed = False
        event.listen(Engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.fired or conn.engine is self.other or not statement.startswith(self.prefixes):
            return
        self.fired = True
        try:
            with self.other.begin() as other:
                if other.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout=100")
                repo.bump_data_version(other, "interloper")
            self.committed = True
        except OperationalError:
            self.committed = False

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._before)
        self.other.dispose()


@pytest.fixture
def interloper(db_url: str, request: pytest.FixtureRequest) -> Iterator[Interloper]:
    watcher = Interloper(db_url, request.param)
    try:
        yield watcher
    finally:
        watcher.close()


def _incidents(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(t.incidents.c.id, t.incidents.c.status))]  # type: ignore[misc]


@pytest.mark.parametrize("interloper", ["anomalies"], indirect=True)
@pytest.mark.parametrize("dry_run", [False, True], ids=["detect", "dry-run"])
def test_detection_survives_a_write_committed_while_it_reads(
    engine: Engine, interloper: Interloper, dry_run: bool
) -> None:
    report = run_detection(engine, Settings(), dry_run=dry_run, clock=lambda: NOW, senders={})

    assert interloper.fired
    assert [a["rule"] for a in report.anomalies] == ["requests_limit"]
    assert len(_incidents(engine)) == (0 if dry_run else 1)


class FailingSender:
    def send(self, items: Sequence[AlertItem], attempt: str) -> list[Delivery]:
        return [Delivery(tuple(item.incident_id for item in items), ok=False, error="HTTP 500")]

    def find_delivered(self, attempts: Sequence[Attempt]) -> Lookup:
        return Lookup()


@pytest.mark.parametrize("interloper", ["alert_outbox"], indirect=True)
def test_recording_a_failed_delivery_survives_a_concurrent_write(
    engine: Engine, db_url: str, interloper: Interloper
) -> None:
    settings = Settings.model_validate(
        {"slack": {"bot_token": "xoxb-test", "channel_id": "C1"}, "database": {"url": db_url}}
    )
    interloper.fired = True  # detection queues the alert undisturbed
    run_detection(engine, settings, clock=lambda: NOW, senders={})
    interloper.fired = False

    result = dispatch(engine, {"slack": FailingSender()}, now=lambda: NOW)

    assert interloper.fired
    assert result.failed == {"slack": 1}
    o = t.alert_outbox
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.status, o.c.attempts).where(o.c.channel == "slack")).all()
    assert [tuple(row) for row in rows] == [("failed", 1)]


@pytest.mark.parametrize("interloper", ["incidents"], indirect=True)
def test_acknowledging_from_the_command_line_survives_a_concurrent_write(
    engine: Engine,
    db_url: str,
    interloper: Interloper,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    interloper.fired = True
    run_detection(engine, Settings(), clock=lambda: NOW, senders={})
    interloper.fired = False
    [(incident_id, _)] = _incidents(engine)
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    monkeypatch.delenv("DATABASE_URL", raising=False)

    code = cli.main(["incidents", "ack", str(incident_id), "--config", str(config)])

    assert code == 0, capsys.readouterr().err
    assert interloper.fired
    assert _incidents(engine) == [(incident_id, "acknowledged")]


@pytest.mark.parametrize("interloper", ["detection_settings"], indirect=True)
def test_changing_a_setting_from_the_command_line_survives_a_concurrent_write(
    engine: Engine,
    db_url: str,
    interloper: Interloper,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    monkeypatch.delenv("DATABASE_URL", raising=False)

    code = cli.main(["settings", "set", "max_requests_per_day", "5", "--config", str(config)])

    assert code == 0, capsys.readouterr().err
    assert interloper.fired
    with engine.connect() as conn:
        stored = dict(
            conn.execute(select(t.detection_settings.c.key, t.detection_settings.c.value)).all()
        )  # type: ignore[arg-type]
    assert stored["max_requests_per_day"] == "5"


@pytest.fixture(scope="module")
def small_api() -> Iterator[str]:
    scenario = generate_scenario(users=12, days=10, seed=3, now=NOW)
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


@pytest.mark.parametrize("interloper", ["daily_usage"], indirect=True)
def test_a_collection_survives_a_write_committed_while_it_stores_a_batch(
    db_url: str, small_api: str, interloper: Interloper
) -> None:
    settings = simulator_settings(small_api, KEY, db_url, backfill_days=10)

    summary = asyncio.run(collect_once(settings, SilentProgress()))

    assert interloper.fired
    assert summary.ok, summary.to_json()["errors"]
    assert summary.stream("daily_usage").fetched > 0
