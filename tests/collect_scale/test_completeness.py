"""How far the collected data is complete: recorded by the collector, shown by ``stats --json``
and the daemon's ``/healthz``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from tests.benches import load_bench
from tests.daemon.conftest import daemon_settings, running_daemon
from tests.integration.helpers import run_cli, write_config

bench = load_bench("collect_scale")


def test_stats_and_healthz_say_how_far_events_are_complete(db_url: str, tmp_path: Path) -> None:
    scenario = bench.scenario_for(12)
    settings = bench.settings_for(bench.TIERED, 3)

    async def day() -> None:
        async with bench.Replay(scenario, db_url, settings) as world:
            for hour in range(25):
                assert (await world.collect(bench.START + timedelta(hours=hour))).ok

    asyncio.run(day())
    # The daily tier last ran at 24:00 and reads 48 hours back from its run before.
    expected = (bench.START + timedelta(hours=24) - timedelta(hours=48)).isoformat()

    config = write_config(tmp_path / "c.toml", api_url="http://127.0.0.1:9", db_url=db_url)
    shown = run_cli("stats", "--json", config=config)
    assert shown.code == 0, shown.stderr
    events = shown.json()["completeness"]["usage_events"]
    assert events["complete_up_to"] == expected
    assert events["max_lag_seconds"] > 3600  # the simulator's tail of hours was measured

    async def health() -> dict[str, object]:
        async with running_daemon(daemon_settings(db_url)) as client:
            answer = await client.get("/healthz")
            assert answer.status == 200
            body: dict[str, object] = await answer.json()
            return body

    body = asyncio.run(health())
    assert body["complete_up_to"] == {
        "daily_usage": shown.json()["completeness"]["daily_usage"]["complete_up_to"],
        "usage_events": expected,
    }
