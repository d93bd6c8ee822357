"""The re-fetch plan: late events are caught by later runs, for fewer requests than a fixed
overlap, and a long re-fetch that stops half-way resumes where it stopped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.benches import load_bench
from tracker_core.cursor_api.client import RequestInfo
from tracker_core.refetch import HOUR_MS, Pending, PlanState, Tier, complete_up_to, plan_fetch
from tracker_core.simulator import scenario_from_dict
from tracker_core.simulator.delivery import DelayBand, LateDelivery
from tracker_core.storage import repo

bench = load_bench("collect_scale")
START = bench.START
START_MS = int(START.timestamp() * 1000)
TIERS = [Tier(0, 2), Tier(6, 24), Tier(24, 48)]


def hours(n: float) -> int:
    return int(n * HOUR_MS)


# --- the plan's arithmetic ---------------------------------------------------------------------


def test_an_ordinary_hour_reads_since_the_mark_minus_two_hours() -> None:
    state = PlanState({"0h": START_MS, "6h": START_MS, "24h": START_MS})
    fetch = plan_fetch(TIERS, state, START_MS, START_MS + hours(1), 0)
    assert (fetch.start_ms, fetch.tiers) == (START_MS - hours(2), ("0h",))


def test_a_due_tier_reads_from_its_own_last_run_minus_its_lookback() -> None:
    state = PlanState({"0h": 0, "6h": START_MS, "24h": START_MS - hours(18)})
    now = START_MS + hours(6)
    fetch = plan_fetch(TIERS, state, now - hours(1), now, 0)
    assert fetch.tiers == ("0h", "6h", "24h")
    assert fetch.start_ms == START_MS - hours(18) - hours(48)


def test_completeness_is_the_longest_tiers_last_run_minus_its_lookback() -> None:
    state = PlanState({"0h": START_MS, "24h": START_MS}, complete_up_to_ms=None)
    assert complete_up_to(state, TIERS) == START_MS - hours(48)
    earlier = PlanState(state.tier_runs, complete_up_to_ms=START_MS)
    assert complete_up_to(earlier, TIERS) == START_MS  # never moves backwards


def test_an_interrupted_refetch_continues_from_its_last_committed_stretch() -> None:
    pending = Pending(START_MS - hours(48), START_MS - hours(24), START_MS, ("0h", "6h", "24h"))
    state = PlanState({"0h": 0, "6h": START_MS - hours(24), "24h": START_MS - hours(24)}, pending)
    fetch = plan_fetch(TIERS, state, START_MS, START_MS + hours(1), 0)
    assert fetch.resumed
    assert fetch.start_ms == START_MS - hours(24)
    assert fetch.started_ms == START_MS  # the tiers count as run when the stopped run began


# --- against the late simulator, on a scaled clock -----------------------------------------------


def test_a_day_of_hourly_runs_catches_every_late_event_for_fewer_requests(db_url: str) -> None:
    scenario = bench.scenario_for(30)

    async def both() -> list[Any]:
        return [
            await bench.replay(scenario, db_url, bench.settings_for(plan, 3), plan=plan)
            for plan in (bench.TIERED, bench.FIXED)
        ]

    tiered, fixed = asyncio.run(both())
    assert tiered.late_found > 50  # the simulator really delivered late, and it was noticed
    assert tiered.missed == fixed.missed == 0
    assert tiered.event_requests * 2 < fixed.event_requests
    # Whole reads every 6 hours, not every hour (a 30-member team pays at least a page an
    # hour for new events, so its share stays above the fifth a larger team reaches).
    assert tiered.by_stream["spend"] * 6 == fixed.by_stream["spend"]
    assert tiered.requests_per_day * 3 < fixed.requests_per_day


def one_member_scenario() -> Any:
    event = {
        "timestamp": str(START_MS + hours(1)),
        "userEmail": "lee@example.test",
        "model": "gpt-5",
        "kind": "Usage-based",
        "maxMode": False,
        "requestsCosts": 1,
        "isTokenBasedCall": False,
        "isChargeable": True,
        "isHeadless": False,
        "chargedCents": 5,
        "isFreeBugbot": False,
    }
    member = {"id": 1, "name": "Lee", "email": "lee@example.test", "role": "member"}
    return scenario_from_dict({"teamMembers": [member], "usageEvents": [event]})


THIRTY_HOURS = LateDelivery((DelayBand(1.0, 1800, 1800),))


def test_an_event_delivered_30_hours_late_is_stored_by_a_later_run(db_url: str) -> None:
    settings = bench.settings_for(bench.TIERED, 3)

    async def hourly() -> list[int]:
        stored = []
        async with bench.Replay(one_member_scenario(), db_url, settings, THIRTY_HOURS) as world:
            for hour in range(49):
                summary = await world.collect(START + timedelta(hours=hour))
                assert summary.ok
                stored.append(sum(world.stored().values()))
            assert world.missed() == 0
        return stored

    stored = asyncio.run(hourly())
    assert stored[30] == 0  # not delivered yet at 30:00 (it happened at 01:00)
    assert stored[48] == 1  # the daily re-fetch at 48:00 reaches back to it


def test_a_stopped_refetch_resumes_without_asking_again_for_what_it_stored(db_url: str) -> None:
    scenario = bench.scenario_for(30)
    settings = bench.settings_for(bench.TIERED, 3)
    later = START + timedelta(hours=24)

    async def stop_then_resume() -> tuple[list[Any], list[Any], Any]:
        async with bench.Replay(scenario, db_url, settings) as world:
            assert (await world.collect(START)).ok
            before = len(world.queries)
            past: set[int] = set()  # stretches before the every-run part (mark - 2 h)

            def stop_in_second_past_stretch(info: RequestInfo) -> None:
                start = world.queries[-1][0]
                if info.path == "/teams/filtered-usage-events" and start < START_MS - hours(2):
                    past.add(start)
                    if len(past) == 2:
                        raise asyncio.CancelledError

            with pytest.raises(asyncio.CancelledError):
                await world.collect(later, on_request=stop_in_second_past_stretch)
            stopped = world.queries[before:]
            with world.engine.connect() as conn:
                plan = repo.get_plan(conn, "usage_events")
            middle = len(world.queries)
            summary = await world.collect(later + timedelta(minutes=5))
            assert summary.ok
            resumed = world.queries[middle:]
            assert world.missed() == 0
        return stopped, resumed, plan

    stopped, resumed, plan = asyncio.run(stop_then_resume())
    assert plan.pending is not None
    done = plan.pending.done_ms
    assert done == START_MS - hours(48) + hours(12)  # the first stretch of the past is stored
    finished_stretches = {(s, e) for s, e, _ in stopped if e <= done}
    assert len(finished_stretches) == 1
    assert not finished_stretches & {(s, e) for s, e, _ in resumed}
    assert min(start for start, _, _ in resumed) == done
