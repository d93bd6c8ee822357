"""The console at the sizes people open it at: what the keys move stays on screen."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from time import monotonic

import pytest
from sqlalchemy import create_engine, select, update
from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from tests.tui.helpers import FIXED_NOW, SIM_KEY, open_members, settle
from tests.tui.test_picker import open_list, painted, pick, picker_line
from tracker_core.formatting import count_axis, money_axis
from tracker_core.jobs.collect import simulator_settings
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import tables as t
from tracker_tui.app import TrackerApp
from tracker_tui.screens.member import MemberScreen
from tracker_tui.widgets.charts import AxisFormatter, LineChart
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.status import TopBar
from tracker_tui.widgets.tables import COLUMNS, MembersTable, VimDataTable
from tracker_tui.widgets.tiles import Tile

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
            assert table.region.y >= pane.content_region.y  # its header with it
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_row == 0 and on_screen(table)
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1 and on_screen(table)
        await pilot.press("g")
        for _ in range(9):  # a burst, as key repeat delivers it: every press counts
            app.post_message(events.Key("j", "j"))
        await pilot.pause()
        await pilot.pause()
        assert table.cursor_row == 9 and on_screen(table)


def lengthen_names(db_path: Path) -> dict[str, str]:
    """Every member renamed to one long name sharing its first 39 characters with the others."""
    engine = create_engine(f"sqlite:///{db_path}")
    names: dict[str, str] = {}
    with engine.begin() as conn:
        for (email,) in conn.execute(select(t.members.c.email)):
            names[email] = f"Maximilian Alexander Featherstonehaugh-{email.split('@')[0]}"
            conn.execute(
                update(t.members).where(t.members.c.email == email).values(name=names[email])
            )
    engine.dispose()
    return names


@pytest.mark.parametrize("width", [80, 100])
async def test_long_names_leave_room_for_the_figures_and_stay_distinct(
    make_app: AppFactory, db_path: Path, width: int
) -> None:
    names = lengthen_names(db_path)
    app = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        table = await open_members(pilot)
        shown = [COLUMNS[index].label for index in table.shown_columns]
        assert {"Name", "Spend", "Incidents", "Last active"} <= set(shown), shown
        assert table.size.width >= table.virtual_size.width  # no sideways scrolling
        cells = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert len(set(cells)) == len(cells) == len(names)
        assert all(cell.startswith("Maxim") and "…" in cell for cell in cells)
        await pilot.press("slash", *"featherstonehaugh-", "enter")  # the search sees whole names
        await settle(pilot)
        assert table.row_count == len(names)


def tiles_apart_on_screen(app: TrackerApp) -> list[Region]:
    """The screen's tiles, each checked to be inside the screen and clear of the others."""
    regions = [tile.region for tile in app.screen.query(Tile)]
    width = app.screen.size.width
    for index, region in enumerate(regions):
        assert region.x >= 0 and region.right <= width, region
        assert region.width >= 16, region
        assert not any(region.overlaps(other) for other in regions[index + 1 :]), regions
    return regions


