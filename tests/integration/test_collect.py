"""The collector against the simulator, through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from tests.integration.helpers import KEY, run_cli, start_cli, totals, write_config
from tracker_core.collector import CollectionSummary, Collector
from tracker_core.config import CollectorSettings, CursorSettings, DatabaseSettings, Settings
from tracker_core.cursor_api import CursorClient
from tracker_core.jobs.collect import client_options
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import open_database, repo
from tracker_core.views import overview as views_overview

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def scenario() -> Any:
    # 20 days of history inside a 30-day backfill: runs started seconds apart see the same data.
    return generate_scenario(users=12, days=20, seed=11, now=NOW)


@pytest.fixture
def simulator(scenario: Any) -> Iterator[str]:
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


@pytest.fixture(scope="module")
def reference_totals(scenario: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Totals of one clean, uninterrupted, fault-free run into a SQLite file of its own."""
    where = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{where / 'reference.db'}"
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
        config = write_config(where / "reference.toml", api_url=api, db_url=url)
        result = run_cli("collect", "--json", config=config)
    assert result.code == 0, result.stderr
    return totals(url)


def test_collecting_twice_adds_nothing(simulator: str, db_url: str, tmp_path: Path) -> None:
    # Every stream read again at once (by default the whole-read ones wait hours).
    whole_reads_every_run = {"snapshot_every_hours": 0.0, "spend_every_hours": 0.0}
    config = write_config(
        tmp_path / "c.toml", api_url=simulator, db_url=db_url, **whole_reads_every_run
    )
    first = run_cli("collect", "--json", config=config)
    assert first.code == 0, first.stderr
    summary = first.json()
    assert summary["ok"] is True
    assert summary["usage_events_new"] == summary["usage_events_fetched"] > 0
    assert summary["members"] >= 12
    after_first = totals(db_url)
    assert after_first["events"] == summary["usage_events_new"]

    second = run_cli("collect", "--json", config=config)
    assert second.code == 0, second.stderr
    assert second.json()["usage_events_new"] == 0
    # The overlap window re-fetched events on purpose; none of them became a second row.
    assert second.json()["usage_events_fetched"] > 0
    # Every stream re-read what it had (members, spend, groups, days): nothing is "new".
    assert {name: s["new"] for name, s in summary["streams"].items()}["members"] == (
        summary["members"]
    )
    again = second.json()["streams"]
    assert {name: s["new"] for name, s in again.items()} == dict.fromkeys(again, 0)
    assert again["members"]["fetched"] > 0 and again["groups"]["fetched"] > 0
    assert again["spend"]["fetched"] > 0 and again["daily_usage"]["fetched"] > 0
    assert totals(db_url) == after_first


def test_collect_leaves_the_consoles_overview_ready(
    simulator: str, db_url: str, tmp_path: Path
) -> None:
    """A plain ``collect`` (no detect after it) still spares the next console start the scan."""
    config = write_config(tmp_path / "c.toml", api_url=simulator, db_url=db_url)
    result = run_cli("collect", "--json", config=config)
    assert result.code == 0, result.stderr
    engine = create_engine(db_url)
    today = datetime.now(UTC).date()
    try:
        with engine.connect() as conn:
            ready = views_overview.remembered_overview(conn, days=30, today=today)
            assert ready is not None
            assert ready == views_overview.overview(conn, days=30, today=today)
            assert ready.total_members >= 12
    finally:
        engine.dispose()


def test_killed_collector_resumes_to_same_totals(
    scenario: Any, db_url: str, tmp_path: Path, reference_totals: dict[str, Any]
) -> None:
    expected = reference_totals
    with running_simulator(scenario, api_key=KEY, rate_limits=False, latency=0.15) as api:
        config = write_config(
            tmp_path / "c.toml", api_url=api, db_url=db_url, events_window_days=2, batch_size=200
        )
        process = start_cli("collect", config=config)
        engine = create_engine(db_url)
        deadline = time.monotonic() + 120
        stored = 0
        try:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with engine.connect() as conn:
                        stored = repo.usage_totals(conn)[0]
                except Exception:  # tables may not exist yet
                    stored = 0
                if stored > 0:
                    break
                time.sleep(0.05)
        finally:
            engine.dispose()
        assert process.poll() is None, "the collector finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 0 < totals(db_url)["events"] < expected["events"]

    # The delay was there to catch the first run half-way; the resumed run reads the same
    # organisation from a simulator that answers at once (as the reference run did).
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
        config = write_config(
            tmp_path / "c.toml", api_url=api, db_url=db_url, events_window_days=2, batch_size=200
        )
        again = run_cli("collect", "--json", config=config)
    assert again.code == 0, again.stderr
    assert totals(db_url) == expected


def test_faults_do_not_change_totals(
    scenario: Any, db_url: str, tmp_path: Path, reference_totals: dict[str, Any]
) -> None:
    expected = reference_totals
    with running_simulator(
        scenario, api_key=KEY, rate_limits=False, fault_rate=0.3, seed=5, slow_seconds=1.5
    ) as api:
        # A slow answer takes three times the client's timeout, so it is always a timeout.
        config = write_config(
            tmp_path / "c.toml",
            api_url=api,
            db_url=db_url,
            timeout_seconds=0.5,
            events_window_days=3,
        )
        result = run_cli("collect", "--json", config=config)
        faults = httpx.get(f"{api}/_simulator/stats").json()["faults"]
    assert result.code == 0, result.stderr
    assert faults > 0
    assert totals(db_url) == expected


