"""Streams read whole each time (members, spend, billing groups, daily usage) are read again
only after their interval, or at once when something says they changed: on an hourly schedule
they cost a few requests a day instead of one full read an hour."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import delete, select

from tests.benches import load_bench
from tracker_core.collector import CollectionSummary
from tracker_core.refetch import HOUR_MS, snapshot_due
from tracker_core.storage import begin_write
from tracker_core.storage import tables as t

bench = load_bench("collect_scale")
START = bench.START
WHOLE = ("members", "spend", "groups", "daily_usage")


def test_a_whole_read_is_due_after_its_interval_or_once_its_data_changed() -> None:
    read = 100 * HOUR_MS
    assert snapshot_due(None, 6, read)  # never read
    assert not snapshot_due(read, 6, read + HOUR_MS)
    assert snapshot_due(read, 6, read + 6 * HOUR_MS - 60_000)  # hourly runs drift by seconds
    assert snapshot_due(read, 0, read + 1)  # 0: every run
    cycle_rolled = read + HOUR_MS
    assert snapshot_due(read, 6, read + 2 * HOUR_MS, changed_ms=cycle_rolled)
    assert not snapshot_due(read + 3 * HOUR_MS, 6, read + 4 * HOUR_MS, changed_ms=cycle_rolled)


def test_hourly_runs_read_the_whole_streams_every_six_hours(db_url: str) -> None:
    settings = bench.settings_for(bench.TIERED, 3)

    async def day() -> tuple[list[Counter[str]], list[CollectionSummary]]:
        spent, summaries = [], []
        async with bench.Replay(bench.scenario_for(12), db_url, settings) as world:
            for hour in range(8):
                before = world.by_stream()
                summaries.append(await world.collect(START + timedelta(hours=hour)))
                spent.append(world.by_stream() - before)
        return spent, summaries

    spent, summaries = asyncio.run(day())
    read_at = [hour for hour in range(8) if all(spent[hour][name] for name in WHOLE)]
    assert read_at == [0, 6]
    assert all(not spent[hour][name] for hour in (1, 2, 5, 7) for name in WHOLE)
    assert all(spent[hour]["usage_events"] for hour in range(8))  # events: every run
    skipped = summaries[1].to_json()["streams"]["spend"]
    assert skipped["skipped"] == "not due: read 60 min ago, read every 6 h"
    assert summaries[1].ok and "skipped" not in summaries[6].to_json()["streams"]["spend"]


def test_events_naming_someone_not_listed_make_the_next_run_read_members(db_url: str) -> None:
    settings = bench.settings_for(bench.TIERED, 3)
    scenario = bench.scenario_for(12)
    store = scenario.events
    at = int((START + timedelta(minutes=30)).timestamp() * 1000)
    newcomer = str(store.event(store.positions(at, at + HOUR_MS)[0])["userEmail"])

    async def hours() -> tuple[list[int], set[str]]:
        members = []
        async with bench.Replay(scenario, db_url, settings) as world:
            await world.collect(START)
            # As if they joined after the last listing: their events arrive first.
            with begin_write(world.engine) as conn:
                conn.execute(delete(t.members).where(t.members.c.email == newcomer))
            for hour in (1, 2, 3):
                before = world.by_stream()["members"]
                await world.collect(START + timedelta(hours=hour))
                members.append(world.by_stream()["members"] - before)
            with world.engine.connect() as conn:
                listed = set(conn.scalars(select(t.members.c.email)))
        return members, listed

    members, listed = asyncio.run(hours())
    assert members == [0, 1, 0]  # hour 1 stored their events, hour 2 read the listing
    assert newcomer in listed
