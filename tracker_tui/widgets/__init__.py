"""Reusable widgets of the console: tiles, charts, tables, the activity grid, the status line,
the key bar, the pickers."""

from __future__ import annotations

from tracker_tui.widgets.charts import BarChart, LineChart
from tracker_tui.widgets.grid import ActivityGrid
from tracker_tui.widgets.keybar import KeyBar
from tracker_tui.widgets.picker import Picker
from tracker_tui.widgets.status import StatusState, TopBar
from tracker_tui.widgets.tables import MembersTable, VimDataTable
from tracker_tui.widgets.tiles import Tile

__all__ = [
    "ActivityGrid",
    "BarChart",
    "KeyBar",
    "LineChart",
    "MembersTable",
    "Picker",
    "StatusState",
    "Tile",
    "TopBar",
    "VimDataTable",
]
