"""Detection benchmark: one detection run against reading the same events once.

Stores a team of N members (default 2,000) with D days (default 90) of usage events in a fresh
SQLite file through the storage layer, then measures, in the same run and alternating:

* reading every stored usage event once through SQLAlchemy (the floor of any detector that
  looks at raw events), and
* a full ``run_detection``: the rollup query, all three rule layers, onsets, incidents.

The detector only needs the current cycle and the look-back days, per member, day and model,
and reads them from the usage rollup the collector keeps (``storage.rollups``), so it should
cost well under one full read. Target: ratio at most 1. Summing the rollup for the whole
history once, as the collector does after a backfill, is timed and printed on its own.

    python bench/detect.py [--members N] [--days D] [--per-day K] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from tracker_core.config import DatabaseSettings, Settings
from tracker_core.domain import Member, UsageEvent, day_start_ms, usage_event_id
from tracker_core.jobs.detect import run_detection
from tracker_core.storage import insert_usage_events, open_database, rollups, upsert_members

TARGET_RATIO = 1.0
MODEL_NAMES = ("claude-4.5-sonnet", "gpt-5", "claude-4.1-opus")
MODEL_WEIGHTS = (0.6, 0.3, 0.1)


def generate(
    members: int, days: int, per_day: int, now: datetime, seed: int = 90
) -> Iterator[list[UsageEvent]]:
    """Per member, ``per_day`` events on average each weekday, fewer at weekends."""
    rng = random.Random(seed)
    first = now.date() - timedelta(days=days - 1)
    for m in range(members):
        email = f"dev{m:05d}@example.test"
        scale = rng.lognormvariate(0, 0.5)
        batch: list[UsageEvent] = []
        for d in range(days):
            day = first + timedelta(days=d)
            count = rng.randrange(per_day * 2 + 1) if day.weekday() < 5 else rng.randrange(3)
            start = day_start_ms(day)
            limit = int(now.timestamp() * 1000) if day == now.date() else start + 86_400_000
            for _ in range(count):
                stamp = rng.randrange(start, max(start + 1, limit))
                cents = round(rng.expovariate(1 / 40) * scale, 4)
                fields = {
                    "timestamp_ms": stamp,
                    "user_email": email,
                    "model": rng.choices(MODEL_NAMES, MODEL_WEIGHTS)[0],
                    "kind": "Usage-based",
                    "max_mode": False,
                    "requests_costs": 1.0,
                    "is_token_based_call": True,
                    "is_chargeable": True,
                    "is_headless": False,
                    "cache_write_tokens": 0,
                    "cache_read_tokens": 0,
                    "input_tokens": rng.randrange(1_000, 60_000),
                    "output_tokens": rng.randrange(100, 4_000),
                    "token_cents": cents,
                    "charged_cents": cents,
                }
                batch.append(
                    UsageEvent(id=usage_event_id(**fields), day=day, **fields)  # type: ignore[arg-type]
                )
        yield batch


def populate(engine: Engine, members: int, days: int, per_day: int, now: datetime) -> int:
    stored = 0
    with engine.begin() as conn:
        upsert_members(
            conn,
            [
                Member(email=f"dev{m:05d}@example.test", name=f"Dev {m}", role="member")
                for m in range(members)
            ],
            seen_at=now,
        )
    for batch in generate(members, days, per_day, now):
        with engine.begin() as conn:
            stored += insert_usage_events(conn, batch)
        if stored and stored % 200_000 < len(batch):
            print(f"  stored {stored:,} events", file=sys.stderr, flush=True)
    return stored


def read_all(engine: Engine) -> tuple[float, int]:
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = 0
        for partition in conn.execute(text("SELECT * FROM usage_events")).partitions(10_000):
            rows += len(partition)
    return time.perf_counter() - started, rows


def detect_once(engine: Engine, settings: Settings, now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    report = run_detection(engine, settings, clock=lambda: now, senders={})
    return time.perf_counter() - started, len(report.anomalies)


def run(members: int, days: int, per_day: int, rounds: int, workdir: Path) -> dict[str, float]:
    """Store the team, then time full reads and detection runs in turns; best of each."""
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{workdir / 'detect.db'}"
    engine = open_database(url)
    try:
        print(f"storing {members:,} members x {days} days ...", file=sys.stderr)
        events = populate(engine, members, days, per_day, now)
        # What the collector does after storing a pass: sum the days it changed.
        started = time.perf_counter()
        rollups.refresh(engine)
        summing = time.perf_counter() - started
        settings = Settings(database=DatabaseSettings(url=url))
        reads: list[float] = []
        detects: list[float] = []
        rows = anomalies = 0
        for _ in range(rounds):
            seconds, rows = read_all(engine)
            reads.append(seconds)
            seconds, anomalies = detect_once(engine, settings, now)
            detects.append(seconds)
    finally:
        engine.dispose()
    return {
        "events": events,
        "rows": rows,
        "anomalies": anomalies,
        "read": min(reads),
        "detect": min(detects),
        "summing": summing,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="keep the database in DIR")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.keep or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.members, args.days, args.per_day, args.rounds, workdir)
    ratio = result["detect"] / result["read"]
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    team = f"{args.members:,} members x {args.days} days"
    print(f"events stored:        {result['events']:,.0f} ({team})")
    print(f"read every event:     {result['read']:.2f} s ({result['rows']:,.0f} rows)")
    print(
        f"one detection run:    {result['detect']:.2f} s ({result['anomalies']:.0f} anomalies open)"
    )
    print(f"ratio detect / read:  {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    print(
        f"summing the rollup:   {result['summing']:.2f} s, once, for all {args.days} days "
        "(the collector's part, after storing)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
