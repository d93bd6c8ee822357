"""An action the console cannot carry out is a notification naming why, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.tui.helpers import FIXED_NOW, settle
from tests.tui.test_plain_text import screen_text
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.service import open_tracker
from tracker_tui.app import TrackerApp
from tracker_tui.screens.incidents import IncidentsScreen

AppFactory = Callable[[], TrackerApp]


async def test_acknowledging_an_incident_resolved_elsewhere_says_so(
    make_app: AppFactory, db_path: Path
) -> None:
    """The queue was read before someone resolved the incident from a shell or the dashboard:
    acknowledging it now is refused with the reason, and the console carries on."""
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IncidentsScreen)
        chosen = screen.selected()
        assert chosen is not None and chosen.status == "open"
        settings = Settings(database=DatabaseSettings(url=f"sqlite:///{db_path}"))
        with open_tracker(settings, clock=lambda: FIXED_NOW) as elsewhere:
            elsewhere.resolve(chosen.id)
        await pilot.press("a")
        await settle(pilot)
        shown = ""
        for _ in range(100):  # the toast comes from the worker thread, then is painted
            await pilot.pause(0.05)
            shown = screen_text(app)
            if "Could not" in shown:
                break
        assert "Could not acknowledge" in shown
        assert f"incident #{chosen.id} is already resolved" in shown
        assert app.is_running and isinstance(app.screen, IncidentsScreen)
