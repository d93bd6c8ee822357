"""Daemon benchmark: the JSON API on a large team, with and without a collection running.

Stores a team of N members (default 2,000) with D days (default 90) of usage events in a fresh
SQLite file (the detection benchmark's generator, as the console benchmark uses), starts
``cursor-tracker daemon`` on it as a separate process, and drives it with one concurrent
aiohttp client:

* throughput of ``GET /api/stats`` and of ``GET /healthz`` on the same daemon, in the same run,
  with the same client and concurrency, taking turns (target: stats at least 0.5 of healthz);
* p50/p99 latency of ``GET /api/stats`` while a collection (``POST /api/cron``) runs against
  the simulator (an organisation of at most 200 members, so a job takes a minute, not ten);
* the daemon's resident memory over many requests (default 10,000) and scheduled-sized jobs:
  peak (VmHWM) and final (VmRSS), and the growth from the first to the last tenth.

    python bench/daemon.py [--members N] [--days D] [--requests R] [--jobs J]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp

from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.simulator_limits import MIN_DAYS
from tracker_core.storage import open_database, rollups

TARGET_RATIO = 0.5
CONCURRENCY = 16
SIMULATED_MEMBERS = 200
"""Members of the simulated organisation the jobs collect from (the stored team is larger)."""
CRON_SECRET = "bench-cron-secret"
SIM_KEY = "bench-key"


def _detect_bench() -> ModuleType:
    """The detection benchmark's team generator, so every benchmark stores the same team."""
    path = Path(__file__).with_name("detect.py")
    spec = importlib.util.spec_from_file_location("bench_detect", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def populate(url: str, members: int, days: int, now: datetime) -> int:
    engine = open_database(url)
    try:
        events: int = _detect_bench().populate(engine, members, days, 4, now)
        rollups.refresh(engine)  # as the collector leaves it after storing
    finally:
        engine.dispose()
    return events


def memory_kb(pid: int) -> tuple[int, int]:
    """(resident now, resident peak) of ``pid`` in kB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    peak = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return (int(rss.group(1)) if rss else 0, int(peak.group(1)) if peak else 0)


def start_daemon(workdir: Path, url: str, api_url: str) -> tuple[subprocess.Popen[str], str]:
    config = workdir / "config.toml"
    config.write_text(
        "[cursor]\n"
        f'api_url = "{api_url}"\n'
        "admin_requests_per_minute = 10000\n"
        "analytics_requests_per_minute = 10000\n"
        "[database]\n"
        f'url = "{url}"\n'
        "[collector]\n"
        "backfill_days = 30\n"
        "events_window_days = 30\n"
        "[daemon]\n"
        'schedule = ""\n'
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CURSOR_", "DATABASE_"))},
        "CURSOR_ADMIN_API_KEY": SIM_KEY,
        "CRON_SECRET": CRON_SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker_core", "daemon", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the daemon did not start: {line!r}")
    return process, line.removeprefix("listening on ")


async def hammer(
    session: aiohttp.ClientSession, url: str, count: int, latencies: list[float] | None = None
) -> tuple[float, int]:
    """``count`` GETs of ``url`` from :data:`CONCURRENCY` workers: (seconds, errors)."""
    remaining = count
    errors = 0

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            async with session.get(url) as answer:
                await answer.read()
                if answer.status != 200:
                    errors += 1
            if latencies is not None:
                latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, errors


async def measure(base: str, pid: int, requests: int, jobs: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm both routes (the first stats call computes what later ones reuse).
        await hammer(session, f"{base}/api/stats", CONCURRENCY)
        await hammer(session, f"{base}/healthz", CONCURRENCY)
        rounds = 3
        per_round = max(requests // (2 * rounds), CONCURRENCY)
        timings: dict[str, list[float]] = {"stats": [], "healthz": []}
        errors = 0
        for _ in range(rounds):
            for name, path in (("stats", "/api/stats"), ("healthz", "/healthz")):
                took, failed = await hammer(session, f"{base}{path}", per_round)
                timings[name].append(per_round / took)
                errors += failed
        result["stats_rps"] = statistics.median(timings["stats"])
        result["healthz_rps"] = statistics.median(timings["healthz"])
        result["throughput_errors"] = errors

        # Latency of /api/stats while a collection runs against the simulator.
        latencies: list[float] = []
        cron = asyncio.ensure_future(
            session.post(f"{base}/api/cron", headers={"x-cron-secret": CRON_SECRET})
        )
        during = 0
        while not cron.done():
            await hammer(session, f"{base}/api/stats", CONCURRENCY * 4, latencies)
            during += CONCURRENCY * 4
        answer = await cron
        result["cron_status"] = answer.status
        result["cron_seconds"] = (await answer.json()).get("collect", {}).get("duration_seconds")
        latencies.sort()
        result["during_requests"] = during
        result["p50_ms"] = latencies[len(latencies) // 2] * 1000
        result["p99_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000

        # Memory over many requests and several jobs.
        samples: list[int] = []
        mix = ("/api/stats", "/healthz", "/metrics", "/api/anomalies", "/api/settings")
        batch = max(requests // 10, len(mix))
        for tenth in range(10):
            path = mix[tenth % len(mix)]
            await hammer(session, f"{base}{path}?days={7 + tenth}", batch)
            samples.append(memory_kb(pid)[0])
        job_samples: list[int] = []
        for _ in range(jobs):
            await session.post(f"{base}/api/cron", headers={"x-cron-secret": CRON_SECRET})
            job_samples.append(memory_kb(pid)[0])
        final, peak = memory_kb(pid)
        # Resident memory after each fifth of the jobs: flat, or still climbing at the end.
        step = max(len(job_samples) // 5, 1)
        result["rss_jobs_mb"] = [sample / 1024 for sample in job_samples[step - 1 :: step]]
        result["rss_first_tenth_mb"] = samples[0] / 1024
        result["rss_last_tenth_mb"] = samples[-1] / 1024
        result["rss_final_mb"] = final / 1024
        result["rss_peak_mb"] = peak / 1024
    return result


def run(members: int, days: int, requests: int, jobs: int, workdir: Path) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{workdir / 'daemon.db'}"
    print(f"storing {members:,} members x {days} days ...", file=sys.stderr)
    events = populate(url, members, days, now)
    # The collection only has to be running while /api/stats is measured; a simulated
    # organisation of a few hundred keeps each job to a minute on a shared machine.
    scenario = generate_scenario(
        users=min(members, SIMULATED_MEMBERS), days=min(max(days, MIN_DAYS), 30), seed=11, now=now
    )
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=False) as api:
        process, base = start_daemon(workdir, url, api)
        try:
            result = asyncio.run(measure(base, process.pid, requests, jobs))
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
    return {"events": events, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        r = run(args.members, args.days, args.requests, args.jobs, Path(scratch))
    ratio = r["stats_rps"] / r["healthz_rps"]
    verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
    print(f"events stored:        {r['events']:,} ({args.members:,} members x {args.days} days)")
    print(f"GET /healthz:         {r['healthz_rps']:.0f} requests/s")
    print(f"GET /api/stats:       {r['stats_rps']:.0f} requests/s ({CONCURRENCY} concurrent)")
    print(f"ratio stats/healthz:  {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
    print(f"errors:               {r['throughput_errors']}")
    print(
        f"during a collection:  p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms over "
        f"{r['during_requests']} requests (cron answered {r['cron_status']}, "
        f"collection {r['cron_seconds']} s)"
    )
    print(
        f"memory (RSS):         {r['rss_first_tenth_mb']:.0f} MB after the first tenth, "
        f"{r['rss_last_tenth_mb']:.0f} MB after the last; peak {r['rss_peak_mb']:.0f} MB, "
        f"final {r['rss_final_mb']:.0f} MB after {args.jobs} more jobs"
    )
    if r["rss_jobs_mb"]:
        steps = ", ".join(f"{mb:.0f}" for mb in r["rss_jobs_mb"])
        print(f"RSS through the jobs: {steps} MB (after each fifth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
