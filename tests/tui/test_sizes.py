"""The console at the sizes people open it at: what the keys move stays on screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.tui.helpers import settle
from tracker_tui.app import TrackerApp
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import MembersTable, VimDataTable

AppFactory = Callable[[], TrackerApp]


def cursor_line(table: VimDataTable) -> int:
    """The screen line the highlighted row is drawn on."""
    row = table._get_row_region(table.cursor_row)
    return table.region.y + table.gutter.top + row.y - round(table.scroll_y)


def on_screen(table: VimDataTable) -> bool:
    """The highlighted row is inside the table's box and inside the pane that holds it."""
    line = cursor_line(table)
    pane = next(node for node in table.ancestors if isinstance(node, VimScroll))
    inside_table = table.region.y + table.gutter.top <= line < table.region.bottom - 1
    return inside_table and pane.content_region.y <= line < pane.content_region.bottom


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (100, 30)])
async def test_the_overview_follows_the_members_cursor_below_the_fold(
    make_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.query_one(MembersTable)
        pane = app.screen.query_one("#overview-body", VimScroll)
        assert app.focused is table and pane.scroll_y == 0  # the tiles show at the start
        for _ in range(15):
            await pilot.press("j")
            await pilot.pause()
            assert on_screen(table), (table.cursor_row, pane.scroll_y)
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_row == 0 and on_screen(table)
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1 and on_screen(table)
