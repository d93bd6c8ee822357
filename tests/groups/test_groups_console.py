"""The console's groups pane driven from the keyboard (Textual's Pilot) on a collected team."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from tests.tui.conftest import db_path, make_app, organisation_db, tui_settings
from tests.tui.helpers import open_members, settle
from tracker_core.config import Settings
from tracker_core.service import open_tracker
from tracker_tui.app import TrackerApp
from tracker_tui.screens.group_dialogs import ImportDialog, TextPrompt
from tracker_tui.screens.members import MembersScreen
from tracker_tui.screens.settings import SettingsScreen
from tracker_tui.widgets.picker import Picker, PickerScreen
from tracker_tui.widgets.tables import VimDataTable

__all__ = ["db_path", "make_app", "organisation_db", "tui_settings"]  # the tui fixtures

SIZE = (120, 40)


def names(settings: Settings) -> dict[str, str]:
    """Email -> group name, as every face reads it."""
    with open_tracker(settings) as tracker:
        return {e: r.group.name for r in tracker.groups().groups for e in r.emails}


async def type_text(pilot: object, text: str) -> None:
    await pilot.press(*text)  # type: ignore[attr-defined]


async def test_a_new_group_is_highlighted_and_the_next_keys_act_on_it(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    """At 80x24, from the page (not the table): after n and a name, the pane's table has the
    keys and its highlight is on the new group, so a moves a member into that group."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#groups", VimDataTable)
        assert app.focused is not table
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Zed > Night")
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is table
        assert table.selected_key() == tracker_group_id(tui_settings, "Zed > Night")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        assert "Zed > Night" in str(app.screen.prompt)
        moved = app.screen.options[0][1]
        await pilot.press("enter")
        await settle(pilot)
        assert names(tui_settings)[moved] == "Zed > Night"


def tracker_group_id(settings: Settings, name: str) -> str | None:
    with open_tracker(settings) as tracker:
        found = tracker.groups().find(name)
    return None if found is None else found.group.id


async def test_create_assign_rename_and_undo_from_the_keyboard(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert "r rename" in str(screen.query_one("#groups", VimDataTable).border_title)

        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await type_text(pilot, "Crew > Deck")
        await pilot.press("enter")
        await settle(pilot)
        with open_tracker(tui_settings) as tracker:
            created = tracker.groups().find("Crew > Deck")
        assert created is not None and created.source == "local"

        # Highlight the new group, then move a member into it with the picker.
        table = screen.query_one("#groups", VimDataTable)
        assert screen.data is not None
        row = [r.group.id for r in screen.data.groups].index(created.group.id)
        table.move_cursor(row=row)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        moved = app.screen.options[0][1]
        await pilot.press("enter")
        await settle(pilot)
        assert names(tui_settings)[moved] == "Crew > Deck"

        await pilot.press("r")
        await settle(pilot)
        field = app.screen.query_one(Input)
        await pilot.press("end", *["backspace"] * len(field.value))
        await type_text(pilot, "Crew > Bridge")
        await pilot.press("enter")
        await settle(pilot)
        assert names(tui_settings)[moved] == "Crew > Bridge"

        before_edits = names(tui_settings)
        await pilot.press("u", "u")
        await settle(pilot)
        after = names(tui_settings)
        assert moved in before_edits and after[moved] != "Crew > Deck"
        assert "Crew > Deck" not in after.values() and "Crew > Bridge" not in after.values()


async def test_an_import_is_previewed_ticked_and_applied(
    make_app: Callable[[], TrackerApp], tui_settings: Settings, tmp_path: Path
) -> None:
    emails = sorted(names(tui_settings))[:4]
    csv = tmp_path / "bob.csv"
    csv.write_text("Email,Department,Team\n" + "".join(f"{email},Crew,Deck\n" for email in emails))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await type_text(pilot, str(csv))
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ImportDialog)
        assert {m.email for m in dialog.plan.moves} == set(emails)
        assert dialog.ticked == set(emails)
        await pilot.press("x")  # untick the first move
        await settle(pilot)
        assert len(dialog.ticked) == 3
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ImportDialog)
    placed = names(tui_settings)
    assert sorted(e for e in emails if placed[e] == "Crew > Deck") == sorted(dialog.ticked)


async def test_the_members_filter_takes_every_team_of_a_parent(
    make_app: Callable[[], TrackerApp], tui_settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        screen = app.screen
        assert isinstance(screen, MembersScreen)
        picker = screen.query_one("#group", Picker)
        parents = [value for _, value in picker.options if value.startswith("parent:")]
        assert parents, "the simulated organisation has parents of several teams"
        picker.value = parents[0]
        await settle(pilot)
        parent = parents[0].removeprefix("parent:")
        shown = {str(cell) for cell in table.get_column("Group")}
        assert shown and all(name.startswith(parent + " > ") for name in shown)
        with open_tracker(tui_settings) as tracker:
            expected = tracker.overview(days=30, group_id=parents[0])
        assert table.row_count == len(expected.members)
        assert len({name for name in shown}) > 1  # more than one team