def test_wrong_key_exits_1_and_says_so(simulator: str, db_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", api_url=simulator, db_url=db_url)
    result = run_cli("collect", config=config, key="not-the-key")
    assert result.code == 1
    assert "rejected the key (401)" in result.stderr
    assert "not-the-key" not in result.stderr + result.stdout
    assert totals(db_url)["events"] == 0


def test_a_refused_key_ends_the_run_with_one_message(
    simulator: str, db_url: str, tmp_path: Path
) -> None:
    """Every later request would be refused the same way: one request, one message."""
    config = write_config(tmp_path / "c.toml", api_url=simulator, db_url=db_url)
    before = httpx.get(f"{simulator}/_simulator/stats").json()["by_path"]
    result = run_cli("collect", config=config, key="not-the-key")
    after = httpx.get(f"{simulator}/_simulator/stats").json()["by_path"]
    assert result.code == 1
    output = result.stdout + result.stderr
    assert output.count("rejected the key") == 1, output
    assert result.stderr.splitlines()[-1] == (
        "cursor-tracker: Cursor Admin API rejected the key (401); "
        "collection stopped, as every other request would be refused"
    )
    assert "Collection finished" not in result.stdout
    assert "Collection stopped" in result.stdout
    asked = {path: after[path] - before.get(path, 0) for path in after}
    assert {path: n for path, n in asked.items() if n} == {"/teams/members": 1}

    as_json = run_cli("collect", "--json", config=config, key="not-the-key")
    summary = as_json.json()
    assert as_json.code == 1
    assert summary["stopped"] == "Cursor Admin API rejected the key (401)"
    assert list(summary["streams"]) == ["members"]
    assert as_json.stderr.count("rejected the key") == 1


TIME_SCALE = 30.0
"""Clock speed of the rate-limit test: Cursor's rolling minute passes in two real seconds.

The limiter logs a request when its answer arrives, so however slow a loaded machine makes
the trip, the server (on the same clock) never stamps a request later than the limiter did.
"""


class ScaledClock:
    """Monotonic time running ``TIME_SCALE`` times faster, shared by the client and the server."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self._origin) * TIME_SCALE

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / TIME_SCALE)


def test_default_settings_never_trip_the_rate_limit(
    scenario: Any, db_url: str, tmp_path: Path
) -> None:
    # One-day windows make the backfill need well over 20 admin requests, so the client's own
    # limiter, built from the default settings, has to hold requests back for the run to stay
    # under Cursor's 20 per rolling minute. Client and simulator share one clock that runs
    # TIME_SCALE times faster, so a minute of quota passes in seconds.
    clock = ScaledClock()
    with running_simulator(scenario, api_key=KEY, rate_limits=True, clock=clock) as api:
        settings = Settings(
            cursor=CursorSettings.model_validate({"admin_api_key": KEY, "api_url": api}),
            database=DatabaseSettings(url=db_url),
            collector=CollectorSettings(backfill_days=12, events_window_days=1, analytics=False),
        )
        engine = open_database(db_url)

        async def collect() -> CollectionSummary:
            client = CursorClient(
                client_options(settings), limiter_clock=clock, limiter_sleep=clock.sleep
            )
            async with client:
                return await Collector(engine, client, settings.collector).run()

        try:
            summary = asyncio.run(collect())
        finally:
            engine.dispose()
        stats = httpx.get(f"{api}/_simulator/stats").json()
    assert summary.ok, [result.error for result in summary.failed]
    assert stats["requests"] > 20, "the run must outlast one rolling minute to prove anything"
    assert stats["rate_limited"] == 0


def test_two_collectors_started_together_do_not_both_collect(
    scenario: Any, db_url: str, tmp_path: Path
) -> None:
    with running_simulator(scenario, api_key=KEY, rate_limits=False, latency=0.3) as api:
        config = write_config(tmp_path / "c.toml", api_url=api, db_url=db_url, lease_wait_seconds=1)
        # Create the schema first so both start from the same point.
        open_database(db_url).dispose()
        first = start_cli("collect", "--json", config=config)
        second = start_cli("collect", "--json", config=config)
        outputs = [process.communicate(timeout=300) for process in (first, second)]
        codes = sorted((first.returncode, second.returncode))
        requests = httpx.get(f"{api}/_simulator/stats").json()["by_path"]
    assert codes == [0, 1], outputs
    loser = outputs[0] if first.returncode == 1 else outputs[1]
    assert "another collector is running" in loser[1]
    # Only one of them asked for the members list: the other never started collecting.
    assert requests.get("/teams/members") == 1


def test_stats_json_matches_contract(simulator: str, db_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", api_url=simulator, db_url=db_url)
    assert run_cli("collect", config=config).code == 0
    result = run_cli("stats", "--days", "7", "--json", config=config)
    assert result.code == 0, result.stderr
    stats = result.json()
    assert stats["days"] == 7 and len(stats["daily"]) == 7
    assert stats["daily"][-1]["day"] == stats["end"] == datetime.now(UTC).date().isoformat()
    spends = [user["spend"] for user in stats["users"]]
    assert spends == sorted(spends, reverse=True)
    assert round(sum(spends), 2) == pytest.approx(stats["total_spend"], abs=0.05)
    assert sum(day["requests"] for day in stats["daily"]) == stats["requests"]
    assert set(stats["cycle"]) == {"start", "end", "spend", "forecast"}
    forecast = stats["cycle"]["forecast"]
    assert set(forecast) == {"spent", "expected", "low", "high"}
    assert forecast["spent"] == pytest.approx(stats["cycle"]["spend"], abs=0.01)
    assert 0 < stats["active_members"] <= stats["members"] == len(stats["users"])
