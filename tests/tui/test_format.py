"""The console's own wording: alert deliveries, and a table column in one unit.

The figures themselves (money, counts, ages) are tested in tests/core/test_formatting.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from tracker_core.incidents import Announcement
from tracker_core.views.overview import MemberRow
from tracker_tui.screens.incidents import announcement_line
from tracker_tui.widgets.tables import MembersTable


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
