"""The 7 x 24 activity profile: weekday rows, UTC hour columns, shaded block characters."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHADES = " ░▒▓█"
"""Intensity in the glyph itself, so the grid still reads in 256 colours or none."""


def render_grid(activity: list[list[int]], colour: str) -> Text:
    """Each cell two characters wide; the busiest hour gets the full block."""
    peak = max((value for row in activity for value in row), default=0)
    text = Text("    " + "".join(f"{hour:<6d}" for hour in range(0, 24, 3)) + "UTC\n", "dim")
    for weekday, label in enumerate(WEEKDAYS):
        row = activity[weekday] if weekday < len(activity) else []
        text.append(f"{label} ", "dim")
        for hour in range(24):
            value = row[hour] if hour < len(row) else 0
            level = 0 if peak == 0 or value == 0 else 1 + round(3 * value / peak)
            text.append(SHADES[min(level, 4)] * 2, colour)
        text.append("\n")
    text.append(f"    busiest hour: {peak} events" if peak else "    no usage events", "dim")
    return text


class ActivityGrid(Static):
    """Shows :func:`render_grid` in the theme's accent colour."""

    DEFAULT_CSS = """
    ActivityGrid { height: auto; width: auto; padding: 0 1; }
    """

    def show(self, activity: list[list[int]]) -> None:
        colour = self.app.current_theme.accent or "cyan"
        self.update(render_grid(activity, colour))
