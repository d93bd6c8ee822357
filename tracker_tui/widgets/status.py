"""The top line: where you are on the left; data age, refresh state and progress on the right."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tracker_tui.format import age, is_stale


@dataclass(frozen=True)
class StatusState:
    """What the status part says; the app owns one and pushes it to the current screen."""

    last_collected: datetime | None = None
    now: datetime | None = None
    paused: bool = False
    refresh_seconds: float = 30.0
    activity: str = ""
    """Collection progress or another long action, empty when idle."""


def status_text(state: StatusState) -> tuple[Text, bool]:
    """The right-hand part and whether the data is stale (the whole bar then warns)."""
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
    return text, stale


class TopBar(Static):
    """One line instead of Textual's Header plus a status line under it.

    Over SSH at 80x24 every row counts, and a start paints five widgets fewer. The title
    (app, then screen) gives way first when the status needs the room: what is happening to
    the data matters more than the name of the screen you are looking at.
    """

    DEFAULT_CSS = """
    TopBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        &.-stale { background: $warning-muted; color: $text-warning; }
    }
    """

    text = ""
    """The status part, as plain text."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._status = Text("…")

    def on_mount(self) -> None:
        self.watch(self.screen, "sub_title", self._retitle, init=False)

    def _retitle(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    def show(self, state: StatusState) -> None:
        self._status, stale = status_text(state)
        self.text = self._status.plain
        self.set_class(stale, "-stale")
        self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        app, screen = self.app.title, self.screen.sub_title or ""
        status = self._status
        for title in (f"{app} — {screen}" if screen else app, screen, ""):
            room = width - len(title) - status.cell_len
            if room >= 2 or not title:
                break
        line = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
        line.append(" " * max(room, 1 if title else 0))
        line.append_text(status)
        line.truncate(max(width, 0), overflow="ellipsis")
        return line
