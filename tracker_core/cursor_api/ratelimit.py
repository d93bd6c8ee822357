"""Client-side rate limiting, so the tracker stays under Cursor's per-minute quotas by itself.

Cursor counts requests per team in a rolling minute (20/min for most Admin endpoints, 100/min
for the Analytics team endpoints). Being told "429" is the slow way to learn that: the seed tool
waited a whole minute each time. The limiter here keeps a log of when it let requests go and
never lets more than N through in any window of ``period`` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

Clock = Callable[[], float]
"""Monotonic seconds; injectable so tests can drive time by hand."""

Sleep = Callable[[float], Awaitable[None]]

WaitHook = Callable[[float], None]
"""Told how many seconds a caller is about to wait, before the wait starts."""

DEFAULT_MARGIN_SECONDS = 0.5

_IN_FLIGHT_POLL = 1 / 60
"""How often, as a share of the period, a caller blocked only by requests in flight looks again."""


@dataclass
class Grant:
    """One request let through by :meth:`RateLimiter.hold`, to hand back to ``release``."""

    counted: bool
    released: bool = False


class GrantLedger(Protocol):
    """The quota shared beyond this process (the database's request ledger).

    ``take`` holds a slot for one request about to leave (``clock``: epoch seconds, read when
    the ledger is ready to record), counted as in flight for up to ``in_flight_seconds``, and
    returns (0, the slot), or returns the seconds until one fits among the last
    ``max_requests`` of every process (and no slot). ``settle`` dates the slot by its answer,
    as the in-process limiter does.
    """

    def take(
        self,
        api: str,
        key: str,
        max_requests: int,
        window_seconds: float,
        clock: Clock,
        in_flight_seconds: float = 0.0,
    ) -> tuple[float, object | None]: ...

    def settle(self, slot: Any, window_seconds: float, clock: Clock) -> None: ...


class RateLimiter:
    """At most ``max_requests`` grants in any rolling window of ``period`` seconds.

    A sliding-window log rather than a token bucket: a bucket that starts full lets N requests
    go at once and then drips more in before the first N have left the server's rolling
    minute, which is exactly what a rolling-window counter punishes.

    Each request is logged at the instant its answer came back, not when it left, and counts
    as "now" while it is in flight (:meth:`hold` / :meth:`release`). The server stamps a request
    when it arrives, which is somewhere between the two, so a log of answer times is never
    younger than the server's own: waiting until the oldest of the last N is ``period`` old
    cannot overshoot however long a request spends on a slow network or a loaded machine. The
    margin only absorbs clock skew.

    The limiter also carries a shared "blocked until" instant: when one call is answered 429,
    :meth:`pause` holds every caller of this API until Retry-After has passed, instead of
    letting the others keep hammering a server that has already said stop.

    ``max_requests=None`` disables the window (for benchmarks against the simulator) but keeps
    the pause, since a 429 must be honoured either way.

    Waiters queue on one lock and sleep while holding it. That makes grants first come, first
    served, and costs nothing: everyone behind the head of the queue would have to wait anyway.
    The lock is per event loop, and the grant log is guarded by a thread lock, so one limiter
    can be shared by collections running in different threads, each with its own loop (the
    daemon's job, the console's ``c``): the quota is the team's, whoever spends it.
    """

    def __init__(
        self,
        max_requests: int | None,
        period: float = 60.0,
        *,
        margin: float = DEFAULT_MARGIN_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_requests is not None and max_requests < 1:
            raise ValueError(f"max_requests must be at least 1 or None, not {max_requests}")
        if period <= 0 or margin < 0:
            raise ValueError("period must be positive and margin not negative")
        self._max_requests = max_requests
        self._window = period + margin
        self._clock = clock
        self._sleep = sleep
        self._grants: deque[float] = deque()
        """When each of the recent requests was answered, oldest first."""
        self._in_flight = 0
        self._blocked_until = -math.inf
        self._mutex = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def max_requests(self) -> int | None:
        return self._max_requests

    @property
    def window_seconds(self) -> float:
        """The period the limiter actually enforces, safety margin included."""
        return self._window

    def delay(self) -> float:
        """Seconds the next :meth:`acquire` would wait if called now (0 when free)."""
        with self._mutex:
            return self._delay()

    def _delay(self) -> float:
        now = self._clock()
        self._forget_before(now)
        wait = self._blocked_until - now
        counted = len(self._grants) + self._in_flight
        if self._max_requests is not None and counted >= self._max_requests:
            # The request that must leave the window before one more fits; while only requests
            # still in flight stand in the way, look again shortly (they end within a timeout).
            oldest = counted - self._max_requests
            if oldest < len(self._grants):
                wait = max(wait, self._grants[oldest] + self._window - now)
            else:
                wait = max(wait, self._window * _IN_FLIGHT_POLL)
        return max(wait, 0.0)

    async def acquire(self, on_wait: WaitHook | None = None) -> None:
        """Wait until one more request fits and count it as answered now (an instant request)."""
        self.release(await self.hold(on_wait))

    async def hold(self, on_wait: WaitHook | None = None) -> Grant:
        """Wait until one more request fits and count it as in flight until :meth:`release`.

        ``on_wait`` hears of each wait before it starts: a minute spent here is otherwise
        indistinguishable, for whoever watches, from a hang.
        """
        async with self._loop_lock():
            while True:
                with self._mutex:  # the check and the grant at once: another thread may be here
                    wait = self._delay()
                    if wait <= 0:
                        if self._max_requests is None:
                            return Grant(counted=False)
                        self._in_flight += 1
                        return Grant(counted=True)
                if on_wait is not None:
                    on_wait(wait)
                await self._sleep(wait)

    def release(self, grant: Grant) -> None:
        """The request of ``grant`` was answered (or failed): log it as of now. Idempotent."""
        if not grant.counted or grant.released:
            return
        grant.released = True
        with self._mutex:
            self._in_flight -= 1
            self._grants.append(self._clock())

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._mutex:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (a 429's Retry-After); never shortens."""
        if seconds > 0:
            with self._mutex:
                self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def _forget_before(self, now: float) -> None:
        while self._grants and self._grants[0] + self._window <= now:
            self._grants.popleft()


_SHARED: dict[tuple[object, ...], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(
    api: str,
    base_url: str,
    key: str,
    max_requests: int | None,
    period: float = 60.0,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> RateLimiter:
    """The one limiter of this process for an API, a server and a key (the team's quota).

    Every client built for the same team gets the same limiter, so two collections in one
    process (a scheduled run and ``POST /api/cron``, or a console's ``c``) share one budget
    instead of each spending the whole of it. The key is held only as a hash.
    """
    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    wanted = (api, base_url.rstrip("/"), fingerprint, max_requests, period, clock, sleep)
    with _SHARED_LOCK:
        limiter = _SHARED.get(wanted)
        if limiter is None:
            limiter = _SHARED[wanted] = RateLimiter(max_requests, period, clock=clock, sleep=sleep)
        return limiter
