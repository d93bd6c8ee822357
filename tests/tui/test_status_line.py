"""The top line at 80 columns: the screen's name stays, a running collection comes first."""

from __future__ import annotations

from tests.tui.helpers import FIXED_NOW
from tracker_core.cursor_api import ApiWait
from tracker_tui.progress import Activity
from tracker_tui.widgets.status import StatusState, fit_line, status_parts

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
