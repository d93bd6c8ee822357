"""The Settings screen's budgets pane driven from the keyboard (Textual's Pilot)."""

from __future__ import annotations

from collections.abc import Callable

from tests.tui.conftest import db_path, make_app, organisation_db, tui_settings
from tests.tui.helpers import settle
from tracker_core.config import Settings
from tracker_core.service import open_tracker
from tracker_tui.app import TrackerApp
from tracker_tui.screens.confirm import ConfirmDialog
from tracker_tui.screens.group_dialogs import TextPrompt
from tracker_tui.screens.settings import SettingsScreen
from tracker_tui.widgets.tables import VimDataTable

__all__ = ["db_path", "make_app", "organisation_db", "tui_settings"]  # the tui fixtures

SIZE = (120, 40)


def stored(settings: Settings) -> list[tuple[str, str, float]]:
    with open_tracker(settings) as tracker:
        return [
            (b["scope"], b["name"], b["amount"]) for b in tracker.budgets().to_json()["budgets"]
        ]


def cells(table: VimDataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


async def test_set_refuse_and_remove_a_budget_from_the_keyboard(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        table = screen.query_one("#budgets", VimDataTable)
        assert "s set" in str(table.border_title) and "x remove" in str(table.border_title)
        assert table.row_count == 0

        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"team 5,000", "enter")
        await settle(pilot)
        assert stored(tui_settings) == [("team", "The team", 5000.0)]
        (row,) = cells(table)
        assert row[:3] == ["The team", "team", "$5,000.00"]

        # A bad amount is refused in the core's words; the stored budget is kept.
        await pilot.press("s", *"team -5", "enter")
        await settle(pilot)
        shown = [str(n.message) for n in app._notifications]
        assert any("budget amount '-5' is negative" in message for message in shown)
        assert stored(tui_settings) == [("team", "The team", 5000.0)]

        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert stored(tui_settings) == []
        assert table.row_count == 0


async def test_a_members_drilldown_shows_their_budget(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    from tracker_tui.screens.member import MemberScreen

    with open_tracker(tui_settings) as tracker:
        email = tracker.stats(days=30).to_json()["users"][0]["email"]
        tracker.set_budget("member", email, "1", actor="test")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(MemberScreen(email))
        await settle(pilot)
        shown = app.screen.query_one("#member-budget")
        assert shown.display
        text = str(shown.render())
        assert text.startswith("Budget $1.00 per cycle · spent $")
        assert " %)" in text


async def test_the_overviews_cycle_tile_shows_the_team_budget_percentage(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    from tracker_tui.widgets.tiles import Tile

    with open_tracker(tui_settings) as tracker:
        tracker.set_budget("team", None, "100", actor="test")
        percent = tracker.budgets().to_json()["budgets"][0]["percent"]
    assert percent > 100
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await settle(pilot)
        tile = app.screen.query_one("#tile-cycle", Tile)
        assert f"{percent} % of budget" in str(tile.render())
        assert tile.has_class("-warn")
