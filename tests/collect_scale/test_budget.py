"""The rate limit as a budget: one limiter per API for the whole process, and a run that would
spend more than its share of the hour leaves the rest of its re-fetch to the next run."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from tests.benches import load_bench
from tracker_core.cli.render import print_summary
from tracker_core.collector import Collector
from tracker_core.config import CollectorSettings
from tracker_core.cursor_api import ClientOptions, CursorClient
from tracker_core.simulator.server import STATE_KEY, running_simulator
from tracker_core.storage import open_database, repo

bench = load_bench("collect_scale")


class FakeClock:
    """Seconds that pass only when someone sleeps: an hour of rate limit in no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def most_in_a_minute(times: list[float]) -> int:
    ordered = sorted(times)
    return max(
        (sum(1 for t in ordered[i:] if t < start + 60.0) for i, start in enumerate(ordered)),
        default=0,
    )


def test_a_run_over_its_budget_defers_the_past_and_the_next_runs_resume_it(db_url: str) -> None:
    clock = FakeClock()
    printed = Console(file=io.StringIO(), width=200)
    settings = CollectorSettings.model_validate(
        {**bench.settings_for(bench.TIERED, 3).model_dump(), "max_run_minutes": 0.5}
    )
    budget = 10  # half a minute at 20 requests a minute

    async def day() -> tuple[list[int], list[str | None], object, list[float]]:
        async with bench.Replay(bench.scenario_for(30), db_url, settings, rate_clock=clock) as w:
            spent, deferred = [], []
            for hour in range(31):
                before = w.requests
                summary = await w.collect(
                    bench.START + timedelta(hours=hour), per_minute=20, limiter=(clock, clock.sleep)
                )
                assert summary.ok, summary.failure_message()
                spent.append(w.requests - before)
                deferred.append(summary.stream("usage_events").deferred)
                if hour == 24:
                    print_summary(summary, printed)
            with w.engine.connect() as conn:
                plan = repo.get_plan(conn, "usage_events")
            state = w.app[STATE_KEY]
            assert state.rate_limited == 0
            return spent, deferred, plan, [at for api, at in state.admitted if api == "admin"]

    spent, deferred, plan, admitted = asyncio.run(day())
    assert deferred[24] is not None and "deferred to the next run" in deferred[24]
    assert "budget of 10 requests" in deferred[24]
    assert "deferred re-reading" in printed.file.getvalue()  # collect says so too
    assert all(n <= budget for n in spent[1:])  # a stretch too long for what is left is cut
    # The daily re-fetch begun at 24:00 was finished by the runs after it, and counts as run then.
    assert plan.tier_runs["24h"] == int((bench.START + timedelta(hours=24)).timestamp() * 1000)
    assert most_in_a_minute(admitted) <= 20


class ScaledClock:
    """Real time, 30 times faster: threads each with their own loop can share it. The limiter
    logs a request when its answer arrives, so a loaded machine's latency cannot crowd the
    simulator's window however fast the clock runs."""

    SCALE = 30.0

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.origin) * self.SCALE

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.SCALE)


def test_collections_in_two_threads_share_one_budget(tmp_path: Path) -> None:
    """The daemon's job and a console's ``c`` run in threads of their own, each with an event
    loop; measured at the simulator, together they never exceed 20 requests a minute."""
    clock = ScaledClock()
    scenario = bench.scenario_for(12)
    settings = bench.settings_for(bench.TIERED, 3)
    errors: list[BaseException] = []
    with running_simulator(scenario, rate_limits=True, clock=clock) as url:
        # Each collection keeps to 15 a minute against the simulator's 20: two limiters (one a
        # thread) would send up to 30 and be refused, one shared limiter never is, even when a
        # loaded machine delays a request past the scaled in-flight margin.
        options = ClientOptions(
            base_url=url,
            admin_api_key="sim-key",
            admin_requests_per_minute=15,
            analytics_requests_per_minute=None,
        )

        # Migrated here: Alembic's migration context is one per process, not per thread.
        engines = {name: open_database(f"sqlite:///{tmp_path / name}.db") for name in ("job", "c")}

        async def collect_three_times(name: str) -> None:
            engine = engines[name]
            try:
                for hour in range(3):
                    at = bench.START + timedelta(hours=hour)
                    async with CursorClient(
                        options, limiter_clock=clock, limiter_sleep=clock.sleep
                    ) as client:
                        summary = await Collector(
                            engine, client, settings, clock=lambda at=at: at
                        ).run(bench.STREAMS)
                    assert summary.ok, summary.failure_message()
            finally:
                engine.dispose()

        def thread(name: str) -> None:
            try:
                asyncio.run(collect_three_times(name))
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=thread, args=(n,)) for n in engines]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        with urllib.request.urlopen(f"{url}/_simulator/stats") as answer:
            stats = json.loads(answer.read())
    assert not errors, errors
    assert stats["rate_limited"] == 0
    assert stats["requests"] > 15  # more than one minute's worth: the limit really bound
