"""A day of hourly collections against a simulator that delivers events late, on a scaled clock.

For each team size, the same organisation is replayed twice, in one process: with the default
collector settings (the tiered re-fetch plan ``[collector] refetch_tiers``, whole-read streams
every ``snapshot_every_hours`` / ``spend_every_hours``) and as the collector was before them
(a fixed 48-hour overlap, ``refetch_tiers = []``, and every stream read on every run). The
simulator's present and the collector's clock are the same hand-moved instant, so 25 runs (a
backfill at the start, then one an hour for a day) take seconds of real time, not a day.

Printed per plan: requests in the day's 24 hourly runs (and how they split between the
streams), the longest run's requests and its minutes at
Cursor's 20 requests a minute (the client's limiter runs on a clock moved by its own waits, so
the run budget ``max_run_minutes`` applies), and the events missed at the end: delivered by the
last run (a full one: every tier is due) but not stored once that run's work is done (a run
over its budget leaves part of its re-fetch to the next runs: they are run, hourly, until it
is done, and counted as catch-up runs; the longest run includes them).

    python bench/collect_scale.py [--users 500 2000] [--backfill-days 3] [--plans tiered fixed]
        [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from tracker_core.collector import CollectionSummary, Collector
from tracker_core.config import CollectorSettings
from tracker_core.cursor_api import ClientOptions, CursorClient
from tracker_core.cursor_api.client import RequestHook
from tracker_core.cursor_api.ratelimit import Clock, Sleep
from tracker_core.simulator import Scenario, generate_scenario, make_simulator_app
from tracker_core.simulator.delivery import LateDelivery
from tracker_core.simulator.server import STATE_KEY
from tracker_core.storage import open_database
from tracker_core.storage import tables as t

START = datetime(2025, 3, 10, tzinfo=UTC)
"""The first run (the backfill); the 24 hourly runs follow it."""
ADMIN_PER_MINUTE = 20
FIXED = "fixed 48 h overlap"
TIERED = "tiered plan"
STREAMS = ("members", "spend", "groups", "daily_usage", "usage_events")
STREAM_PATHS = {
    "/teams/members": "members",
    "/teams/spend": "spend",
    "/teams/groups": "groups",
    "/teams/daily-usage-data": "daily_usage",
    "/teams/filtered-usage-events": "usage_events",
}
"""Which stream each Admin endpoint the collector calls belongs to."""


class Present:
    """The one instant the simulator answers as of and the collector believes it is."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def ms(self) -> int:
        return int(self.moment.timestamp() * 1000)

    def now(self) -> datetime:
        return self.moment


