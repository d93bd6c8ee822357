"""The pickers (group, range, status): opened from the keyboard or the mouse, and what follows.

What is asserted is what a person reads: the picker's painted line, the open list, the table's
title and cells, the tiles. A ``Picker`` is also tried alone, for when it posts ``Changed``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import OptionList

from tests.tui.helpers import help_text, open_members, settle
from tracker_core.config import Settings
from tracker_core.storage import open_database
from tracker_core.storage import tables as t
from tracker_core.views.groups import GroupOption
from tracker_tui.app import TrackerApp
from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.members import MembersScreen
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.widgets.picker import Picker, PickerScreen
from tracker_tui.widgets.tables import MembersTable, VimDataTable

AppFactory = Callable[[], TrackerApp]
SIZE = (120, 40)
GROUP_COLUMN = "Group"


def painted(widget: Widget) -> str:
    """The widget's content lines as painted (inside its border and padding)."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def picker_line(app: App[None], selector: str) -> str:
    """The picker's line with its runs of spaces (before the right-aligned arrow) as one."""
    return " ".join(painted(app.screen.query_one(selector, Picker)).split())


def open_list(app: App[None]) -> tuple[str, list[str], str]:
    """The open picker list: its title, every label, and the highlighted label."""
    assert isinstance(app.screen, PickerScreen), type(app.screen).__name__
    choices = app.screen.query_one(OptionList)
    labels = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
    assert choices.highlighted is not None
    return str(choices.border_title), labels, labels[choices.highlighted]


def column(table: VimDataTable, index: int | str) -> list[str]:
    """One column's cells, top to bottom, as text; by position, or by key (members table)."""
    if isinstance(index, str):
        return [str(cell) for cell in table.get_column(index)]
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


def groups_of(app: App[None]) -> list[GroupOption]:
    screen = app.screen
    assert isinstance(screen, MembersScreen) and screen.data is not None
    return screen.data.groups


async def pick(pilot: Pilot[None], label: str) -> None:
    """In the open list, move down to ``label`` with the keys and press Enter."""
    _title, labels, current = open_list(pilot.app)
    for _ in range(labels.index(label) - labels.index(current)):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


# --- the billing-group filter ------------------------------------------------------------------


