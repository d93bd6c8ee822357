"""Dashboard benchmark: the overview page against the health check on a big team.

Stores 2,000 members x 90 days of usage events (bench/detect.py's team generator, as
bench/tui_start.py does) in a fresh SQLite file, serves the dashboard, and measures in one run:

* server time of ``GET /`` (the overview) and of ``GET /healthz`` (the daemon's health
  check) on the daemon's own app, best and median of several requests each, taking turns;
* in Debian's chromium, the overview's ``domContentLoaded`` and the bytes it transferred (the
  page and its stylesheet and script).

Targets: overview server time at most 5 x the health check; the page with its assets under
150 kB.

    python bench/dashboard.py [--members N] [--days D] [--rounds R] [--database PATH]

``--database`` keeps the generated team in PATH and reuses it on the next run (generating
it takes a couple of minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import aiohttp
from aiohttp import web
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from tests.dashboard.helpers import CHROMIUM, serving
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.daemon.app import make_app
from tracker_core.storage import open_database, rollups
from tracker_core.storage import tables as t

TARGET_RATIO = 5.0
TARGET_BYTES = 150_000


def _detect_bench() -> ModuleType:
    """The detection benchmark's team generator, so every benchmark stores the same team."""
    path = Path(__file__).with_name("detect.py")
    spec = importlib.util.spec_from_file_location("bench_detect", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def bench_app(url: str, now: datetime) -> web.Application:
    """The daemon as ``cursor-tracker daemon --no-schedule`` builds it (no password: loopback)."""
    settings = Settings(database=DatabaseSettings(url=url))
    return make_app(settings, clock=lambda: now, schedule=False)


async def time_requests(base: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"/": [], "/healthz": []}
    first: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        # The first overview after a change computes it (the page keeps it while the data
        # and the incidents stay as they are): timed apart, as "first".
        for path in times:
            started = time.perf_counter()
            async with session.get(base + path) as response:
                await response.read()
            first[path] = time.perf_counter() - started
        for _ in range(rounds):
            for path, spent in times.items():
                started = time.perf_counter()
                async with session.get(base + path) as response:
                    await response.read()
                    assert response.status == 200, (path, response.status)
                spent.append(time.perf_counter() - started)
    times["first /"] = [first["/"]]
    return times


def browser_figures(base: str) -> tuple[float, list[tuple[str, int]]]:
    """The overview's best domContentLoaded (ms) of three visits, and the bytes of the page
    and of each asset on a first visit (nothing cached), as the browser counted them."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + "/", wait_until="load")
        sizes: list[tuple[str, int]] = page.evaluate(
            """() => [performance.getEntriesByType('navigation')[0],
                      ...performance.getEntriesByType('resource')]
                     .map(entry => [new URL(entry.name).pathname, entry.encodedBodySize])"""
        )
        best = float("inf")
        for _ in range(3):
            page.goto(base + "/", wait_until="load")
            loaded = page.evaluate(
                "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
            )
            best = min(best, float(loaded))
        context.close()
        browser.close()
    return best, [(str(path), int(size)) for path, size in sizes]


def run(members: int, days: int, rounds: int, database: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{database}"
    fresh = not database.exists()
    engine = open_database(url)
    try:
        if fresh:
            print(f"storing {members:,} members x {days} days ...", file=sys.stderr)
            _detect_bench().populate(engine, members, days, 4, now)
            rollups.refresh(engine)
        with engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(t.usage_events)).scalar_one()
    finally:
        engine.dispose()
    with serving(bench_app(url, now)) as base:
        times = asyncio.run(time_requests(base, rounds))
        loaded, sizes = browser_figures(base)
    total = sum(size for _, size in sizes)
    overview, health = times["/"], times["/healthz"]
    ratio = statistics.median(overview) / statistics.median(health)
    print(f"usage events stored:    {events:,}")
    for name, spent in (("overview GET /", overview), ("health GET /healthz", health)):
        print(
            f"{name + ':':<23} best {min(spent) * 1000:.1f} ms, "
            f"median {statistics.median(spent) * 1000:.1f} ms ({len(spent)} requests)"
        )
    print(f"first overview:         {times['first /'][0] * 1000:.1f} ms (computes and keeps it)")
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio overview/health:  {ratio:.2f} (median; target <= {TARGET_RATIO}: {verdict})")
    print(f"domContentLoaded:       {loaded:.0f} ms (best of 3, assets cached after the first)")
    for path, size in sizes:
        print(f"  {path:<32} {size:>8,} bytes")
    verdict = "ok" if total < TARGET_BYTES else "MISSED"
    print(f"overview with assets:   {total:,} bytes (target < {TARGET_BYTES:,}: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", type=Path, help="SQLite file to keep the team in")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        database = args.database or Path(scratch) / "dashboard.db"
        run(args.members, args.days, args.rounds, database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
