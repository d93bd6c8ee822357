"""The key bar at the bottom: which keys it shows, where, and that a click on one presses it.

What is asserted is the bar's painted line (``render_line``), i.e. what the terminal shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.screen import Screen

from tests.tui.helpers import settle
from tracker_tui.app import TrackerApp
from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.widgets.keybar import KeyBar

AppFactory = Callable[[], TrackerApp]
SIZE = (120, 40)
PALETTE = "▏ ^p palette "


def bar_line(app: App[None]) -> str:
    """The bottom line as painted."""
    return app.screen.query_one(KeyBar).render_line(0).text


async def click_key(pilot: Pilot[None], display: str) -> None:
    """Click the bar on the key shown as ``display``."""
    line = bar_line(pilot.app)
    assert f" {display} " in line, line
    await pilot.click(KeyBar, offset=(line.index(f" {display} ") + 1, 0))


async def test_the_bar_lists_the_screens_keys_then_the_apps(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        line = bar_line(app)
        expected = " / Search  s Sort  t 7/30/90d  ? Help  q Back/Quit  1 Overview "
        assert line.startswith(expected), line
        assert " space " not in line  # show=False bindings stay off the bar
        assert line.endswith(PALETTE)
        assert len(line) == SIZE[0]
        bar = app.screen.query_one(KeyBar)
        assert bar.region.y == SIZE[1] - 1 and bar.region.height == 1


async def test_the_bar_follows_the_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        line = bar_line(app)
        assert line.startswith(" a Acknowledge  r Resolve  f Filter  ? Help  q Back/Quit "), line
        assert "Search" not in line
        await pilot.press("1")
        await settle(pilot)
        line = bar_line(app)
        assert "Acknowledge" not in line
        assert " / Search " in line


async def test_clicking_a_key_presses_it(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click_key(pilot, "2")
        await settle(pilot)
        assert isinstance(app.screen, InsightsScreen)
        assert app.screen.data is not None
        assert " 2 Insights " in bar_line(app)
        # Shown as "?", bound as "question_mark": the click presses the bound key.
        await click_key(pilot, "?")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_clicking_between_keys_does_nothing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = bar_line(app)
        gap = line.rindex(" ", 0, line.index("▏"))  # the padding before the palette key
        await pilot.click(KeyBar, offset=(gap, 0))
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)


async def test_a_narrow_terminal_crops_whole_keys_and_keeps_the_palette(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        assert bar.region.height == 1 and bar.region.y == 23
        line = bar_line(app)
        assert len(line) == 80
        assert line.endswith(PALETTE)
        shown = line[: -len(PALETTE)].rstrip()
        assert shown == " / Search  s Sort  t 7/30/90d  ? Help  q Back/Quit  1 Overview"
        assert "Insights" not in line  # no longer fits, and is not wrapped onto a second line


class FlagScreen(Screen[None]):
    """A screen whose ``x`` key is enabled, disabled (dimmed) or hidden by a flag."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "ex", "Ex"),
        Binding("y", "why", "Why"),
        Binding("z", "why", "Zed"),  # same action: only the first binding is shown
        Binding("w", "hidden", "Hidden", show=False),
    ]
    x_state: bool | None = True

    def compose(self) -> ComposeResult:
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.x_state if action == "ex" else True

    def action_why(self) -> None:
        self.app.notify("why pressed")


class FlagApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(FlagScreen())


def dimmed(app: App[None], words: str) -> set[bool]:
    """For each painted piece of the bar that is one of ``words``: is it drawn dim?"""
    pieces = [s for s in app.screen.query_one(KeyBar).render_line(0) if s.text.strip()]
    found = [s for s in pieces if s.text.strip() in words.split()]
    assert len(found) == len(words.split()), f"{words!r} is not on the bar"
    return {bool(s.style and s.style.dim) for s in found}


async def test_the_bar_redraws_when_the_bindings_change() -> None:
    app = FlagApp()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FlagScreen)
        assert bar_line(app).startswith(" x Ex  y Why  ")
        assert "Zed" not in bar_line(app) and "Hidden" not in bar_line(app)
        assert dimmed(app, "x Ex") == dimmed(app, "y Why") == {False}

        screen.x_state = None  # disabled: still shown, dimmed
        screen.refresh_bindings()
        await pilot.pause()
        assert bar_line(app).startswith(" x Ex  y Why  ")
        assert dimmed(app, "x Ex") == {True}
        assert dimmed(app, "y Why") == {False}

        screen.x_state = False  # hidden
        screen.refresh_bindings()
        await pilot.pause()
        assert bar_line(app).startswith(" y Why  ")

        await click_key(pilot, "y")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["why pressed"]


async def test_on_a_small_terminal_help_and_quit_stay_and_can_be_clicked(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        line = bar_line(app)
        assert len(line) == 60 and line.endswith(PALETTE)
        assert " ? Help " in line and " q Back/Quit " in line, line
        assert line.index(" / Search ") < line.index(" ? Help ") < line.index(" q Back/Quit ")
        await pilot.press("3", "enter")
        await settle(pilot)
        line = bar_line(app)
        assert " esc Back " in line and " ? Help " in line and " q Back/Quit " in line, line
        await click_key(pilot, "q")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen) and app.screen_stack[-1] is app.screen
        assert type(app.screen).__name__ == "MembersScreen"
