"""The tracker's one clock: aware UTC instants, and a fixed clock tests move by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine

from tracker_core.clock import FixedClock, utc_now
from tracker_core.storage.lease import acquire, current_holder, try_acquire

T0 = datetime(2026, 11, 20, 9, 15, 42, tzinfo=UTC)


def test_the_real_clock_answers_aware_utc() -> None:
    before = datetime.now(UTC)
    now = utc_now()
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


def test_a_fixed_clock_stands_still_until_set_or_advanced() -> None:
    clock = FixedClock(T0)
    assert clock() == clock() == T0
    assert clock.advance(minutes=5) == T0 + timedelta(minutes=5) == clock()
    assert clock.advance(timedelta(hours=1), seconds=1) == T0 + timedelta(
        hours=1, minutes=5, seconds=1
    )
    clock.set(T0 - timedelta(days=1))  # a clock set back
    assert clock() == T0 - timedelta(days=1)


def test_a_fixed_clock_answers_utc_whatever_it_was_given() -> None:
    assert FixedClock(datetime(2026, 11, 20, 9, 15, 42))() == T0  # naive, as storage keeps it
    east = timezone(timedelta(hours=2))
    clock = FixedClock(datetime(2026, 11, 20, 11, 15, 42, tzinfo=east))
    assert clock() == T0 and clock().tzinfo is UTC


def test_a_lease_left_by_a_dead_holder_is_taken_once_the_clock_passes_its_expiry(
    db_engine: Engine,
) -> None:
    clock = FixedClock(T0)
    assert try_acquire(db_engine, "collector", "build-7:4242:00ff", 600, clock())
    clock.advance(seconds=601)
    acquire(db_engine, "collector", "build-8:1:00aa", 60, wait_seconds=0, clock=clock)
    held = current_holder(db_engine, "collector")
    assert held is not None and held[0] == "build-8:1:00aa"


def test_the_clock_imports_nothing_of_the_tracker() -> None:
    """Storage and every layer above use it, so it must sit below them all."""
    probe = (
        "import json, sys; import tracker_core.clock; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tracker_'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["tracker_core", "tracker_core.clock"]