class FakeLimitClock:
    """The client's rate-limit clock, moved only by its waits: the limit (and so each run's
    budget of ``max_run_minutes``) applies, and waiting costs no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Outcome:
    plan: str
    users: int
    requests_per_day: int
    longest_run_requests: int
    missed: int
    late_found: int
    event_requests: int
    """Of ``requests_per_day``, those for usage events."""
    by_stream: dict[str, int]
    """``requests_per_day`` per stream, to see where the requests go."""
    catch_up_runs: int = 0
    """Hourly runs after the day that the deferred part of its re-fetch took."""

    @property
    def longest_run_minutes(self) -> float:
        return self.longest_run_requests / ADMIN_PER_MINUTE


def scenario_for(users: int, seed: int = 5) -> Scenario:
    """An organisation whose events run up to the end of the replayed day."""
    return generate_scenario(users=users, days=9, seed=seed, now=START + timedelta(days=1))


class Replay:
    """The simulator (late delivery on) and a database, collected into at chosen instants."""

    def __init__(
        self,
        scenario: Scenario,
        db_url: str,
        settings: CollectorSettings,
        late: LateDelivery | None = None,
        *,
        rate_clock: Clock | None = None,
    ) -> None:
        self.scenario = scenario
        self.db_url = db_url
        self.settings = settings
        self.late = late or LateDelivery()
        self.present = Present(START)
        self.app = make_simulator_app(
            scenario,
            rate_limits=rate_clock is not None,
            clock=rate_clock or time.monotonic,
            late=self.late,
            present=self.present.ms,
        )
        self.runner = web.AppRunner(self.app, access_log=None)
        self.engine = open_database(db_url)
        self.url = ""

    async def __aenter__(self) -> Replay:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{int(self.runner.addresses[0][1])}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.engine.dispose()
        await self.runner.cleanup()

    @property
    def queries(self) -> list[tuple[int, int, int]]:
        """``(startDate, endDate, page)`` of every usage-events request, in order."""
        return self.app[STATE_KEY].event_queries

    @property
    def requests(self) -> int:
        return self.app[STATE_KEY].requests

    def by_stream(self) -> Counter[str]:
        """Requests so far per stream (by the endpoint asked)."""
        paths = self.app[STATE_KEY].by_path
        return Counter({STREAM_PATHS.get(path, path): n for path, n in paths.items()})

    async def collect(
        self,
        at: datetime,
        on_request: RequestHook | None = None,
        *,
        per_minute: int | None = None,
        limiter: tuple[Clock, Sleep] | None = None,
    ) -> CollectionSummary:
        """One collection as of ``at`` (the simulator's present moves there too).

        ``per_minute`` sets the client's Admin ceiling (none by default), timed by the
        ``limiter`` clock and sleep when given (a scaled clock), else by real time.
        """
        self.present.moment = at
        options = ClientOptions(
            base_url=self.url,
            admin_api_key="sim-key",
            admin_requests_per_minute=per_minute,
            analytics_requests_per_minute=None,
        )
        clock, sleep = limiter or (time.monotonic, asyncio.sleep)
        client = CursorClient(
            options, on_request=on_request, limiter_clock=clock, limiter_sleep=sleep
        )
        async with client:
            collector = Collector(self.engine, client, self.settings, clock=self.present.now)
            return await collector.run(STREAMS)

    def stored(self) -> Counter[int]:
        with self.engine.connect() as conn:
            return Counter(int(ms) for ms in conn.scalars(select(t.usage_events.c.timestamp_ms)))

    def missed(self, delivered_by: datetime | None = None) -> int:
        """Events delivered by then (the present by default), from the backfill's start on,
        that are not stored."""
        view = self.scenario.delivery(self.late)
        first = int((START - timedelta(days=self.settings.backfill_days)).timestamp() * 1000)
        end = int((delivered_by or self.present.moment).timestamp() * 1000)
        stamps = self.scenario.events.timestamps
        delivered = Counter(
            stamps[row]
            for row in range(len(stamps))
            if stamps[row] >= first and view.visible_at[row] <= end
        )
        stored = self.stored()
        return sum(max(0, count - stored[stamp]) for stamp, count in delivered.items())


async def replay(
    scenario: Scenario,
    db_url: str,
    settings: CollectorSettings,
    *,
    plan: str,
    hours: int = 24,
    late: LateDelivery | None = None,
) -> Outcome:
    """A backfill at :data:`START`, then one collection an hour for ``hours`` hours."""
    per_run: list[int] = []
    late_found = 0
    events_before = 0
    limit = FakeLimitClock()
    streams_before: Counter[str] = Counter()
    async with Replay(scenario, db_url, settings, late) as world:
        for hour in range(hours + 1):
            if hour == 1:
                events_before = len(world.queries)
                streams_before = world.by_stream()
            before = world.requests
            summary = await world.collect(
                START + timedelta(hours=hour),
                per_minute=ADMIN_PER_MINUTE,
                limiter=(limit, limit.sleep),
            )
            if not summary.ok:
                raise RuntimeError(f"run {hour}: {summary.failure_message()}")
            late_found += summary.stream("usage_events").late
            if hour > 0:
                per_run.append(world.requests - before)
        event_requests = len(world.queries) - events_before
        by_stream = dict(world.by_stream() - streams_before)
        end_of_day = world.present.moment
        # A run over its budget left part of its re-fetch to the next: let the next hourly
        # runs finish it (a day of them at most), then count what was delivered by the end
        # of the day. Those runs are held to the same budget, so they count for the longest.
        catch_up = 0
        while summary.stream("usage_events").deferred is not None and catch_up < hours:
            catch_up += 1
            before = world.requests
            summary = await world.collect(
                end_of_day + timedelta(hours=catch_up),
                per_minute=ADMIN_PER_MINUTE,
                limiter=(limit, limit.sleep),
            )
            per_run.append(world.requests - before)
        missed = world.missed(delivered_by=end_of_day)
    return Outcome(
        plan,
        len(scenario.members),
        sum(per_run[:hours]),
        max(per_run),
        missed,
        late_found,
        event_requests,
        {name: by_stream.get(name, 0) for name in STREAMS},
        catch_up,
    )


def settings_for(plan: str, backfill_days: int) -> CollectorSettings:
    """The defaults for the tiered plan; the collector as it was before the plan for the fixed
    one: 48 hours re-read and every stream read whole on every run."""
    if plan != FIXED:
        return CollectorSettings(backfill_days=backfill_days, analytics=False)
    return CollectorSettings(
        backfill_days=backfill_days,
        overlap_hours=48.0,
        refetch_tiers=[],
        snapshot_every_hours=0.0,
        spend_every_hours=0.0,
        analytics=False,
    )


async def compare(
    users: int, backfill_days: int, workdir: Path, plans: Sequence[str] = (TIERED, FIXED)
) -> list[Outcome]:
    scenario = scenario_for(users)
    outcomes = []
    for plan in plans:
        db = workdir / f"{users}-{plan.split()[0]}.db"
        outcomes.append(
            await replay(scenario, f"sqlite:///{db}", settings_for(plan, backfill_days), plan=plan)
        )
    return outcomes


def report(outcomes: Sequence[Outcome]) -> str:
    lines = [
        f"{'members':>8} {'plan':<20} {'requests/day':>12} {'longest run':>12} "
        f"{'minutes':>8} {'missed':>7} {'late found':>10} {'catch-up':>8}  "
        "requests/day per stream"
    ]
    for o in outcomes:
        lines.append(
            f"{o.users:>8} {o.plan:<20} {o.requests_per_day:>12} {o.longest_run_requests:>12} "
            f"{math.ceil(o.longest_run_minutes * 10) / 10:>8} {o.missed:>7} {o.late_found:>10} "
            f"{o.catch_up_runs:>8} "
            f" {'  '.join(f'{name} {n}' for name, n in o.by_stream.items())}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--backfill-days", type=int, default=3)
    parser.add_argument(
        "--plans",
        nargs="+",
        choices=("tiered", "fixed"),
        default=["tiered", "fixed"],
        help="the fixed overlap cannot keep up with 10,000 members: --plans tiered there",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the databases go (e.g. /dev/shm)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    plans = [TIERED if name == "tiered" else FIXED for name in args.plans]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        for users in args.users:
            outcomes += asyncio.run(compare(users, args.backfill_days, Path(workdir), plans))
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes]))
    else:
        print(report(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
