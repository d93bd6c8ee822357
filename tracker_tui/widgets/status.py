"""The line under the header: data age (warning when stale), refresh state, collection progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tracker_tui.format import age, is_stale


@dataclass(frozen=True)
class StatusState:
    """What the status line says; the app owns one and pushes it to the current screen."""

    last_collected: datetime | None = None
    now: datetime | None = None
    paused: bool = False
    refresh_seconds: float = 30.0
    activity: str = ""
    """Collection progress or another long action, empty when idle."""


class StatusLine(Static):
    """One line; the ``-stale`` class turns it to the warning style."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        &.-stale { background: $warning-muted; color: $text-warning; }
    }
    """

    text = ""
    """What the line says, as plain text."""

    def show(self, state: StatusState) -> None:
        stale = state.now is not None and is_stale(state.last_collected, state.now)
        stamp = "…" if state.now is None else age(state.last_collected, state.now)
        if stale:
            stamp += " (stale: press c to collect)"
        text = Text(stamp, style="bold" if stale else "")
        refresh = (
            "auto-refresh paused (p)"
            if state.paused
            else f"auto-refresh every {state.refresh_seconds:g}s"
        )
        text.append(f"  ·  {refresh}")
        if state.activity:
            text.append(f"  ·  {state.activity}", style="bold")
        self.text = text.plain
        self.update(text)
        self.set_class(stale, "-stale")
