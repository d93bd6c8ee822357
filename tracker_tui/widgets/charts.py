"""Charts on textual-plotext: one ``PlotextPlot`` subclass per kind, each with ``replot()``.

The data is kept on the widget and drawn in ``replot`` so a resize or a theme change redraws
the same figures; plotext's own date handling is avoided (day labels are plain ticks), which
keeps the output identical from run to run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widget import Widget
from textual_plotext import PlotextPlot

from tracker_tui.format import MIN_LABEL_WIDTH, shorten_labels

Formatter = Callable[[float], str]


def nice_ceiling(top: float) -> float:
    """The next 1, 2, 2.5 or 5 times a power of ten: ticks people can read at a glance."""
    if top <= 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(top))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if top <= step * power:
            return step * power
    return 10.0 * power


def steady(values: Sequence[float]) -> list[float]:
    """Values rounded to 2 decimals: sums that differ in their last bit (summation order)
    must not move a bar or a tick by a column between runs."""
    return [round(float(value), 2) for value in values]


def _ticks(top: float, fmt: Formatter, count: int = 4) -> tuple[list[float], list[str]]:
    """Evenly spaced ticks from 0 to ``top``, labelled by the domain formatter."""
    if top <= 0:
        return [0.0], [fmt(0.0)]
    values = [top * i / count for i in range(count + 1)]
    return values, [fmt(value) for value in values]


def _day_ticks(days: Sequence[date], width: int) -> tuple[list[int], list[str]]:
    """At most one ``MM-DD`` label per ~10 columns, always including the last day."""
    if not days:
        return [], []
    every = max(1, -(-len(days) * 10 // max(width, 20)))
    positions = list(range(len(days) - 1, -1, -every))[::-1]
    return positions, [days[i].strftime("%m-%d") for i in positions]


class Chart(PlotextPlot):
    """Base: a title shown as the border title, and an empty-data message.

    The figure is configured in ``render``, at the size the widget has then (the day ticks
    depend on the width), so plotext builds it once per paint: a resize is just a repaint.
    """

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 8; border: round $primary-muted; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title

    def render(self) -> RenderResult:
        self.configure()
        return super().render()

    def configure(self) -> None:  # pragma: no cover - every subclass draws
        raise NotImplementedError


class LineChart(Chart):
    """Daily series over a window: spend, tokens, active users, messages per model."""

    def __init__(
        self,
        title: str,
        *,
        fmt: Formatter = lambda v: f"{v:,.0f}",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(title, id=id, classes=classes)
        self._fmt = fmt
        self._days: list[date] = []
        self._series: dict[str, list[float]] = {}

    def show(self, days: Sequence[date], series: dict[str, list[float]]) -> None:
        self._days = list(days)
        self._series = dict(series)
        self.refresh()

    def configure(self) -> None:
        plt: Any = self.plt
        plt.clear_data()
        xs = list(range(len(self._days)))
        top = 0.0
        labelled = len(self._series) > 1
        for name, raw in self._series.items():
            values = steady(raw)
            if xs:
                plt.plot(xs, values, marker="braille", label=name if labelled else None)
                top = max(top, *values)
        top = nice_ceiling(top)
        positions, labels = _day_ticks(self._days, self.size.width)
        if positions:
            plt.xticks(positions, labels)
        ys, ylabels = _ticks(top, self._fmt)
        plt.yticks(ys, ylabels)
        plt.ylim(0, top if top > 0 else 1)


class BarChart(Widget):
    """Horizontal bars, highest first, each labelled with its value: top spenders, models.

    Drawn with block characters rather than plotext: exact values beside each bar read
    better than an axis, and the output does not move between runs. Like the line charts it
    draws in ``render``, at the size it has then: new data or a resize is only a repaint.
    """

    DEFAULT_CSS = """
    BarChart {
        width: 1fr; height: 1fr; min-height: 6; border: round $primary-muted; padding: 0 1;
    }
    """

    def __init__(
        self,
        title: str,
        *,
        fmt: Formatter = lambda v: f"{v:,.0f}",
        limit: int = 10,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self._fmt = fmt
        self._limit = limit
        self._bars: list[tuple[str, float]] = []

    def show(self, bars: Sequence[tuple[str, float]]) -> None:
        # Ties by name, so equal values keep one order from run to run.
        self._bars = sorted(bars, key=lambda bar: (-bar[1], bar[0]))[: self._limit]
        self.refresh()

    def render(self) -> Text:
        colour = self.app.current_theme.primary if self.is_attached else "blue"
        return render_bars(self._bars, self._fmt, self.content_size, colour)


def render_bars(bars: Sequence[tuple[str, float]], fmt: Formatter, size: Size, colour: str) -> Text:
    """One line per bar (as many as fit): ``label ████████ $1.2k``."""
    shown = list(bars)[: max(1, size.height)]
    if not shown:
        return Text("no data", style="dim")
    values = steady([value for _, value in shown])
    texts = [fmt(value) for value in values]
    value_width = max(len(text) for text in texts)
    # Names before bar length: a bar a quarter of the width still shows the proportions,
    # a name cut short may no longer say who or what it is.
    label_room = size.width - value_width - 2 - max(4, size.width // 4)
    label_width = min(max(cell_len(label) for label, _ in shown), max(MIN_LABEL_WIDTH, label_room))
    labels = shorten_labels([label for label, _ in shown], label_width)
    room = max(1, size.width - label_width - value_width - 2)
    top = max(values) or 1.0
    out = Text(no_wrap=True, overflow="crop")
    for label, value, text in zip(labels, values, texts, strict=True):
        cells = value / top * room
        bar = "█" * int(cells) + " ▏▎▍▌▋▊▉"[int((cells - int(cells)) * 8)].strip()
        out.append(label + " " * (label_width - cell_len(label) + 1))
        out.append(f"{bar:<{room}}", style=colour)
        out.append(f" {text:>{value_width}}\n")
    out.rstrip()
    return out
