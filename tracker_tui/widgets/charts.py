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
from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widget import Widget
from textual_plotext import PlotextPlot

from tracker_core.formatting import count_axis
from tracker_tui.format import MIN_LABEL_WIDTH, shorten_labels
from tracker_tui.textual_private import plotext_theme, size_figure

Formatter = Callable[[float], str]
AxisFormatter = Callable[[Sequence[float]], list[str]]
"""Labels for all of an axis's ticks at once: the unit and decimals depend on every tick."""


NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
"""Tick steps people read at a glance, times a power of ten."""
MOST_INTERVALS = 5


def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``raw`` (and 1)."""
    if raw <= 1:
        return 1.0  # cents and counts: a tick between whole units would repeat a label
    power = 10.0 ** math.floor(math.log10(raw))
    return next(step * power for step in NICE_STEPS if raw <= step * power)


def axis_ticks(peak: float, most: int = MOST_INTERVALS) -> list[float]:
    """Round ticks from 0 to just above ``peak``, at most ``most`` intervals.

    Of the round steps that cover the data in ``most`` intervals or fewer, the one whose top
    is nearest the peak wins, so the data fills the axis: a $260 peak gets $0-$300 by $100,
    not $0-$500. Of equal tops, the one with more ticks (up to ``most``) is the more telling.
    """
    if peak <= 0:
        return [0.0]
    best: list[float] = []
    for intervals in range(1, max(1, most) + 1):
        step = nice_step(peak / intervals)
        count = math.ceil(peak / step)
        if count > most:
            continue  # a rounding error past the intervals asked for
        top = count * step
        if not best or top < best[-1] - 1e-9 or (top <= best[-1] + 1e-9 and count >= len(best)):
            best = [step * i for i in range(count + 1)]
    return best or [0.0, nice_step(peak * 1.01)]


def y_intervals(plot_height: int) -> int:
    """Intervals of the value axis that leave a blank row between two ticks.

    The figure spends three of its rows on its frame and the day axis; the rest hold data.
    With a tick on every row, plotext moves labels that collide onto a neighbour's row (a
    three-row plot read 1,500 / 500 / 0), so ticks keep a row apart, at most
    ``MOST_INTERVALS`` of them.
    """
    data_rows = plot_height - 3
    return max(1, min(MOST_INTERVALS, (data_rows - 1) // 2))


def steady(values: Sequence[float]) -> list[float]:
    """Values rounded to 2 decimals: sums that differ in their last bit (summation order)
    must not move a bar or a tick by a column between runs."""
    return [round(float(value), 2) for value in values]


SERIES_COLOURS = ("blue", "red", "green", "magenta", "cyan", "yellow")
"""One per series of a chart with a legend; named so plotext and the legend agree."""


LEGEND_ROWS = 2
"""Lines a legend may take under its plot before names give way to ``+N``."""


def _pack(names: Sequence[str], width: int) -> list[list[int]]:
    """Entries (indexes) per line: ``■ name`` entries, a space apart, in ``width`` cells."""
    lines: list[list[int]] = [[]]
    used = 0
    for index, name in enumerate(names):
        entry = cell_len(name) + 2
        if lines[-1] and used + 1 + entry > width:
            lines.append([])
            used = 0
        used += entry + (1 if lines[-1] else 0)
        lines[-1].append(index)
    return lines


def legend(names: Sequence[str], width: int, rows: int = LEGEND_ROWS) -> list[Text]:
    """``■ name ■ name …`` lines in ``width`` cells, at most ``rows`` of them.

    Drawn under the plot rather than on it, so it never covers the data. Names are shortened
    (distinctly) only as far as needed to fit every series in ``rows`` lines; when even the
    shortest will not, the last entries give way to ``+N``.
    """
    if not names:
        return []
    fitted = list(names)
    for label_width in range(max(cell_len(n) for n in names), MIN_LABEL_WIDTH - 1, -1):
        fitted = shorten_labels(names, label_width)
        # Every entry on a line of its own still needs the line to hold it: two names, one
        # wider than the chart, "fit" two lines and were cut at the border.
        widest = max(cell_len(name) for name in fitted) + 2
        if widest <= width and len(_pack(fitted, width)) <= rows:
            break
    shown = len(fitted)
    while shown > 1 and len(_pack([*fitted[:shown], f"+{len(fitted) - shown}"], width)) > rows:
        shown -= 1
    lines = _pack(fitted[:shown], width)
    out: list[Text] = []
    for entries in lines:
        text = Text(no_wrap=True, overflow="crop")
        for position, index in enumerate(entries):
            if position:
                text.append(" ")
            text.append("■ ", style=SERIES_COLOURS[index % len(SERIES_COLOURS)])
            text.append(fitted[index])
        out.append(text)
    if shown < len(fitted):
        out[-1].append(f" +{len(fitted) - shown}")
    return out


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
        fmt: AxisFormatter = count_axis,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(title, id=id, classes=classes)
        self._fmt = fmt
        self._days: list[date] = []
        self._series: dict[str, list[float]] = {}
        self._plot_height = 0
        """Rows the figure gets in the paint under way (the widget's less its legend)."""

    def show(self, days: Sequence[date], series: dict[str, list[float]]) -> None:
        """Draw these days; the same days and series again (a refresh that changed nothing,
        the badges and forecast completing a first overview) leave the plot as it is."""
        days, series = list(days), dict(series)
        if days == self._days and series == self._series:
            return
        self._days = days
        self._series = series
        self.refresh()

    def render(self) -> RenderResult:
        """The plot, with the legend of a several-series chart on its own lines beneath it.

        textual-plotext sizes the figure to the whole widget; here it gets the height the
        legend leaves (the same three calls its ``render`` makes), so no name is ever drawn
        over a line of the data, and the legend shows at any size the plot does.
        """
        width, height = self.size
        names = list(self._series) if len(self._series) > 1 else []
        key = legend(names, width) if height > 6 else []
        plt: Any = self.plt
        # The theme first: it brings the colour sequence a series without a colour of its own
        # takes, so the line is the same colour at the first paint as at every later one.
        plt.theme(plotext_theme(self, self.app.theme))
        plot_height = max(1, height - len(key))
        self._plot_height = plot_height
        self.configure()
        size_figure(plt, width, plot_height)
        plot = Text.from_ansi(plt.build())
        if not key:
            return plot
        rows = plot.split("\n", allow_blank=True)[:plot_height]
        return Group(*rows, *key)

    def configure(self) -> None:
        plt: Any = self.plt
        plt.clear_data()
        xs = list(range(len(self._days)))
        peak = 0.0
        coloured = len(self._series) > 1
        for index, raw in enumerate(self._series.values()):
            values = steady(raw)
            if xs:
                colour = SERIES_COLOURS[index % len(SERIES_COLOURS)] if coloured else None
                plt.plot(xs, values, marker="braille", color=colour)
                peak = max(peak, *values)
        positions, labels = _day_ticks(self._days, self.size.width)
        if positions:
            plt.xticks(positions, labels)
        ys = axis_ticks(peak, y_intervals(self._plot_height or self.size.height))
        plt.yticks(ys, self._fmt(ys))
        plt.ylim(0, ys[-1] if ys[-1] > 0 else 1)


class BarChart(Widget):
    """Horizontal bars in the order given (the core ranks them), each labelled with its value:
    top spenders, models.

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
        """Draw these bars; the same bars again leave the chart as it is."""
        shown = list(bars)[: self._limit]
        if shown == self._bars:
            return
        self._bars = shown
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
