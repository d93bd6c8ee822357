"""What the console's tiles, bars, tables and charts show at 80x24: nothing cut out of sight."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.geometry import Size

from tests.tui.helpers import open_members, settle
from tracker_tui.app import TrackerApp
from tracker_tui.format import money_short
from tracker_tui.widgets.charts import render_bars
from tracker_tui.widgets.tables import COLUMNS, VimDataTable
from tracker_tui.widgets.tiles import Tile

AppFactory = Callable[[], TrackerApp]
SMALL = (80, 24)


def test_bars_with_alike_labels_keep_them_apart() -> None:
    bars = [
        ("claude-4.5-sonnet-thinking", 26_000.0),
        ("claude-4.5-sonnet", 18_000.0),
        ("Bianca Ferreira", 9_000.0),
        ("Bianca Fernandes", 8_000.0),
    ]
    lines = render_bars(bars, money_short, Size(24, 6), "blue").plain.splitlines()
    labels = [re.split(" +[█▏▎▍▌▋▊▉]", line)[0] for line in lines]
    assert len(set(labels)) == 4, labels
    assert all("…" in label for label in labels), labels  # narrow enough to need shortening
    assert all(line.rstrip().endswith(("$260", "$180", "$90", "$80")) for line in lines)


async def test_a_rank_past_nine_shows_whole_on_the_member_tile(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        for _ in range(11):  # the twelfth spender
            await pilot.press("j")
        assert table.selected_key() is not None
        await pilot.press("enter")
        await settle(pilot)
        spend = app.screen.query_one("#tile-spend", Tile)
        who = app.screen.query_one("#tile-who", Tile)
        note = spend.render().plain.splitlines()[1]
        assert note == "rank 12" or note.endswith("rank 12"), note
        group = who.render().plain.splitlines()[1]  # "Engineering > Mobile", both ends kept
        assert group.startswith("Engin") and group.endswith("Mobile"), group


async def test_the_members_table_at_80_columns_shows_what_fits_and_names_the_rest(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        shown = [COLUMNS[i].label for i in table.shown_columns]
        assert shown[:2] == ["Name", "Spend"] and "Incidents" in shown
        hidden = [column.label for column in COLUMNS if column.label not in shown]
        assert hidden, "80 columns cannot hold all nine"
        assert str(table.border_subtitle) == f"+{len(hidden)} columns: {', '.join(hidden)}"
        # Nothing to scroll sideways to: every column shown is on screen whole.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        visited = set()
        for _ in range(len(COLUMNS)):
            await pilot.press("s")
            visited.add(COLUMNS[table.sort_column].label)
        assert visited == set(shown)


async def test_a_refresh_keeps_the_highlighted_row_and_the_scroll(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        await pilot.press("s")  # sorted by a column other than the default
        sort = (table.sort_column, table.sort_reverse)
        for _ in range(18):
            await pilot.press("j")
        for _ in range(6):  # back up: the highlight mid-screen, the view still scrolled
            await pilot.press("k")
        await settle(pilot)
        selected, scrolled = table.selected_key(), table.scroll_y
        assert scrolled > 0
        loads = app.screen.loads
        await pilot.press("space")  # what the 30-second refresh does
        await settle(pilot)
        assert app.screen.loads == loads + 1
        assert table.selected_key() == selected
        assert table.scroll_y == scrolled
        assert (table.sort_column, table.sort_reverse) == sort


class WideTable(App[None]):
    def compose(self) -> ComposeResult:
        yield VimDataTable()

    def on_mount(self) -> None:
        table = self.query_one(VimDataTable)
        table.add_columns(*(f"column {n}" for n in range(12)))
        table.replace_rows(ROWS)


ROWS = [(f"row {r}", [f"cell {r}.{n}" for n in range(12)]) for r in range(40)]


async def test_refilling_a_table_keeps_a_sideways_scroll() -> None:
    app = WideTable()
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(VimDataTable)
        await pilot.pause()
        table.scroll_to(x=40, animate=False, immediate=True)
        for _ in range(5):
            await pilot.press("j")
        await pilot.pause()
        assert table.scroll_x == 40
        table.replace_rows(ROWS[::-1])  # new data, the highlighted row elsewhere
        await pilot.pause()
        await pilot.pause()
        assert table.scroll_x == 40
        assert table.selected_key() == "row 5"