async def test_b_picks_a_group_and_the_members_table_follows(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        everyone = table.row_count
        assert "Group: All groups ▾" in picker_line(app, "#group")
        group = max(groups_of(app), key=lambda g: (0 < g.members < everyone, g.members))
        label = f"{group.name} ({group.members})"

        await pilot.press("b")
        title, labels, current = open_list(app)
        assert title == "Group"
        assert labels[0] == "All groups" and label in labels
        assert current == "All groups"
        await pick(pilot, label)

        assert isinstance(app.screen, MembersScreen)
        assert f"Group: {group.name}" in picker_line(app, "#group")
        groups = column(table, GROUP_COLUMN)
        assert groups and set(groups) == {group.name}
        assert len(groups) < everyone
        assert table.border_title == f"Members, last 30 days ({len(groups)} shown)"
        assert app.focused is table  # the list closed, the keys go back to the table


async def test_escape_closes_the_group_list_without_a_change(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        before = column(table, GROUP_COLUMN)
        await pilot.press("b", "down", "down")
        assert open_list(app)[2] != "All groups"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MembersScreen)
        assert "Group: All groups ▾" in picker_line(app, "#group")
        assert column(table, GROUP_COLUMN) == before
        assert len(set(before)) > 1


async def test_the_overview_tiles_follow_the_group(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        members_tile = app.screen.query_one("#tile-members")
        everyone = app.screen.query_one(MembersTable).row_count
        assert f"/ {everyone}" in painted(members_tile)
        group = min((g for g in groups_of(app) if g.members), key=lambda g: g.members)

        await pilot.press("b")
        await pick(pilot, f"{group.name} ({group.members})")

        table = app.screen.query_one(MembersTable)
        assert set(column(table, GROUP_COLUMN)) == {group.name}
        assert f"/ {table.row_count}" in painted(members_tile)
        assert table.row_count < everyone
        spend = sum(row.spend_cents for row in table.shown_rows())
        assert f"${spend / 100:,.2f}" in painted(app.screen.query_one("#tile-spend"))


async def test_the_members_tile_says_how_many_of_its_total_were_removed(
    make_app: AppFactory, tui_settings: Settings
) -> None:
    """The total counts removed members whose spend is in the window, so it moves with the
    range: the tile says how many, where it has the room, rather than leave a gap unexplained."""
    top = make_app()
    async with top.run_test(size=SIZE) as pilot:
        await settle(pilot)
        spender = top.screen.query_one(MembersTable).shown_rows()[0].email
    engine = open_database(tui_settings.database.url)
    with engine.begin() as conn:
        conn.execute(update(t.members).where(t.members.c.email == spender).values(is_removed=True))
    engine.dispose()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tile = painted(app.screen.query_one("#tile-members"))
        removed = sum(row.is_removed for row in app.screen.query_one(MembersTable).shown_rows())
        assert removed >= 1 and f"active / total, {removed} removed" in tile
    narrow = make_app()
    async with narrow.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tile = painted(narrow.screen.query_one("#tile-members"))
        assert "active / total" in tile and "…" not in tile


async def test_help_lists_b_for_the_group_filter(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert any(
            line.split()[:2] == ["b", "Group:"] for line in help_text(app.screen).splitlines()
        )


# --- the time range and the status filter ------------------------------------------------------


async def test_t_moves_the_overview_to_the_next_range(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(MembersTable)
        assert str(table.border_title).startswith("Members, last 30 days")
        assert "Range: 30 days ▾" in picker_line(app, "#range")
        await pilot.press("t")
        await settle(pilot)
        assert "Range: 90 days ▾" in picker_line(app, "#range")
        assert str(table.border_title).startswith("Members, last 90 days")
        assert "last 90 days" in painted(app.screen.query_one("#tile-spend"))
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.data is not None
        assert screen.data.days == 90  # reloaded, not just relabelled
        await pilot.press("t")
        await settle(pilot)
        assert str(table.border_title).startswith("Members, last 7 days")


async def test_t_moves_insights_to_the_next_range(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, InsightsScreen)
        lines = app.screen.query_one("#tile-lines")
        assert "last 30 days" in painted(lines)
        await pilot.press("t")
        await settle(pilot)
        assert "Range: 90 days ▾" in picker_line(app, "#range")
        assert "last 90 days" in painted(lines)
        assert app.screen.data is not None and app.screen.data.days == 90


async def test_f_cycles_the_status_filter_and_the_queue_follows(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        queue = app.screen.query_one("#queue", VimDataTable)
        assert "Status: active ▾" in picker_line(app, "#status-filter")
        seen: dict[str, int] = {}
        for status in ("open", "alerted", "acknowledged", "resolved", "all"):
            await pilot.press("f")
            await settle(pilot)
            assert f"Status: {status} ▾" in picker_line(app, "#status-filter")
            assert str(queue.border_title) == f"Queue, {status} ({queue.row_count})"
            if status != "all":
                assert set(column(queue, 2)) <= {status}
            seen[status] = queue.row_count
        assert seen["open"] > 0
        assert seen["all"] >= sum(n for s, n in seen.items() if s != "all")


# --- the mouse ---------------------------------------------------------------------------------


async def test_a_click_opens_the_list_and_a_click_picks(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.click("#range")
        await pilot.pause()
        assert open_list(app) == ("Range", ["7 days", "30 days", "90 days"], "30 days")
        await pilot.click(OptionList, offset=(3, 1))  # the first option, under the border
        await settle(pilot)
        assert isinstance(app.screen, MembersScreen)
        assert "Range: 7 days ▾" in picker_line(app, "#range")
        table = app.screen.query_one(MembersTable)
        assert str(table.border_title).startswith("Members, last 7 days")


# --- the widget alone --------------------------------------------------------------------------


class PickerApp(App[None]):
    """One picker, and every ``Changed`` it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[tuple[Picker[int], int]] = []

    def compose(self) -> ComposeResult:
        yield Picker[int]("Range", [("7 days", 7), ("30 days", 30)], 30, id="range")

    def on_picker_changed(self, event: Picker.Changed[int]) -> None:
        self.changes.append((event.control, event.value))


async def test_only_a_new_value_posts_changed() -> None:
    app = PickerApp()
    async with app.run_test(size=(40, 5)) as pilot:
        picker = app.query_one(Picker)
        assert painted(picker).strip() == "Range: 30 days ▾"

        picker.set_options([("7 days", 7), ("30 days", 30), ("90 days", 90)], value=90)
        await pilot.pause()
        assert painted(picker).strip() == "Range: 90 days ▾"
        assert app.changes == []

        picker.value = 90
        await pilot.pause()
        assert app.changes == []

        picker.value = 7
        await pilot.pause()
        assert app.changes == [(picker, 7)]
        assert painted(picker).strip() == "Range: 7 days ▾"

        with pytest.raises(ValueError, match="365"):
            picker.value = 365
        assert picker.value == 7


async def test_enter_opens_the_list_and_escape_keeps_the_value() -> None:
    app = PickerApp()
    async with app.run_test(size=(40, 10)) as pilot:
        picker = app.query_one(Picker)
        picker.focus()
        await pilot.press("enter")
        assert open_list(app) == ("Range", ["7 days", "30 days"], "30 days")
        await pilot.press("up", "escape")
        assert app.screen is app.screen_stack[0]
        assert picker.value == 30 and app.changes == []
        await pilot.press("space", "up", "enter")
        await pilot.pause()
        assert picker.value == 7 and app.changes == [(picker, 7)]
        assert app.focused is picker


class NarrowPickerApp(App[None]):
    CSS = "Picker { width: 26; }"

    def compose(self) -> ComposeResult:
        options = [("All groups", "*"), ("Engineering > Platform (9)", "platform")]
        yield Picker[str]("Group", options, "platform")


async def test_a_long_label_keeps_its_end_and_the_arrow_stays_right() -> None:
    app = NarrowPickerApp()
    async with app.run_test(size=(40, 5)) as pilot:
        picker = app.query_one(Picker)
        assert painted(picker) == "Group: …Platform (9)   ▾"
        picker.value = "*"
        await pilot.pause()
        assert painted(picker) == "Group: All groups      ▾"
