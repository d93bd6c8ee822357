"""Backfill throughput and memory of a real collection over HTTP.

Starts ``cursor-tracker simulator`` (rate limits off) in its own process, then runs
``cursor-tracker collect`` into a fresh SQLite file, in a process of its own so its peak
resident memory is its own. It does this for a small team and for the full one: events per
second say how fast a backfill is, and the ratio of the two peaks shows whether memory stays
flat as the team grows (pages stream into the database instead of piling up).

    python bench/collect.py [--users 500] [--days 30] [--small-users 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHILD = """
import json, resource, sys
from tracker_core.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      file=sys.stderr)
"""


@dataclass
class Measurement:
    users: int
    events: int
    seconds: float
    peak_mib: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def start_simulator(users: int, days: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracker_core",
            "simulator",
            "--port",
            "0",
            "--no-rate-limit",
            "--users",
            str(users),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--api-key",
            "bench",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("listening on "):
        process.kill()
        raise SystemExit(f"simulator did not start: {first!r}")
    return process, first.removeprefix("listening on ")


def measure(users: int, days: int, seed: int, workdir: Path) -> Measurement:
    simulator, url = start_simulator(users, days, seed)
    try:
        config = workdir / f"bench-{users}.toml"
        config.write_text(
            "[cursor]\n"
            f'api_url = "{url}"\n'
            "admin_requests_per_minute = 10000\n"
            "analytics_requests_per_minute = 10000\n"
            "[database]\n"
            f'url = "sqlite:///{workdir / f"bench-{users}.db"}"\n'
            "[collector]\n"
            f"backfill_days = {days}\n"
            "events_window_days = 7\n"
        )
        env = dict(os.environ, CURSOR_ADMIN_API_KEY="bench")
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, "collect", "--json", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - started
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    if child.returncode != 0:
        raise SystemExit(f"collect failed ({child.returncode}):\n{child.stderr[-2000:]}")
    summary = json.loads(child.stdout)
    peak = json.loads(child.stderr.strip().splitlines()[-1])
    return Measurement(
        users, int(summary["usage_events_fetched"]), seconds, peak["peak_kib"] / 1024
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--small-users", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(args.small_users, args.days, args.seed, Path(tmp))
        large = measure(args.users, args.days, args.seed, Path(tmp))
    for result in (small, large):
        print(
            f"{result.users:>5} members x {args.days} days: {result.events:>9,} events in "
            f"{result.seconds:6.1f} s = {result.events_per_second:>8,.0f} events/s, "
            f"peak memory {result.peak_mib:6.1f} MiB"
        )
    print(
        f"team {args.users / args.small_users:.0f}x larger, "
        f"events {large.events / small.events:.1f}x, "
        f"peak memory ratio {large.peak_mib / small.peak_mib:.2f}"
    )


if __name__ == "__main__":
    main()
