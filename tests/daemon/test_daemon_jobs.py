"""The job: on a schedule (driven on a frozen clock), and through POST /api/cron, never two at
once in one daemon or across daemons sharing a database, and no alert sent twice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.alerting.servers import SLACK_TOKEN, FakeSlack, serve_slack
from tests.daemon.conftest import CRON, KEY, daemon_settings, running_daemon
from tracker_core.daemon.jobs import JOB_LEASE
from tracker_core.daemon.scheduler import Scheduler, jittered, next_tick, ticks_between
from tracker_core.redact import basic_auth_forms
from tracker_core.simulator import running_simulator
from tracker_core.simulator.scenario import Scenario
from tracker_core.storage import lease, open_database

T0 = datetime(2026, 11, 20, 10, 2, 30, tzinfo=UTC)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=UTC)


class FrozenClock:
    """Time stands still until a sleep moves it; after ``sleeps`` sleeps it stops for good."""

    def __init__(self, now: datetime, sleeps: int = 1_000) -> None:
        self.now = now
        self.slept: list[float] = []
        self._sleeps = sleeps

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if len(self.slept) >= self._sleeps:
            await asyncio.Event().wait()
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


# --- the arithmetic -----------------------------------------------------------------------


def test_next_tick_is_the_next_cron_time_in_utc() -> None:
    assert next_tick("*/5 * * * *", T0) == at(10, 5)
    assert next_tick("*/5 * * * *", at(10, 5)) == at(10, 10)  # strictly after
    assert next_tick("0 * * * *", T0) == at(11, 0)
    assert next_tick("@hourly", T0) == at(11, 0)
    assert next_tick("30 9 * * mon-fri", at(10, 0)) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    # A moment given in another zone is the same instant.
    plus_two = T0.astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    assert next_tick("0 * * * *", plus_two) == at(11, 0)
    assert next_tick("", T0) is None
    assert next_tick("  ", T0) is None


def test_ticks_between_and_jitter() -> None:
    assert ticks_between("*/5 * * * *", at(10, 5), at(10, 17)) == 2
    assert ticks_between("*/5 * * * *", at(10, 5), at(10, 9)) == 0
    assert ticks_between("*/5 * * * *", at(10, 5), at(10, 10)) == 1
    assert ticks_between("", at(10, 5), at(12, 0)) == 0
    assert jittered(at(10, 5), 60, 0.5) == at(10, 5, 30)
    assert jittered(at(10, 5), 60, 2.0) == at(10, 6)  # never beyond the configured jitter
    assert jittered(at(10, 5), 0, 0.9) == at(10, 5)


# --- the loop on a frozen clock -----------------------------------------------------------


async def run_scheduler(
    scheduler: Scheduler, runs: list[datetime], count: int, timeout: float = 5
) -> None:
    task = asyncio.create_task(scheduler.run())
    try:
        async with asyncio.timeout(timeout):
            while len(runs) < count:
                await asyncio.sleep(0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_scheduler_fires_on_each_tick() -> None:
    clock = FrozenClock(T0)
    runs: list[datetime] = []

    async def job() -> bool:
        runs.append(clock())
        return True

    scheduler = Scheduler("*/5 * * * *", job, clock=clock, sleep=clock.sleep)
    await run_scheduler(scheduler, runs, 3)
    assert runs[:3] == [at(10, 5), at(10, 10), at(10, 15)]
    assert scheduler.state.missed == 0
    assert scheduler.state.next_run is not None and scheduler.state.next_run >= at(10, 15)


async def test_a_long_job_misses_ticks_instead_of_piling_them_up() -> None:
    clock = FrozenClock(T0)
    runs: list[datetime] = []
    missed: list[int] = []

    async def job() -> bool:
        runs.append(clock())
        if len(runs) == 1:
            clock.now += timedelta(minutes=12)  # runs until 10:17
        return True

    scheduler = Scheduler(
        "*/5 * * * *", job, clock=clock, sleep=clock.sleep, on_missed=missed.append
    )
    await run_scheduler(scheduler, runs, 2)
    # 10:10 and 10:15 passed while the first job ran: reported, not run late.
    assert runs[:2] == [at(10, 5), at(10, 20)]
    assert missed == [2] and scheduler.state.missed == 2


async def test_a_busy_job_and_a_late_wake_are_reported_as_missed() -> None:
    clock = FrozenClock(T0)
    runs: list[datetime] = []
    missed: list[int] = []

    async def job() -> bool:
        runs.append(clock())
        return len(runs) != 1  # the first tick finds the job held elsewhere

    async def oversleep(seconds: float) -> None:
        # The machine was suspended: the first sleep ends 11 minutes past its tick.
        await clock.sleep(seconds + (660 if not clock.slept else 0))

    scheduler = Scheduler("*/5 * * * *", job, clock=clock, sleep=oversleep, on_missed=missed.append)
    await run_scheduler(scheduler, runs, 2)
    # Woken at 10:16: 10:10 and 10:15 were missed, the job ran once (found busy: missed too).
    assert runs[0] == at(10, 16)
    assert missed[:2] == [2, 1]
    assert runs[1] == at(10, 20)


async def test_jitter_delays_each_run_within_its_bound() -> None:
    clock = FrozenClock(T0)
    runs: list[datetime] = []

    async def job() -> bool:
        runs.append(clock())
        return True

    scheduler = Scheduler(
        "*/5 * * * *",
        job,
        clock=clock,
        sleep=clock.sleep,
        jitter_seconds=120,
        random=lambda: 0.25,
    )
    await run_scheduler(scheduler, runs, 2)
    assert runs[:2] == [at(10, 5, 30), at(10, 10, 30)]


# --- the daemon's schedule and POST /api/cron ---------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server


@pytest.fixture
def slow_simulator(scenario: Scenario) -> Iterator[str]:
    """The simulator answering each request after 50 ms: a job lasts long enough to overlap."""
    with running_simulator(scenario, api_key=KEY, rate_limits=False, latency=0.05) as url:
        yield url


def incidents_per_post(slack: FakeSlack) -> list[list[str]]:
    """The incidents each accepted alert announces, from the metadata every alert carries
    (the billing cycle's messages, which the job may send too, carry their own)."""
    return [
        post["metadata"]["event_payload"]["incidents"].split()
        for post in slack.posts()
        if post["metadata"]["event_type"] == "cursor_tracker_alert"
    ]


async def test_the_daemon_runs_the_job_on_its_schedule(sqlite_url: str, simulator: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FrozenClock(now, sleeps=1)
    settings = daemon_settings(sqlite_url, api_url=simulator, schedule="0 * * * *")
    async with running_daemon(settings, schedule=True, clock=clock, sleep=clock.sleep) as client:
        async with asyncio.timeout(60):
            while True:
                health = await (await client.get("/healthz")).json()
                if health["last_job"] is not None:
                    break
                await asyncio.sleep(0.05)
        text = await (await client.get("/metrics")).text()
    first_tick = next_tick("0 * * * *", now)
    assert first_tick is not None
    assert clock.slept == [(first_tick - now).total_seconds()]
    assert health["last_job"]["trigger"] == "schedule"
    assert health["last_job"]["status"] == "ok"
    assert health["last_collection"] is not None
    assert health["next_run"] == (first_tick + timedelta(hours=1)).isoformat()
    jobs = {
        sample.labels.get("status"): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "cursor_tracker_job_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    }
    assert jobs == {"ok": 1}
    gauges = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert gauges["cursor_tracker_last_job_ok"] == 1
    assert gauges["cursor_tracker_next_run_timestamp_seconds"] == (
        (first_tick + timedelta(hours=1)).timestamp()
    )


async def test_two_cron_calls_at_once_run_one_job_and_alert_once(
    db_url: str, slow_simulator: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = daemon_settings(db_url, api_url=slow_simulator, cron=CRON, slack=slack)
    headers = {"x-cron-secret": CRON}
    async with running_daemon(settings) as client:
        answers = await asyncio.gather(
            client.post("/api/cron", headers=headers), client.post("/api/cron", headers=headers)
        )
        statuses = sorted(answer.status for answer in answers)
        bodies = [await answer.json() for answer in answers]
        assert statuses == [200, 409], bodies
        refused = next(b for b, a in zip(bodies, answers, strict=True) if a.status == 409)
        assert "already running" in refused["error"] and "holder" in refused["error"]
        ran = next(b for b, a in zip(bodies, answers, strict=True) if a.status == 200)
        assert ran["detect"]["new"] > 0 and ran["detect"]["alerts"]["slack"] > 0
        # Once the first job is over, another may run: it finds nothing new to announce.
        again = await client.post("/api/cron", headers=headers)
        assert again.status == 200
        assert (await again.json())["detect"]["alerts"]["slack"] == 0
    announced = Counter(i for post in incidents_per_post(slack) for i in post)
    assert announced and set(announced.values()) == {1}, announced
    # Everything logged meanwhile (the daemon, the collector, the HTTP clients at DEBUG)
    # holds none of the secrets, in clear or in their Basic-auth form.
    for secret in (CRON, KEY, SLACK_TOKEN, *basic_auth_forms(KEY)):
        assert secret not in caplog.text


async def test_a_job_running_on_another_daemon_is_a_409_naming_it(
    db_url: str, slow_simulator: str
) -> None:
    settings = daemon_settings(db_url, api_url=slow_simulator, cron=CRON)
    headers = {"x-cron-secret": CRON}
    async with running_daemon(settings) as first, running_daemon(settings) as second:
        running = asyncio.ensure_future(first.post("/api/cron", headers=headers))
        engine = open_database(db_url)
        try:
            async with asyncio.timeout(30):
                while await asyncio.to_thread(lease.current_holder, engine, JOB_LEASE) is None:
                    await asyncio.sleep(0.02)
        finally:
            engine.dispose()
        answer = await second.post("/api/cron", headers=headers)
        assert answer.status == 409
        error: dict[str, Any] = await answer.json()
        assert "another instance" in error["error"] and "pid" in error["error"]
        assert (await running).status == 200
        # The lease went with the job: the second daemon may run it now.
        assert (await second.post("/api/cron", headers=headers)).status == 200
