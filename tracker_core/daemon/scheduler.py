"""The built-in schedule: when the next job is due, and a loop that starts it then.

The arithmetic is pure (a schedule, a moment, a jitter fraction in; a moment out), so it is
tested on a frozen clock; the loop only sleeps until that moment on an injected clock. A tick
that passes while the previous job still runs, or while the daemon was busy or asleep, is
counted and logged as missed and never run late: the next job starts at the next tick, so a
slow Cursor API can never pile jobs up behind each other.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from tracker_core.clock import Clock

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

MAX_MISSED_COUNTED = 10_000
"""Ticks counted one by one after a long absence; beyond this the count stops (a schedule of
every minute over a week-long suspend would otherwise walk 10,080 ticks for a log line)."""


def next_tick(schedule: str, after: datetime) -> datetime | None:
    """The first tick of ``schedule`` (cron, UTC) strictly after ``after``; None if no schedule."""
    if not schedule.strip():
        return None
    start = after.astimezone(UTC)
    tick: datetime = croniter(schedule, start).get_next(datetime)
    return tick.astimezone(UTC)


def ticks_between(schedule: str, start: datetime, end: datetime) -> int:
    """How many ticks fall in ``(start, end]``: the runs a job overlapping them made impossible."""
    count = 0
    tick = next_tick(schedule, start)
    while tick is not None and tick <= end and count < MAX_MISSED_COUNTED:
        count += 1
        tick = next_tick(schedule, tick)
    return count


def jittered(tick: datetime, jitter_seconds: float, fraction: float) -> datetime:
    """``tick`` delayed by ``fraction`` (0 to 1) of the configured jitter."""
    return tick + timedelta(seconds=jitter_seconds * min(max(fraction, 0.0), 1.0))


@dataclass
class ScheduleState:
    """What ``/healthz`` and ``/metrics`` say about the schedule."""

    next_run: datetime | None = None
    missed: int = 0


class Scheduler:
    """Starts ``job`` at every tick of ``schedule``; never two at once, never late.

    ``job`` returns False when it could not start (another run holds the job, here or on
    another instance): that tick counts as missed too.
    """

    def __init__(
        self,
        schedule: str,
        job: Callable[[], Awaitable[bool]],
        *,
        clock: Clock,
        sleep: Sleep,
        jitter_seconds: float = 0.0,
        random: Callable[[], float] = lambda: 0.0,
        on_missed: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.schedule = schedule
        self.state = ScheduleState()
        self._job = job
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter_seconds
        self._random = random
        self._on_missed = on_missed

    def _missed(self, count: int, why: str) -> None:
        if count <= 0:
            return
        self.state.missed += count
        self._on_missed(count)
        log.warning("scheduled job missed %d tick(s): %s", count, why)

    async def run(self) -> None:
        """Run until cancelled (the daemon's shutdown cancels this task)."""
        tick = next_tick(self.schedule, self._clock())
        start_at = self._start_of(tick)
        while tick is not None and start_at is not None:
            self.state.next_run = start_at
            delay = (start_at - self._clock()).total_seconds()
            if delay > 0:
                await self._sleep(delay)
            now = self._clock()
            # Woken far past the tick (a suspended machine, a blocked loop): the ticks in
            # between are reported, and the job runs once, now, for the latest of them.
            late = ticks_between(self.schedule, tick, now)
            self._missed(late, "the daemon was not running or was blocked at those times")
            # The next run is announced as this one starts: whoever reads /healthz while or
            # just after it runs never sees a tick that has already been taken.
            following = next_tick(self.schedule, max(now, tick))
            following_at = self._start_of(following)
            self.state.next_run = following_at
            started = await self._job()
            if not started:
                self._missed(1, "the previous job was still running")
            finished = self._clock()
            self._missed(
                ticks_between(self.schedule, max(now, tick), finished),
                "the job was still running at those times",
            )
            tick = next_tick(self.schedule, max(finished, tick))
            start_at = following_at if tick == following else self._start_of(tick)
        self.state.next_run = None

    def _start_of(self, tick: datetime | None) -> datetime | None:
        """When the run for ``tick`` starts: the tick plus its jitter (drawn once per tick)."""
        return None if tick is None else jittered(tick, self._jitter, self._random())
