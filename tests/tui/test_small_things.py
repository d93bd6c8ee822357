"""The console's smaller manners at 80x24: help, search, timeline, drilldown, empty states."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from tests.tui.helpers import FIXED_NOW, help_text, open_members, settle
from tracker_core import incidents
from tracker_core.storage import begin_write, open_database
from tracker_tui.app import TrackerApp
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.member import MemberScreen
from tracker_tui.widgets.tables import MembersTable, VimDataTable

AppFactory = Callable[[], TrackerApp]
SMALL = (80, 24)


async def test_help_shows_keys_as_typed_aligned_with_tab_and_the_palette(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await open_members(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = help_text(app.screen)
    rows = [re.match(r" (\S+)\s+(\S)", line) for line in text.splitlines()]
    keys = {m.group(1): m.start(2) for m in rows if m is not None}
    assert "/" in keys and "slash" not in keys
    assert "^p" in keys and "tab" in keys
    assert "incident queue and its timeline" in " ".join(text.split())
    assert len(set(keys.values())) == 1, keys  # one description column for every table


async def test_the_search_placeholder_fits_at_80_columns(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await open_members(pilot)
        search = app.screen.query_one("#filter", Input)
        assert len(search.placeholder) < search.content_size.width, search.content_size


async def test_a_search_on_the_overview_shows_every_match(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(MembersTable)
        table.limit = 5  # the fixed team is smaller than the overview's real limit
        table.filter("")
        assert table.row_count == 5
        await pilot.press("slash", *"example")
        await settle(pilot)
        matching = len(table.shown_rows())
        assert matching > 5
        assert table.row_count == matching
        assert "top" not in str(table.border_title)
        assert f"{matching} matches" in str(table.border_title)


async def test_each_timeline_starts_at_its_top(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        await settle(pilot)
        detail = app.screen.query_one("#incident-detail", VerticalScroll)
        await pilot.press("tab", "end")
        await pilot.wait_for_scheduled_animations()
        assert detail.scroll_y == detail.max_scroll_y > 0
        await pilot.press("shift+tab", "j")
        await pilot.pause()
        assert detail.scroll_y == 0


def resolve_elsewhere(db_path: Path, incident_id: int) -> None:
    engine = open_database(f"sqlite:///{db_path}")
    try:
        with begin_write(engine) as conn:
            incidents.resolve(conn, incident_id, now=FIXED_NOW)
    finally:
        engine.dispose()


async def test_enter_on_an_anomaly_opens_its_incident_even_when_resolved(
    make_app: AppFactory, db_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, IncidentsScreen)
        view = queue.selected()
        assert view is not None
        resolve_elsewhere(db_path, view.id)  # out of the "active" filter the queue shows

        table = await open_members(pilot)
        emails = [row.email for row in table.shown_rows()]
        await pilot.press(*["j"] * emails.index(view.email), "enter")
        await settle(pilot)
        member = app.screen
        assert isinstance(member, MemberScreen) and member.email == view.email
        history = member.query_one("#member-incidents", VimDataTable)
        history.focus()
        history.move_cursor(row=history.get_row_index(str(view.id)))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is queue
        assert queue.status == "all"
        shown = queue.selected()
        assert shown is not None and shown.id == view.id and shown.status == "resolved"


async def test_empty_anomaly_history_and_empty_filter_say_so(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IncidentsScreen) and screen.data is not None
        flagged = {view.email for view in screen.data.queue}
        await pilot.press("f", "f", "f")  # active -> open -> alerted -> acknowledged
        await settle(pilot)
        assert screen.status == "acknowledged" and screen.data.queue == []
        story = str(screen.query_one("#timeline", Static).content)
        assert story.startswith("No acknowledged incidents.")
        assert "f shows the next filter (resolved)" in story

        table = await open_members(pilot)
        quiet = next(i for i, row in enumerate(table.shown_rows()) if row.email not in flagged)
        await pilot.press(*["j"] * quiet, "enter")
        await settle(pilot)
        member = app.screen
        assert isinstance(member, MemberScreen)
        assert member.data is not None and member.data.incidents == []
        assert not member.query_one("#member-incidents").display
        note = member.query_one("#no-anomalies", Static)
        assert note.display and "never opened an incident" in str(note.content)


async def test_an_anomalys_whole_message_shows_under_the_history_at_80_columns(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, IncidentsScreen) and queue.data is not None
        # The member with the most anomalies, so the cursor has somewhere to go.
        counts: dict[str, int] = {}
        for view in queue.data.queue:
            counts[view.email] = counts.get(view.email, 0) + 1
        email = max(counts, key=lambda e: (counts[e], e))
        table = await open_members(pilot)
        emails = [row.email for row in table.shown_rows()]
        await pilot.press(*["j"] * emails.index(email), "enter")
        await settle(pilot)
        member = app.screen
        assert isinstance(member, MemberScreen) and member.data is not None
        history = member.query_one("#member-incidents", VimDataTable)
        history.focus()
        for row, view in enumerate(member.data.incidents):
            history.move_cursor(row=row)
            await pilot.pause()
            shown = str(member.query_one("#anomaly-message", Static).render())
            # Every word of the message, figures whole, whatever the terminal's width.
            assert " ".join(shown.split()) == f"#{view.id}: {view.message}"
            assert len(view.message) > 40  # longer than any column 80 columns could give it
