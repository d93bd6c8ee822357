"""The sliding-window limiter, driven by a fake clock: no test here really sleeps."""

from __future__ import annotations

import asyncio

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
