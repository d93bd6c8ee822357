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

import pytest
from rich.console import Console
from sqlalchemy import Engine, event

from tests.benches import load_bench
from tracker_core.cli.render import print_summary
from tracker_core.collector import Collector
from tracker_core.config import CollectorSettings
from tracker_core.cursor_api import ClientOptions, CursorClient
from tracker_core.cursor_api.ratelimit import RateLimiter
from tracker_core.simulator.server import STATE_KEY, running_simulator
from tracker_core.storage import open_database, repo
from tracker_core.storage.request_ledger import RequestLedger

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
                before, asked = w.requests, len(w.queries)
                summary = await w.collect(
                    bench.START + timedelta(hours=hour), per_minute=20, limiter=(clock, clock.sleep)
                )
                assert summary.ok, summary.failure_message()
                spent.append(w.requests - before)
                deferred.append(summary.stream("usage_events").deferred)
                if hour > 0:
                    # New events first, from the previous run's mark minus 15 minutes: a
                    # stretch of the past finished after them never pulls the mark back.
                    mark = bench.START + timedelta(hours=hour - 1, minutes=-15)
                    assert w.queries[asked][0] == int(mark.timestamp() * 1000), hour
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


def test_two_processes_collecting_into_one_database_share_the_quota(tmp_path: Path) -> None:
    """The daemon's scheduled run and a console's ``c`` are two processes: each has its own
    limiter, and the collector lease runs them one after the other. Through the database's
    request ledger the second one waits for the first one's last minute of requests to pass,
    so at the simulator no minute sees more than 20 of them together."""
    clock = ScaledClock()
    settings = CollectorSettings.model_validate(
        {**bench.settings_for(bench.TIERED, 3).model_dump(), "lease_wait_seconds": 120.0}
    )
    url_of_db = f"sqlite:///{tmp_path / 'tracker.db'}"
    # Migrated here: Alembic's migration context is one per process, not per thread.
    engines = [open_database(url_of_db), open_database(url_of_db)]
    errors: list[BaseException] = []
    # Cursor's limit is off at the simulator: it counts what it is sent, refusing nothing.
    with running_simulator(bench.scenario_for(12), rate_limits=False, clock=clock) as url:
        # Small pages, so that one collection alone needs more than a minute of the quota.
        options = ClientOptions(
            base_url=url,
            admin_api_key="sim-key",
            admin_requests_per_minute=20,
            analytics_requests_per_minute=None,
            events_page_size=40,
        )

        async def collect(engine: Engine) -> None:
            # A limiter of its own, as in another process; the ledger is the database's. Both
            # date a request by its answer, so however slowly a loaded machine delivers it, the
            # default half-second margin is enough.
            limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
            async with CursorClient(
                options,
                admin_limiter=limiter,
                limiter_clock=clock,
                limiter_sleep=clock.sleep,
                ledger=RequestLedger(engine),
                ledger_clock=clock,
            ) as client:
                summary = await Collector(engine, client, settings, clock=lambda: bench.START).run(
                    bench.STREAMS
                )
            assert summary.ok, summary.failure_message()

        def process(engine: Engine) -> None:
            try:
                asyncio.run(collect(engine))
            except BaseException as exc:
                errors.append(exc)
            finally:
                engine.dispose()

        workers = [threading.Thread(target=process, args=(engine,)) for engine in engines]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        with urllib.request.urlopen(f"{url}/_simulator/stats") as answer:
            stats = json.loads(answer.read())
    assert not errors, errors
    assert stats["requests"] > 40  # both collected, each more than a minute's worth
    assert stats["busiest_minute"]["admin"] <= 20


def test_the_request_ledger_keeps_the_last_minutes_requests_on_both_dialects(
    db_engine: Engine,
) -> None:
    ledger, other_process = RequestLedger(db_engine), RequestLedger(db_engine)
    now = [1_000.0]

    def grant(which: RequestLedger, key: str = "team-key") -> float:
        return which.grant("Admin", key, 2, 60.5, lambda: now[0])

    assert grant(ledger) == 0.0
    now[0] += 10
    assert grant(other_process) == 0.0
    now[0] += 10
    assert grant(ledger) == pytest.approx(40.5)  # the first slot frees 60.5 s after its request
    assert grant(other_process, key="another-team") == 0.0  # a quota per team
    now[0] += 40.5
    assert grant(other_process) == 0.0
    assert grant(ledger) == pytest.approx(10.0)


def test_a_request_in_flight_holds_its_slot_until_its_answer_dates_it(db_engine: Engine) -> None:
    """Cursor counts a request when it arrives, which may be long after it left: a slot is
    held while its request is in flight and then dated by the answer, not by the departure."""
    ledger, other_process = RequestLedger(db_engine), RequestLedger(db_engine)
    now = [1_000.0]

    def clock() -> float:
        return now[0]

    wait, slot = ledger.take("Admin", "team-key", 1, 60.0, clock, in_flight_seconds=30.0)
    assert wait == 0.0 and slot is not None
    now[0] += 80  # a minute since it left, still no answer: the slot is still taken
    assert other_process.take("Admin", "team-key", 1, 60.0, clock)[0] == pytest.approx(10.0)
    ledger.settle(slot, 60.0, clock)  # answered now: it counts for a minute from now
    assert other_process.take("Admin", "team-key", 1, 60.0, clock)[0] == pytest.approx(60.0)
    now[0] += 60
    assert other_process.take("Admin", "team-key", 1, 60.0, clock)[0] == 0.0


def test_a_ledger_check_at_the_largest_quota_stays_small(db_engine: Engine) -> None:
    """At the highest quota a setting allows (10,000 a minute) every request still takes a
    slot with a few short statements: a check naming every slot once cost tens of
    milliseconds per request, most of the CPU of a collection with the limits lifted."""
    ledger = RequestLedger(db_engine)
    now = [1_000.0]
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            assert ledger.grant("Admin", "team-key", 10_000, 60.0, lambda: now[0]) == 0.0
            now[0] += 1
        # A ceiling lowered to two slots: the two taken in the last minute hold it.
        assert ledger.grant("Admin", "team-key", 2, 60.0, lambda: now[0]) == pytest.approx(57.0)
    finally:
        event.remove(db_engine, "before_cursor_execute", record)
    assert statements and max(len(statement) for statement in statements) < 1_000
