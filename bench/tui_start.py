"""Console start-up benchmark: time to the first fully painted overview.

Stores a team of N members (default 2,000) with D days (default 90) of usage events in a fresh
SQLite file, then measures, in the same run and taking turns:

* the tracker's console, from creating the app to the overview screen holding its data and
  having painted it (headless, 120x40), and
* a minimal Textual app (a header, one line of text, a footer) to its first paint, the floor
  any Textual program pays.

The console is timed twice. "Ready" is the usual start: the job that stored the events
(``collect``, ``cron``, ``detect``) computed the overview and the view cache holds it, so the
start reads a few thousand remembered rows. "Cold" empties the view cache first (a new day,
or events stored by something that left the overview alone), so the start sums the window
from the usage rollups the collector keeps. Its badges and its forecast are not remembered
either: the badges are summed with the figures, the forecast (every member's learning weeks)
is drawn after them.
Every time is measured as the minimal app's, to the process going idle (``pause()``), so a
cold start counts its badges and forecast too; the moment its figures were drawn is reported
beside it, for information.

Target: the ready and the cold console each at most twice the minimal app. Best of several
rounds each. Beside the times, the CPU each start used (every thread) and the cold start's
own work timed alone: with as many cores as the machine has, a start cannot take less than
its CPU shared among them, so they say what any amount of overlap could still win.

    python bench/tui_start.py [--members N] [--days D] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer, Header, Static

from tracker_core.config import DatabaseSettings, Settings
from tracker_core.service import open_tracker
from tracker_core.storage import cache, open_database, rollups
from tracker_core.views.overview import Overview
from tracker_tui.app import TrackerApp

R = TypeVar("R")
TARGET_RATIO = 2.0
SIZE = (120, 40)


def _detect_bench() -> ModuleType:
    """The detection benchmark's team generator, so both benchmarks store the same team."""
    path = Path(__file__).with_name("detect.py")
    spec = importlib.util.spec_from_file_location("bench_detect", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class MinimalApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()


async def painted(pilot: Pilot[None]) -> None:
    """Return once every message the app was given has been handled and what it changed is
    drawn: ``pause(0)`` handles what is pending, then lays out and paints; the second one
    paints what the first one's layout asked for (a table's new size)."""
    await pilot.pause(0)
    await pilot.pause(0)


async def time_minimal() -> float:
    started = time.perf_counter()
    app = MinimalApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        return time.perf_counter() - started


def forget_overview(url: str) -> None:
    engine = open_database(url)
    try:
        cache.forget_all(engine)
    finally:
        engine.dispose()


def _overview(app: TrackerApp) -> Overview | None:
    data = getattr(app.screen, "data", None)
    return data if isinstance(data, Overview) else None


async def time_console(settings: Settings, now: datetime) -> tuple[float, float]:
    """Seconds to the overview's figures drawn (``painted``), and to the console settled as
    the minimal app is timed (``pause()``: the process idle), badges and forecast shown."""
    started = time.perf_counter()
    app = TrackerApp(settings, clock=lambda: now, refresh_seconds=3600, collect=False)
    async with app.run_test(size=SIZE) as pilot:
        while _overview(app) is None:
            await pilot.pause(0.005)
        await painted(pilot)
        figures = time.perf_counter() - started
        while (data := _overview(app)) is not None and data.pending:
            await pilot.pause(0.005)
        await pilot.pause()
        return figures, time.perf_counter() - started


def _fresh_start(start: Coroutine[Any, Any, R]) -> tuple[R, float]:
    """Run one timed start on a clean, frozen heap, as in a fresh process.

    Returns the start's result and the CPU seconds the whole process spent on it (every
    thread: the console's early load too).

    Without the collection, an app would pay for the garbage the previous one left behind;
    without the freeze, the garbage collector's full passes during a start would walk this
    process's own heap (the team generator, every module it imported), which no app start
    has to walk: ``cursor-tracker tui`` freezes the heap its imports built before it starts
    (``tracker_tui.app.run_tui``). Both apps are timed alike.
    """
    gc.collect()
    gc.freeze()
    try:
        used = time.process_time()
        result = asyncio.run(start)
        return result, time.process_time() - used
    finally:
        gc.unfreeze()


def cold_compute(settings: Settings, url: str, now: datetime) -> float:
    """Seconds the cold start's own work takes outside any app, on a quiet interpreter: the
    overview's figures and badges summed, then its forecast (what the view cache would have
    held)."""
    forget_overview(url)
    tracker = open_tracker(settings, clock=lambda: now)
    gc.collect()
    gc.freeze()  # as for the apps (_fresh_start)
    try:
        started = time.perf_counter()
        tracker.complete_overview(tracker.overview(hurried=True))
        return time.perf_counter() - started
    finally:
        gc.unfreeze()
        tracker.close()


def run(members: int, days: int, rounds: int, workdir: Path) -> dict[str, float]:
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{workdir / 'tui.db'}"
    engine = open_database(url)
    try:
        print(f"storing {members:,} members x {days} days ...", file=sys.stderr)
        events = _detect_bench().populate(engine, members, days, 4, now)
        rollups.refresh(engine)  # as the collector leaves it after storing
    finally:
        engine.dispose()
    settings = Settings(database=DatabaseSettings(url=url))
    minimal: list[float] = []
    ready: list[float] = []
    cold: list[float] = []
    figures: list[float] = []
    cpu: dict[str, list[float]] = {"minimal": [], "ready": [], "cold": []}
    alone: list[float] = []
    for _ in range(rounds):
        seconds, used = _fresh_start(time_minimal())
        minimal.append(seconds)
        cpu["minimal"].append(used)
        forget_overview(url)
        (drawn, settled), used = _fresh_start(time_console(settings, now))
        figures.append(drawn)
        cold.append(settled)
        cpu["cold"].append(used)
        # The cold start remembered the overview, as the hourly job would have.
        (_, settled), used = _fresh_start(time_console(settings, now))
        ready.append(settled)
        cpu["ready"].append(used)
        alone.append(cold_compute(settings, url, now))
    return {
        "events": events,
        "minimal": min(minimal),
        "ready": min(ready),
        "cold": min(cold),
        "cold_figures": min(figures),
        "spread": max(minimal) / min(minimal),
        "ready_spread": max(ready) / min(ready),
        "cold_spread": max(cold) / min(cold),
        "cold_median": sorted(cold)[len(cold) // 2],
        "cpu_minimal": min(cpu["minimal"]),
        "cpu_ready": min(cpu["ready"]),
        "cpu_cold": min(cpu["cold"]),
        "cold_alone": min(alone),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        result = run(args.members, args.days, args.rounds, Path(scratch))
    ratio = result["ready"] / result["minimal"]
    cold_ratio = result["cold"] / result["minimal"]
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    team = f"{args.members:,} members x {args.days} days"
    print(f"events stored:           {result['events']:,.0f} ({team})")
    print(f"minimal Textual app:     {result['minimal']:.3f} s to first paint")
    print(f"tracker overview, ready: {result['ready']:.3f} s to first full paint")
    print(f"tracker overview, cold:  {result['cold']:.3f} s (view cache emptied first)")
    print(f"  ... figures drawn:     {result['cold_figures']:.3f} s (the forecast after them)")
    print(f"  ... median of rounds:  {result['cold_median']:.3f} s")
    print(
        f"spread (slowest/fastest): minimal {result['spread']:.2f}, "
        f"ready {result['ready_spread']:.2f}, cold {result['cold_spread']:.2f}"
    )
    print(f"ratio ready/minimal:     {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    cold_verdict = "ok" if cold_ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio cold/minimal:      {cold_ratio:.2f} (target <= {TARGET_RATIO}: {cold_verdict})")
    # What bounds the cold start: the CPU it needs, spread over every core at best, and the
    # work the view cache would have saved, timed alone.
    cores = os.cpu_count() or 1
    floor = result["cpu_cold"] / cores / result["minimal"]
    print(
        f"CPU seconds (all threads): minimal {result['cpu_minimal']:.3f}, "
        f"ready {result['cpu_ready']:.3f}, cold {result['cpu_cold']:.3f}"
    )
    print(f"  ... cold on {cores} cores, perfectly parallel, could not beat {floor:.2f} x minimal")
    print(f"cold work alone:         {result['cold_alone']:.3f} s (figures, badges, forecast)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
