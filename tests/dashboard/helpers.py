"""The dashboard under test: a small collected organisation and the pages served from a thread.

The browser tests drive Playwright's synchronous API, which cannot run inside an event loop,
so the aiohttp app runs on a loop of its own in a background thread, on a free loopback port.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from tests.collecting import collect_at
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.daemon.pages import add_pages
from tracker_core.jobs.collect import simulator_settings
from tracker_core.jobs.detect import run_detection
from tracker_core.service import Tracker, open_tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import open_database

FIXED_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
COLLECTED_AT = FIXED_NOW - timedelta(minutes=12)
SIM_KEY = "dashboard-test-key"
CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium: Playwright cannot download a browser of its own here."""
XSS_NAME = "<img src=x onerror=alert(1)>"
"""A member's name as an attacker controlling the Cursor directory would set it."""

TRACKER = web.AppKey("tracker", Tracker)


def build_organisation(database_url: str, *, users: int = 16, days: int = 35) -> str:
    """Collect a seeded organisation (one member named like an attack) into the database at
    ``database_url`` and run detection, so the incident queue has incidents."""
    scenario = generate_scenario(users=users, days=days, seed=5, now=FIXED_NOW)
    scenario.members[1]["name"] = XSS_NAME
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=False) as url:
        settings = simulator_settings(url, SIM_KEY, database_url, backfill_days=days + 5)
        asyncio.run(collect_at(settings, COLLECTED_AT))
    engine = open_database(settings.database_url)
    try:
        run_detection(engine, settings, clock=lambda: FIXED_NOW)
    finally:
        engine.dispose()
    return database_url


def copy_database(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def settings_for(database_url: str) -> Settings:
    return Settings(database=DatabaseSettings(url=database_url))


def pages_app(
    settings: Settings, clock: Callable[[], datetime] = lambda: FIXED_NOW
) -> web.Application:
    """The pages on an app of their own, the tracker opened and closed by a cleanup context
    (as the daemon's factory does)."""
    app = web.Application()

    async def tracker_context(app: web.Application) -> AsyncIterator[None]:
        tracker = open_tracker(settings, clock=clock)
        app[TRACKER] = tracker
        yield
        tracker.close()

    app.cleanup_ctx.append(tracker_context)
    add_pages(app, TRACKER)
    return app


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on a free loopback port from a thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(runner.addresses[0][1])

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30), "the dashboard did not start"
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
