"""The top line: where you are on the left; data age, refresh state and progress on the right."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tracker_core.formatting import age, as_utc, is_stale


@dataclass(frozen=True)
class StatusState:
    """What the status part says; the app owns one and pushes it to the current screen."""

    last_collected: datetime | None = None
    now: datetime | None = None
    paused: bool = False
    refresh_seconds: float = 30.0
    activity: str = ""
    """Collection progress or another long action, empty when idle."""
    complete_up_to: datetime | None = None
    """Every usage event before this time is stored (as far as the re-fetch plan promises);
    None before the collector has established it."""


SEPARATOR = "  ·  "


def status_parts(state: StatusState) -> tuple[list[Text], bool]:
    """The right-hand part, most important first, and whether the data is stale.

    A running collection comes first, then a pause (a state the person chose and must not
    forget: the figures stop following), then the data's age, then how far usage events are
    known complete (events arrive late, so the age alone overstates it), then the refresh
    interval: when the line is too narrow for all of them, the ones at the end are left out
    whole. While collecting, the age drops its "press c" hint: pressing c is what is
    happening.
    """
    stale = state.now is not None and is_stale(state.last_collected, state.now)
    parts: list[Text] = []
    if state.activity:
        parts.append(Text(state.activity, style="bold"))
    if state.paused:
        parts.append(Text("paused (p)", style="bold"))
    stamp = "…" if state.now is None else age(state.last_collected, state.now)
    if stale and not state.activity:
        stamp += " (stale: press c to collect)"
    parts.append(Text(stamp, style="bold" if stale and not state.activity else ""))
    if state.complete_up_to is not None:
        parts.append(Text(f"complete up to {complete_stamp(state.complete_up_to)}"))
    if not state.paused:
        parts.append(Text(f"auto-refresh every {state.refresh_seconds:g}s"))
    return parts, stale


def complete_stamp(moment: datetime) -> str:
    """``Mar 8 14:00 UTC``: short enough for the status line, in UTC as every face shows it."""
    value = as_utc(moment)
    return f"{value:%b} {value.day} {value:%H:%M} UTC"


def status_text(state: StatusState) -> tuple[Text, bool]:
    """Every part of the status, joined (what the line says when it has the room)."""
    parts, stale = status_parts(state)
    return Text(SEPARATOR).join(parts), stale


def fit_line(app_title: str, screen_title: str, parts: list[Text], width: int) -> Text:
    """The top line at ``width``: a title on the left, as much of the status as fits on the right.

    The screen's name always stays (it is the only "you are here" there is); the app's name
    goes first when room runs out, then the status parts from the least important, and a
    first part too long even alone is cut with an ellipsis rather than dropped.
    """
    titles = [f"{app_title} — {screen_title}", screen_title] if screen_title else [app_title]
    for count in range(len(parts), 0, -1):
        status = Text(SEPARATOR).join(parts[:count])
        for title in titles:
            room = width - len(title) - status.cell_len
            if room >= 2:
                line = Text(title, style="bold", no_wrap=True)
                line.append(" " * room)
                line.append_text(status)
                return line
    title = titles[-1]
    line = Text(title, style="bold", no_wrap=True)
    if parts:
        line.append("  ")
        line.append_text(parts[0])
    line.truncate(max(width, 0), overflow="ellipsis")
    return line


class TopBar(Static):
    """One line instead of Textual's Header plus a status line under it.

    Over SSH at 80x24 every row counts, and a start paints five widgets fewer. The app's name
    gives way first when the status needs the room, then the status's least important parts;
    the screen's name stays (see :func:`fit_line`).
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
        self._parts: list[Text] = [Text("…")]

    def on_mount(self) -> None:
        self.watch(self.screen, "sub_title", self._retitle, init=False)

    def _retitle(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    def show(self, state: StatusState) -> None:
        self._parts, stale = status_parts(state)
        self.text = Text(SEPARATOR).join(self._parts).plain
        self.set_class(stale, "-stale")
        self.refresh()

    def line(self) -> Text:
        """The line as drawn at the widget's current width."""
        return fit_line(
            self.app.title, self.screen.sub_title or "", self._parts, self.content_size.width
        )

    def render(self) -> Text:
        return self.line()
