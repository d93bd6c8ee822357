"""The top line at 80 columns: the screen's name stays, a running collection comes first, and
it says how far usage events are complete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.tui.helpers import COLLECTED_AT, FIXED_NOW, settle
from tracker_core.cursor_api import ApiWait
from tracker_tui.app import TrackerApp
from tracker_tui.progress import Activity
from tracker_tui.widgets.status import (
    StatusState,
    TopBar,
    complete_stamp,
    fit_line,
    status_parts,
)

APP = "Cursor Usage Tracker"


def line(state: StatusState, screen: str = "Insights", width: int = 78) -> str:
    parts, _ = status_parts(state)
    return fit_line(APP, screen, parts, width).plain


def test_collection_progress_comes_first_and_the_title_stays_at_80_columns() -> None:
    activity = Activity("collecting usage events 3/12, 4,500 rows")
    text = line(StatusState(None, FIXED_NOW, activity=activity.line(0)))
    assert text.startswith("Insights ")
    assert text.endswith("collecting usage events 3/12, 4,500 rows  ·  never collected")
    assert "press c" not in text  # c is what is happening


def test_a_rate_limit_wait_counts_down_and_a_long_one_is_cut_not_dropped() -> None:
    wait = ApiWait("Admin", 48.0, 20)
    activity = Activity("collecting usage events 3/12, 4,500 rows", wait, wait_until=100.0)
    assert activity.line(60.0).endswith(
        ": waiting 40 s for Cursor's rate limit (20 requests/minute)"
    )
    assert activity.line(100.0) == "collecting usage events 3/12, 4,500 rows"
    text = line(StatusState(None, FIXED_NOW, activity=activity.line(60.0)))
    assert text.startswith("Insights  collecting usage events 3/12, 4,500 rows: waiting 40 s")
    assert text.endswith("…") and len(text) == 78


def test_idle_the_age_outranks_the_refresh_state_and_the_app_name() -> None:
    never = line(StatusState(None, FIXED_NOW))
    assert never.startswith(f"{APP} — Insights ")
    assert never.endswith("never collected (stale: press c to collect)")  # no refresh part
    wide = line(StatusState(None, FIXED_NOW), width=118)
    assert wide.startswith(f"{APP} — Insights ")
    assert wide.endswith("never collected (stale: press c to collect)  ·  auto-refresh every 30s")


def test_how_far_events_are_complete_follows_the_age_and_yields_before_it() -> None:
    complete = FIXED_NOW - timedelta(hours=50)
    wide = line(StatusState(FIXED_NOW, FIXED_NOW, complete_up_to=complete), width=118)
    assert wide.endswith(
        "collected just now  ·  complete up to Nov 18 13:00 UTC  ·  auto-refresh every 30s"
    )
    narrow = line(StatusState(FIXED_NOW, FIXED_NOW, complete_up_to=complete), width=70)
    # The app's name gives way first, then the refresh state.
    assert narrow.startswith("Insights ")
    assert narrow.endswith("  collected just now  ·  complete up to Nov 18 13:00 UTC")


async def test_the_console_says_how_far_usage_events_are_complete(
    make_app: Callable[[], TrackerApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        status = app.screen.query_one(TopBar).text
    # The collector's daily re-read reaches 48 hours back: events before then are all in.
    assert f"complete up to {complete_stamp(COLLECTED_AT - timedelta(hours=48))}" in status
    assert "Nov 18" in status


def test_a_pause_shows_at_80_columns_before_the_age() -> None:
    """The person paused the refresh: at any width the line says so, or the figures would
    look current while they stay still."""
    paused = line(StatusState(FIXED_NOW, FIXED_NOW, paused=True))
    assert "paused (p)" in paused and "auto-refresh every" not in paused
    assert paused.index("paused (p)") < paused.index("just now")
    narrow = line(StatusState(FIXED_NOW, FIXED_NOW, paused=True), width=40)
    assert "paused (p)" in narrow
