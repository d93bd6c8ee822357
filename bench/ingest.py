"""Ingest benchmark: usage events through the storage layer against plain sqlite3.

Stores N generated events (default 1,000,000) twice, into two fresh SQLite files in a temporary
directory:

* through the project's storage layer, exactly as the collector does: ``open_database`` then
  ``insert_usage_events`` on batches of 5,000 events, one transaction per batch;
* through the standard library's ``sqlite3`` with ``executemany`` of ready-made tuples
  (``INSERT OR IGNORE``) into an equivalent table: same columns, primary key, three indexes
  and pragmas, one transaction per batch.

Each batch is generated (events and tuples, ids included) before either timer starts, and the
two paths take turns batch by batch so a noisy machine slows both alike. The storage layer
must reach at least half the plain speed: the abstraction may cost something, not everything.

    python bench/ingest.py [--events N] [--batch N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracker_core.domain import UsageEvent, usage_event_id, utc_day
from tracker_core.storage import insert_usage_events, open_database, usage_totals
from tracker_core.storage.db import SQLITE_PRAGMAS

TARGET_RATIO = 0.5
START_MS = 1_735_689_600_000  # 2025-01-01 00:00 UTC
SPAN_MS = 90 * 86_400_000

# (model, cents per 1k input tokens, cents per 1k output tokens, relative frequency)
MODELS: tuple[tuple[str, float, float, int], ...] = (
    ("claude-sonnet-4.5", 0.30, 1.50, 40),
    ("gpt-5", 0.125, 1.00, 25),
    ("claude-opus-4.1", 1.50, 7.50, 5),
    ("gemini-2.5-pro", 0.125, 1.00, 10),
    ("cursor-small", 0.0, 0.0, 10),
    ("auto", 0.125, 0.60, 10),
)
KINDS: tuple[tuple[str, int], ...] = (
    ("Usage-based", 55),
    ("Included in Business", 35),
    ("Errored, Not Charged", 5),
    ("Free", 5),
)

PLAIN_SCHEMA = (
    """
    CREATE TABLE usage_events (
        id VARCHAR(32) NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        day DATE NOT NULL,
        user_email VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        max_mode BOOLEAN NOT NULL,
        requests_costs FLOAT NOT NULL,
        is_token_based_call BOOLEAN NOT NULL,
        is_chargeable BOOLEAN NOT NULL,
        is_headless BOOLEAN NOT NULL,
        is_free_bugbot BOOLEAN NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        token_cents FLOAT,
        charged_cents FLOAT,
        cursor_token_fee FLOAT,
        CONSTRAINT pk_usage_events PRIMARY KEY (id)
    )
    """,
    "CREATE INDEX ix_usage_events_user_email_day ON usage_events (user_email, day)",
    "CREATE INDEX ix_usage_events_day ON usage_events (day)",
    "CREATE INDEX ix_usage_events_timestamp_ms ON usage_events (timestamp_ms)",
)
PLAIN_INSERT = "INSERT OR IGNORE INTO usage_events VALUES (" + ", ".join("?" * 19) + ")"

PlainRow = tuple[object, ...]


class EventGenerator:
    """Deterministic, plausible events: a few hundred people, skewed models, growing time."""

    def __init__(self, total: int, seed: int = 20250301) -> None:
        self._rng = random.Random(seed)
        self._total = total
        self._step_ms = max(SPAN_MS // max(total, 1), 1)
        self._emails = [f"dev{n:03d}@example.test" for n in range(400)]
        self._models = [m for m in MODELS for _ in range(m[3])]
        self._kinds = [k for k, weight in KINDS for _ in range(weight)]
        self._made = 0

    def _event(self, n: int) -> UsageEvent:
        rng = self._rng
        timestamp_ms = START_MS + n * self._step_ms + rng.randrange(self._step_ms)
        model, in_price, out_price, _ = rng.choice(self._models)
        kind = rng.choice(self._kinds)
        token_based = rng.random() < 0.8
        input_tokens = int(rng.lognormvariate(8.0, 1.2)) if token_based else 0
        output_tokens = int(rng.lognormvariate(6.5, 1.0)) if token_based else 0
        cache_read = int(rng.lognormvariate(10.0, 1.5)) if token_based and rng.random() < 0.7 else 0
        cache_write = int(rng.lognormvariate(8.0, 1.0)) if token_based and rng.random() < 0.2 else 0
        token_cents: float | None = None
        charged_cents: float | None = None
        fee: float | None = None
        if token_based:
            token_cents = round(
                input_tokens / 1000 * in_price + output_tokens / 1000 * out_price, 4
            )
            fee = round(token_cents * 0.1, 4)
            charged_cents = round(token_cents + fee, 4) if kind == "Usage-based" else 0.0
        fields = {
            "timestamp_ms": timestamp_ms,
            "user_email": rng.choice(self._emails),
            "model": model,
            "kind": kind,
            "max_mode": rng.random() < 0.05,
            "requests_costs": rng.choice((0.0, 0.5, 1.0, 1.0, 2.0)),
            "is_token_based_call": token_based,
            "is_chargeable": kind == "Usage-based",
            "is_headless": rng.random() < 0.1,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_write_tokens": cache_write,
            "cache_read_tokens": cache_read,
            "token_cents": token_cents,
            "charged_cents": charged_cents,
        }
        return UsageEvent(
            id=usage_event_id(**fields),  # type: ignore[arg-type]
            day=utc_day(timestamp_ms),
            is_free_bugbot=False,
            cursor_token_fee=fee,
            **fields,  # type: ignore[arg-type]
        )

    def batches(self, size: int) -> Iterator[list[UsageEvent]]:
        while self._made < self._total:
            count = min(size, self._total - self._made)
            yield [self._event(self._made + i) for i in range(count)]
            self._made += count


def plain_row(e: UsageEvent) -> PlainRow:
    """The values SQLAlchemy itself writes to SQLite: ISO day text, booleans as integers."""
    return (
        e.id,
        e.timestamp_ms,
        e.day.isoformat(),
        e.user_email,
        e.model,
        e.kind,
        int(e.max_mode),
        e.requests_costs,
        int(e.is_token_based_call),
        int(e.is_chargeable),
        int(e.is_headless),
        int(e.is_free_bugbot),
        e.input_tokens,
        e.output_tokens,
        e.cache_write_tokens,
        e.cache_read_tokens,
        e.token_cents,
        e.charged_cents,
        e.cursor_token_fee,
    )


def open_plain(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        con.execute(pragma)
    for statement in PLAIN_SCHEMA:
        con.execute(statement)
    return con


@dataclass
class Result:
    events: int
    storage_seconds: float
    plain_seconds: float
    storage_new: int
    plain_new: int

    @property
    def storage_rate(self) -> float:
        return self.events / self.storage_seconds

    @property
    def plain_rate(self) -> float:
        return self.events / self.plain_seconds

    @property
    def ratio(self) -> float:
        return self.storage_rate / self.plain_rate


def run(events: int, batch: int, workdir: Path) -> Result:
    engine = open_database(f"sqlite:///{workdir / 'storage.db'}")
    plain = open_plain(workdir / "plain.db")
    storage_seconds = plain_seconds = 0.0
    storage_new = plain_new = 0
    try:
        for chunk in EventGenerator(events).batches(batch):
            rows = [plain_row(e) for e in chunk]

            started = time.perf_counter()
            with engine.begin() as conn:
                storage_new += insert_usage_events(conn, chunk)
            storage_seconds += time.perf_counter() - started

            started = time.perf_counter()
            plain.execute("BEGIN")
            before = plain.total_changes
            plain.executemany(PLAIN_INSERT, rows)
            plain_new += plain.total_changes - before
            plain.execute("COMMIT")
            plain_seconds += time.perf_counter() - started
        with engine.connect() as conn:
            stored, _ = usage_totals(conn)
        plain_stored = plain.execute("SELECT count(*) FROM usage_events").fetchone()
    finally:
        engine.dispose()
        plain.close()
    if plain_stored is None or stored != plain_stored[0] or stored != storage_new:
        raise SystemExit(f"row counts disagree: storage {stored}, plain {plain_stored}")
    return Result(events, storage_seconds, plain_seconds, storage_new, plain_new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to store")
    parser.add_argument("--batch", type=int, default=5_000, help="events per transaction")
    parser.add_argument("--keep", type=Path, help="write the databases here and keep them")
    args = parser.parse_args(argv)
    if args.events <= 0 or args.batch <= 0:
        parser.error("--events and --batch must be positive")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args.events, args.batch, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
            result = run(args.events, args.batch, Path(tmp))

    print(f"events stored:         {result.events:,} (batches of {args.batch:,})")
    print(
        f"storage layer:         {result.storage_rate:,.0f} events/s "
        f"({result.storage_seconds:.2f} s, {result.storage_new:,} new)"
    )
    print(
        f"plain sqlite3:         {result.plain_rate:,.0f} events/s "
        f"({result.plain_seconds:.2f} s, {result.plain_new:,} new)"
    )
    verdict = "ok" if result.ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"ratio storage / plain: {result.ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
    return 0 if result.ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
