"""Kept JSON answers: reused while the data is the same, recomputed when it changes, one
computation for callers that miss together, and a bounded number kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.daemon.conftest import daemon_settings, running_daemon
from tracker_core.daemon.memo import JsonMemo
from tracker_core.domain import UsageEvent, usage_event_id
from tracker_core.storage import insert_usage_events, open_database


class Computation:
    """Counts its calls; each one can be held until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> bytes:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        return f"answer {number}".encode()


async def test_an_answer_is_kept_until_the_fingerprint_changes() -> None:
    memo, compute = JsonMemo(), Computation()
    assert await memo.get("stats", "v1", compute) == b"answer 1"
    assert await memo.get("stats", "v1", compute) == b"answer 1"
    assert compute.calls == 1
    assert await memo.get("stats", "v2", compute) == b"answer 2"
    assert await memo.get("other", "v2", compute) == b"answer 3"
    assert compute.calls == 3


async def test_callers_that_miss_together_share_one_computation() -> None:
    memo, compute = JsonMemo(), Computation()
    compute.release.clear()
    waiting = [asyncio.ensure_future(memo.get("stats", "v1", compute)) for _ in range(5)]
    await asyncio.sleep(0.01)
    compute.release.set()
    assert await asyncio.gather(*waiting) == [b"answer 1"] * 5
    assert compute.calls == 1


async def test_while_a_newer_answer_is_computed_others_get_the_previous_one() -> None:
    memo, compute = JsonMemo(), Computation()
    assert await memo.get("stats", "v1", compute) == b"answer 1"
    compute.release.clear()
    first = asyncio.ensure_future(memo.get("stats", "v2", compute))
    await asyncio.sleep(0.01)
    # The data changed again meanwhile: still no second computation, no queue.
    assert await memo.get("stats", "v3", compute) == b"answer 1"
    compute.release.set()
    assert await first == b"answer 2"  # the caller that started it waits for the new one
    assert await memo.get("stats", "v2", compute) == b"answer 2"
    assert compute.calls == 2


async def test_a_failure_is_not_kept_and_the_size_is_bounded() -> None:
    memo = JsonMemo(max_entries=3)

    async def fail() -> bytes:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await memo.get("stats", "v1", fail)
    compute = Computation()
    assert await memo.get("stats", "v1", compute) == b"answer 1"
    for days in range(10):
        await memo.get(("stats", days), "v1", compute)
    assert len(memo) == 3


async def test_stats_follow_new_events_at_once(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        before = await (await client.get("/api/stats?days=7")).json()
        assert await (await client.get("/api/stats?days=7")).json() == before
        now = datetime.now(UTC)
        fields = {
            "timestamp_ms": int(now.timestamp() * 1000),
            "user_email": before["users"][0]["email"],
            "model": "gpt-5",
            "kind": "Usage-based",
            "max_mode": False,
            "requests_costs": 1.0,
            "is_token_based_call": True,
            "is_chargeable": True,
            "is_headless": False,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "input_tokens": 1000,
            "output_tokens": 100,
            "token_cents": 12345.0,
            "charged_cents": 12345.0,
        }
        event = UsageEvent(id=usage_event_id(**fields), day=now.date(), **fields)  # type: ignore[arg-type]
        engine = open_database(collected)
        try:
            with engine.begin() as conn:
                assert insert_usage_events(conn, [event]) == 1
        finally:
            engine.dispose()
        after = await (await client.get("/api/stats?days=7")).json()
    assert after["total_spend"] == pytest.approx(before["total_spend"] + 123.45, abs=0.01)
    assert after["requests"] == before["requests"] + 1
