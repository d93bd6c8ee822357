"""The sliding-window limiter, driven by a fake clock: no test here really sleeps."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker_core.cursor_api import RateLimiter


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def limiter(clock: FakeClock, max_requests: int | None, period: float = 60.0,
            margin: float = 0.5) -> RateLimiter:  # fmt: skip
    return RateLimiter(max_requests, period, margin=margin, clock=clock, sleep=clock.sleep)


def assert_never_more_than(grants: list[float], n: int, period: float) -> None:
    """No window of length ``period`` holds more than ``n`` grants (checked on sorted times)."""
    ordered = sorted(grants)
    for i in range(len(ordered) - n):
        assert ordered[i + n] - ordered[i] > period, (i, ordered[i], ordered[i + n])


async def test_burst_then_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    limit = limiter(clock, 20)
    grants = []
    for _ in range(45):
        await limit.acquire()
        grants.append(clock.now)
    assert grants[:20] == [0.0] * 20
    assert grants[20:40] == pytest.approx([60.5] * 20)
    assert grants[40:] == pytest.approx([121.0] * 5)
    assert_never_more_than(grants, 20, 60.0)


async def test_concurrent_callers_share_the_window() -> None:
    clock = FakeClock()
    limit = limiter(clock, 5, period=10.0)
    grants: list[float] = []

    async def call() -> None:
        await limit.acquire()
        grants.append(clock.now)

    await asyncio.gather(*(call() for _ in range(37)))
    assert len(grants) == 37
    assert_never_more_than(grants, 5, 10.0)
    assert max(grants) == pytest.approx(7 * 10.5)  # 37 grants = 8 windows, none wasted


@settings(max_examples=60, deadline=None)
@given(max_requests=st.integers(1, 8), gaps=st.lists(st.floats(0, 5), min_size=1, max_size=60))
def test_any_arrival_pattern_stays_under_the_limit_and_waits_no_longer_than_needed(
    max_requests: int, gaps: list[float]
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        limit = limiter(clock, max_requests, period=10.0, margin=0.5)
        grants: list[float] = []
        for gap in gaps:
            clock.now += gap
            arrived = clock.now
            await limit.acquire()
            grants.append(clock.now)
            # Served as soon as the request that is N back has left the window, not later.
            earliest = arrived
            if len(grants) > max_requests:
                earliest = max(arrived, grants[-1 - max_requests] + 10.5)
            assert clock.now == pytest.approx(earliest)
        assert_never_more_than(grants, max_requests, 10.0)

    asyncio.run(scenario())


async def test_pause_holds_every_caller_until_retry_after() -> None:
    clock = FakeClock()
    limit = limiter(clock, 100)
    await limit.acquire()
    limit.pause(7.0)
    assert limit.delay() == pytest.approx(7.0)
    grants: list[float] = []

    async def call() -> None:
        await limit.acquire()
        grants.append(clock.now)

    await asyncio.gather(*(call() for _ in range(4)))
    assert grants == pytest.approx([7.0] * 4)


async def test_pause_extends_but_never_shortens() -> None:
    clock = FakeClock()
    limit = limiter(clock, None)
    limit.pause(10.0)
    limit.pause(2.0)
    assert limit.delay() == pytest.approx(10.0)
    limit.pause(0.0)
    limit.pause(-5.0)
    await limit.acquire()
    assert clock.now == pytest.approx(10.0)


async def test_pause_while_waiting_for_the_window() -> None:
    clock = FakeClock()
    limit = limiter(clock, 1, period=10.0, margin=0.0)
    await limit.acquire()
    waiter = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)  # the waiter now sleeps until t=10
    limit.pause(30.0)  # a 429 arrives meanwhile (clock already advanced by the waiter)
    await waiter
    assert clock.now == pytest.approx(40.0)


async def test_disabled_limiter_never_waits() -> None:
    clock = FakeClock()
    limit = limiter(clock, None)
    for _ in range(1000):
        await limit.acquire()
    assert clock.now == 0.0
    assert limit.max_requests is None


async def test_cancelled_waiter_does_not_take_a_slot() -> None:
    clock = FakeClock()

    async def never_wakes(seconds: float) -> None:
        await asyncio.Event().wait()

    stuck = RateLimiter(1, 10.0, margin=0.0, clock=clock, sleep=never_wakes)
    await stuck.acquire()
    task = asyncio.create_task(stuck.acquire())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    clock.now = 10.0
    await asyncio.wait_for(stuck.acquire(), timeout=1)  # lock released, slot free


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(5, period=0)
    assert RateLimiter(20).window_seconds == 60.5


class VirtualClock:
    """Time that jumps to the next wake-up once every task is waiting, as an event loop's
    timer would, so concurrent sleepers see one consistent time line."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), self._count, future))
        await future

    async def run(self, main: Awaitable[None]) -> None:
        task = asyncio.ensure_future(main)
        while not task.done():
            for _ in range(4):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        await task


@settings(max_examples=50, deadline=None)
@given(
    latencies=st.lists(st.floats(0, 30), min_size=1, max_size=16),
    gaps=st.lists(st.floats(0, 5), min_size=16, max_size=16),
)
def test_slow_requests_never_crowd_the_servers_window(
    latencies: list[float], gaps: list[float]
) -> None:
    """However long a request spends in flight, the server never sees more than N a window.

    The server stamps a request when it arrives, anywhere between leaving and being answered;
    here it arrives just before its answer, the worst case, and no margin helps.
    """
    clock = VirtualClock()
    limit = RateLimiter(3, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    arrivals: list[float] = []

    async def one(latency: float) -> None:
        grant = await limit.hold()
        await clock.sleep(latency)
        arrivals.append(clock.now)
        limit.release(grant)

    async def callers() -> None:
        tasks = []
        for latency, gap in zip(latencies, gaps, strict=False):
            tasks.append(asyncio.create_task(one(latency)))
            await clock.sleep(gap)
        await asyncio.gather(*tasks)

    asyncio.run(clock.run(callers()))
    assert len(arrivals) == len(latencies)
    ordered = sorted(arrivals)
    for i in range(len(ordered) - 3):
        assert ordered[i + 3] - ordered[i] >= 10.0 - 1e-9, (i, ordered)
