"""The console's pure formatting: the data-age stamp, money and alert deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult

from tracker_core.dashboard import MemberRow
from tracker_core.incidents import Announcement
from tracker_tui.format import (
    age,
    column_counts,
    count_axis,
    is_stale,
    money,
    money_axis,
    money_short,
)
from tracker_tui.screens.incidents import announcement_line
from tracker_tui.widgets.tables import MembersTable

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "text", "stale"),
    [
        (0, "collected just now", False),
        (1, "collected 1 minute ago", False),
        (12, "collected 12 minutes ago", False),
        (119, "collected 119 minutes ago", False),
        (120, "collected 2 hours ago", False),
        (121, "collected 2 hours ago", True),
        (60 * 72, "collected 3 days ago", True),
    ],
)
def test_age_and_staleness(minutes: int, text: str, stale: bool) -> None:
    since = NOW - timedelta(minutes=minutes)
    assert age(since, NOW) == text
    assert is_stale(since, NOW) is stale


def test_never_collected_is_stale() -> None:
    assert age(None, NOW) == "never collected"
    assert is_stale(None, NOW)


def test_money() -> None:
    assert money(123456) == "$1,234.56"
    assert money_short(123456) == "$1.2k"
    assert money_short(4_200_000) == "$42k"
    assert money_short(999) == "$10"


def test_an_announcement_line_says_what_became_of_the_alert() -> None:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

    def line(status: str, **fields: object) -> tuple[str, str]:
        values: dict[str, object] = {
            "incident_id": 1,
            "channel": "slack",
            "reason": "new",
            "status": status,
            "attempts": 0,
            "last_error": None,
            "sent_at": None,
            "next_attempt_at": at,
        }
        return announcement_line(Announcement(**{**values, **fields}))  # type: ignore[arg-type]

    assert line("sent", sent_at=at, attempts=1) == ("slack  sent 2026-11-20 09:30 UTC", "")
    assert line("failed", attempts=3, last_error="Slack answered HTTP 500") == (
        "slack  failed after 3 attempts: Slack answered HTTP 500;"
        " next try from 2026-11-20 09:30 UTC",
        "red",
    )
    assert line("failed", attempts=1, channel="email")[0].startswith(
        "email  failed after 1 attempt:"
    )
    assert line("skipped", last_error="resolved before it was delivered")[0] == (
        "slack  not sent: resolved before it was delivered"
    )
    assert line("pending", reason="escalated")[0] == (
        "slack  (escalation) waiting for the next detection run to send it"
    )


def test_a_count_column_reads_in_the_unit_of_its_largest_value() -> None:
    assert column_counts([1_034_221, 956_182, 4_200]) == ["1.0M", "1.0M", "0.0M"]
    assert column_counts([2_500_000_000, 956_182]) == ["2.5B", "0.0B"]
    assert column_counts([956_182, 4_200]) == ["956,182", "4,200"]
    assert column_counts([]) == []


class _Table(App[None]):
    def compose(self) -> ComposeResult:
        yield MembersTable(id="members")


def _row(email: str, spend: float, tokens: int) -> MemberRow:
    return MemberRow(email, email, "member", "", False, spend, 10, tokens, None, None, 0)


async def test_the_members_table_never_mixes_units_in_one_column() -> None:
    app = _Table()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(MembersTable)
        table.show([_row("a@x.test", 900.0, 1_034_221), _row("b@x.test", 800.0, 956_182)])
        await pilot.pause()
        tokens = [str(table.get_row(key)[3]).strip() for key in ("a@x.test", "b@x.test")]
        assert tokens == ["1.0M", "1.0M"]  # not "1.0M" above "956,182"
        table.filter("b@")
        await pilot.pause()
        assert str(table.get_row("b@x.test")[3]).strip() == "956,182"


def test_axis_labels_name_their_ticks_exactly_in_one_unit() -> None:
    assert money_axis([0, 200, 400, 600]) == ["$0", "$2", "$4", "$6"]
    assert money_axis([0, 250, 500, 750]) == ["$0", "$2.50", "$5.00", "$7.50"]
    assert money_axis([0, 10, 20]) == ["$0", "$0.10", "$0.20"]
    assert money_axis([0, 1_000_000, 2_000_000]) == ["$0", "$10k", "$20k"]
    assert money_axis([0, 625_000, 1_250_000]) == ["$0", "$6.25k", "$12.50k"]
    assert count_axis([0, 2.5, 5, 7.5]) == ["0", "2.5", "5.0", "7.5"]
    assert count_axis([0, 500, 1000]) == ["0", "500", "1,000"]
    assert count_axis([0, 2_500_000, 5_000_000]) == ["0", "2.5M", "5.0M"]
    assert count_axis([0, 1_250_000]) == ["0", "1.25M"]