@pytest.mark.parametrize("width", [60, 64])
async def test_four_tiles_all_show_on_a_terminal_too_narrow_for_one_row(
    make_app: AppFactory, width: int
) -> None:
    app = make_app()
    async with app.run_test(size=(width, 20)) as pilot:
        await settle(pilot)
        assert len(tiles_apart_on_screen(app)) == 4
        await open_members(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        assert len(tiles_apart_on_screen(app)) == 4
        await pilot.press("q")
        await settle(pilot)
        await pilot.resize_terminal(100, 30)  # wide again: one row of four
        await pilot.press("1")
        await settle(pilot)
        assert len({region.y for region in tiles_apart_on_screen(app)}) == 1


def refusing_url() -> str:
    """A loopback address nothing listens on: every connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_a_collection_that_cannot_connect_says_so_not_rate_limit(db_path: Path) -> None:
    settings = simulator_settings(refusing_url(), "wrong-key", f"sqlite:///{db_path}")
    app = TrackerApp(settings, clock=lambda: FIXED_NOW, refresh_seconds=3600)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        deadline = monotonic() + 10
        while app.activity.wait is None and monotonic() < deadline:
            await pilot.pause(0.05)
        words = app.activity.line(monotonic())
        assert "to retry after ConnectError" in words, words
        assert "rate limit" not in words
        assert "ConnectError" in str(app.screen.query_one(TopBar).render())
        await pilot.press("q", "q")  # stop it and quit at once
    app.tracker.close()


async def test_a_rejected_key_reads_as_a_failed_collection_and_keeps_the_figures(
    db_path: Path,
) -> None:
    scenario = generate_scenario(users=10, days=9, seed=2, now=FIXED_NOW)
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=False) as url:
        settings = simulator_settings(url, "not-the-key", f"sqlite:///{db_path}")
        app = TrackerApp(settings, clock=lambda: FIXED_NOW, refresh_seconds=3600)
        async with app.run_test(size=(100, 30)) as pilot:
            table = await open_members(pilot)
            before = table.row_count
            await pilot.press("c")
            deadline = monotonic() + 10
            while app.collecting and monotonic() < deadline:
                await pilot.pause(0.05)
            await settle(pilot)
            notices = [(n.title, n.severity, n.message) for n in app._notifications]
            assert table.row_count == before > 0
        app.tracker.close()
    failed = [n for n in notices if n[0] == "Collection failed"]
    assert failed and failed[0][1] == "error", notices
    assert "rejected the key (401)" in failed[0][2]
    assert not any(title == "Collection finished" for title, _, _ in notices)


async def test_the_incident_queue_keeps_rule_and_period_beside_a_long_name(
    make_app: AppFactory, db_path: Path
) -> None:
    lengthen_names(db_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        queue = app.screen.query_one("#queue", VimDataTable)
        assert queue.row_count > 1
        assert queue.size.width >= queue.virtual_size.width  # nothing off to the right
        members = [str(queue.get_row_at(row)[3]) for row in range(queue.row_count)]
        assert all(member.startswith("M") and "…" in member for member in members), members
        timeline = str(app.screen.query_one("#timeline", Static).render())
        assert "Maximilian Alexander Featherstonehaugh-" in timeline  # whole in the timeline


class OneChart(App[None]):
    """A single line chart of a small member's days, as the drilldown draws it."""

    def __init__(self, values: list[float], fmt: AxisFormatter) -> None:
        super().__init__()
        self.values = values
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        yield LineChart("Daily spend", fmt=self.fmt)

    def on_mount(self) -> None:
        days = [FIXED_NOW.date() - timedelta(days=n) for n in range(len(self.values))][::-1]
        self.query_one(LineChart).show(days, {"spend": self.values})


@pytest.mark.parametrize(
    ("values", "fmt", "expected"),
    [
        ([0, 120, 744, 300], money_axis, ["$7.50", "$5.00", "$2.50", "$0"]),
        ([0, 12_000 * 100, 30_000], money_axis, ["$12.5k", "$10.0k", "$7.5k", "$5.0k"]),
        ([1, 7, 3], count_axis, ["7.5", "5.0", "2.5", "0"]),
        ([0, 1_200_000], count_axis, ["1.25M", "1.00M", "0.75M"]),
    ],
)
async def test_a_value_axis_names_each_tick_exactly(
    values: list[float], fmt: AxisFormatter, expected: list[str]
) -> None:
    """A $7 peak gets ticks every $2.50: the tick read "$2", a dollar from where it stood."""
    app = OneChart(values, fmt)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        chart = app.query_one(LineChart)
        lines = painted(chart).splitlines()
        labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert all(label in labels for label in expected), labels


async def test_the_hidden_columns_note_counts_in_good_english_at_every_width(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 30)) as pilot:
        table = await open_members(pilot)
        seen: set[int] = set()
        for width in range(80, 236, 6):  # wide enough for every column, the badges too
            await pilot.resize_terminal(width, 30)
            await settle(pilot)
            hidden = [COLUMNS[i].label for i in range(len(COLUMNS)) if i not in table.shown_columns]
            seen.add(len(hidden))
            note = str(table.border_subtitle)
            if not hidden:
                assert note == ""
            elif len(hidden) == 1:
                assert note == f"+1 column: {hidden[0]}", note
            else:
                assert note == f"+{len(hidden)} columns: {', '.join(hidden)}", note
        assert {0, 1} <= seen and max(seen) > 1


async def test_a_narrow_group_picker_still_names_the_group_picked(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await open_members(pilot)
        search = app.screen.query_one("#filter")
        assert search.size.width >= 12  # the search keeps room to type in
        await pilot.press("b")
        _title, labels, _current = open_list(app)
        label = max(labels, key=len)  # "Engineering > Infrastructure (n)"
        await pick(pilot, label)
        await settle(pilot)
        shown = picker_line(app, "#group").removeprefix("Group: ").removesuffix(" ▾")
        assert shown.startswith("…") and label.endswith(shown[1:]), shown
        group = label.rsplit(" (", 1)[0]
        assert len(shown) - len(label) + len(group) - 1 >= 4, shown  # some of the name itself
