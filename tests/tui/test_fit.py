"""What the console's tiles, bars, tables and charts show at 80x24: nothing cut out of sight."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.geometry import Size

from tests.tui.helpers import open_members, settle
from tracker_tui.app import TrackerApp
from tracker_tui.format import money_short
from tracker_tui.widgets.charts import render_bars
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
