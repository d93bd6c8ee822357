"""A collection held by Cursor's rate limit says what it waits for, and stops at a safe point.

The simulator enforces Cursor's limits; the client's own ceiling is set to 3 requests a
minute so that the fourth request waits most of a minute, which is where these tests act.
Nothing here sleeps: the tests act as soon as the wait is announced.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tracker_core.cli.render import PlainProgress
from tracker_core.collector import LEASE_NAME, STOPPED, SilentProgress
from tracker_core.config import Settings
from tracker_core.cursor_api import ApiWait
from tracker_core.jobs.collect import collect_once, simulator_settings
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import lease, open_database, repo, tables

KEY = "stop-test-key"
CEILING = 3
"""Requests a minute the client allows itself: the fourth one waits about a minute."""


@pytest.fixture(scope="module")
def scenario() -> Any:
    return generate_scenario(users=10, days=10, seed=3, now=datetime.now(UTC))


def limited(url: str, db_url: str) -> Settings:
    settings = simulator_settings(url, KEY, db_url)
    cursor = settings.cursor.model_copy(update={"admin_requests_per_minute": CEILING})
    return settings.model_copy(update={"cursor": cursor})


class StopOnWait(PlainProgress):
    """Prints as the command line does, and cancels the collection when it starts waiting."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.task: asyncio.Task[Any] | None = None
        self.waits: list[ApiWait] = []
        self.stopped_at: float | None = None

    def waiting(self, wait: ApiWait) -> None:
        super().waiting(wait)
        self.waits.append(wait)
        if self.task is not None and self.stopped_at is None:
            self.stopped_at = time.monotonic()
            self.task.cancel()


async def collect_until_the_first_wait(settings: Settings, progress: StopOnWait) -> None:
    task = asyncio.ensure_future(collect_once(settings, progress))
    progress.task = task
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_rate_limit_wait_is_printed_and_a_stop_resumes(scenario: Any, db_url: str) -> None:
    progress = StopOnWait()
    with running_simulator(scenario, api_key=KEY, rate_limits=True) as url:
        asyncio.run(collect_until_the_first_wait(limited(url, db_url), progress))
        stopped_in = time.monotonic() - (progress.stopped_at or 0)

        # The command line said what it waited for, and for how long, as the wait began.
        wait = progress.waits[0]
        assert wait.status is None and 50 < wait.seconds <= 61
        printed = progress.out.getvalue()  # type: ignore[attr-defined]
        said = re.search(r"waiting (\d+) s for Cursor's rate limit \(3 requests/minute\)", printed)
        assert said is not None, printed
        assert int(said.group(1)) == math.ceil(wait.seconds)
        # Stopped at once, with what came before the wait stored, the run closed as partial
        # and the lease free: the next collection neither waits for it nor refetches it all.
        assert stopped_in < 2
        engine = open_database(db_url)
        try:
            with engine.connect() as conn:
                runs = conn.execute(select(tables.collection_runs)).all()
                assert [(run.status, STOPPED in (run.error or "")) for run in runs] == [
                    ("partial", True)
                ]
                assert repo.table_counts(conn)["members"] >= 10
            assert lease.current_holder(engine, LEASE_NAME) is None
        finally:
            engine.dispose()

        started = time.monotonic()
        summary = asyncio.run(collect_once(simulator_settings(url, KEY, db_url), SilentProgress()))
        assert summary.ok, summary.failed
        assert time.monotonic() - started < 10
        assert summary.stream("usage_events").new > 0


def test_plain_progress_says_why_a_retry_waits() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.waiting(ApiWait("Admin", 0.2, 20))  # a blink between requests: not worth a line
    progress.waiting(ApiWait("Admin", 11.3, 20, status=429, problem="HTTP 429"))
    progress.waiting(ApiWait("Analytics", 4.0, 100))
    assert out.getvalue().splitlines() == [
        "  waiting 12 s because Cursor answered 429 (too many requests); then retrying",
        "  waiting 4 s for Cursor's Analytics rate limit (100 requests/minute)",
    ]
