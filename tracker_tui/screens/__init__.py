"""One module per screen; the app registers them as modes."""

from __future__ import annotations

from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.member import MemberScreen
from tracker_tui.screens.members import MembersScreen
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.screens.settings import SettingsScreen

__all__ = [
    "HelpScreen",
    "IncidentsScreen",
    "InsightsScreen",
    "MemberScreen",
    "MembersScreen",
    "OverviewScreen",
    "SettingsScreen",
]
