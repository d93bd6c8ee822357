"""The first screen's load, started as the app is created (tracker_tui.early)."""

from __future__ import annotations

import threading

import pytest

from tracker_tui.early import EarlyLoad


def never() -> str:
    raise AssertionError("the summed load ran although the figures were ready-made")


async def test_ready_made_figures_are_on_hand_for_the_first_paint() -> None:
    early: EarlyLoad[str] = EarlyLoad(lambda: "remembered", never)
    assert early.ready() == "remembered"
    assert await early.result() == "remembered"


async def test_figures_being_summed_arrive_later_and_the_first_paint_does_not_wait() -> None:
    release = threading.Event()

    def summed() -> str:
        release.wait(5)
        return "summed"

    early: EarlyLoad[str] = EarlyLoad(lambda: None, summed)
    assert early.ready() is None  # returns while the sum is still running
    release.set()
    assert await early.result() == "summed"


async def test_a_failing_look_falls_back_and_a_failing_sum_is_raised() -> None:
    def broken() -> str | None:
        raise RuntimeError("no view cache")

    def failing() -> str:
        raise RuntimeError("no such table: event_rollups_weekly")

    assert await EarlyLoad(broken, lambda: "summed").result() == "summed"
    early: EarlyLoad[str] = EarlyLoad(broken, failing)
    assert early.ready() is None
    with pytest.raises(RuntimeError, match="event_rollups_weekly"):
        await early.result()
