"""Screen 2: adoption and efficiency: active users, model mix, cost per request and per line."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.widgets import Static

from tracker_core.formatting import column_counts, count, money
from tracker_core.views import DEFAULT_DAYS
from tracker_core.views.exhaustion import PlanExhaustion
from tracker_core.views.insights import Insights
from tracker_tui.screens.base import DataScreen
from tracker_tui.screens.members import RANGES, range_options
from tracker_tui.widgets.charts import LineChart
from tracker_tui.widgets.picker import Picker
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable, right
from tracker_tui.widgets.tiles import Tile

EMPTY_STATE = (
    "No Analytics API data yet: run `cursor-tracker collect` with an analytics key, "
    "or set [collector] analytics = true."
)
"""Shown instead of the analytics panels: what to do, not just that something is missing."""


NO_EXHAUSTION = (
    "Plan exhaustion: nobody has run out of included usage this billing cycle "
    "(no usage-based requests in the daily usage since it began)."
)
"""Said instead of an empty distribution, which would read as "still loading"."""


def exhaustion_title(data: PlanExhaustion) -> str:
    """ "Plan exhaustion: 12 of 40 active ran out since 2026-11-01" (the panel's top border)."""
    return (
        f"Plan exhaustion: {len(data.members)} of {data.active_members} active ran out "
        f"since {data.cycle.start.isoformat()}"
    )


def exhaustion_subtitle(data: PlanExhaustion) -> str:
    """ "avg day 4.2 · median day 3", on the bottom border: on the top one, after the title,
    a border too short for both cut the average mid-figure."""
    stats = data.stats
    if stats.average_day is None or stats.median_day is None:
        return ""
    return f"avg day {stats.average_day:.1f} · median day {stats.median_day:g}"


def versions_title(day: date | None, partial: bool) -> str:
    """Which day the client versions are counted on: a snapshot, not the range's sum."""
    if day is None:
        return "Client versions"
    return f"Client versions on {day.isoformat()}{' (today, so far)' if partial else ''}"


class InsightsScreen(DataScreen[Insights]):
    """Charts on top, four tables below; the analytics-only panels hide when there is no data."""

    SCREEN_TITLE = "Insights"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "cycle_range", "7/30/90d", id="insights-range", tooltip="Time range"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = DEFAULT_DAYS

    def compose_body(self) -> ComposeResult:
        with VimScroll(id="insights-body"):
            yield Static(EMPTY_STATE, id="empty-state", markup=False)
            with Horizontal(classes="tiles"):
                yield Tile("Accepted lines", id="tile-lines")
                yield Tile("Cost per accepted line", id="tile-line-cost")
                yield Picker[int]("Range", range_options(), self.days, id="range")
            with Horizontal(classes="charts analytics"):
                yield LineChart("Daily active users", id="chart-dau")
                yield LineChart("Messages per model", id="chart-adoption")
            with Grid(id="insight-tables"):
                yield VimDataTable(id="efficiency")
                yield VimDataTable(id="mcp", classes="analytics")
                yield VimDataTable(id="extensions", classes="analytics")
                yield VimDataTable(id="versions", classes="analytics")
                yield VimDataTable(id="exhaustion")
            yield Static(NO_EXHAUSTION, id="no-exhaustion", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        for table_id, title, columns in (
            ("efficiency", "Model efficiency", ("Model", "Spend", "Requests", "¢/request")),
            ("mcp", "MCP tools", ("Tool", "Server", "Uses")),
            ("extensions", "File extensions", ("Ext", "Files", "Lines accepted")),
            ("versions", "Client versions", ("Version", "Users", "Share")),
            ("exhaustion", "Plan exhaustion", ("Ran out on", "Members", "Share")),
        ):
            table = self.query_one(f"#{table_id}", VimDataTable)
            table.add_columns(*columns)
            table.border_title = title
        self.query_one("#empty-state").display = False
        self.query_one("#no-exhaustion").display = False
        # The pane, not a table: at 80x24 most panels are below the fold, and j/k/Page keys
        # must reach them; Tab moves into the range picker and the tables.
        self.set_focus(self.query_one("#insights-body", VimScroll), scroll_visible=False)

    def load(self) -> Insights:
        return self.context.tracker.insights(days=self.days)

    def show(self, data: Insights) -> None:
        self.query_one("#empty-state").display = not data.has_analytics
        for widget in self.query(".analytics"):
            widget.display = data.has_analytics
        self.query_one("#tile-lines", Tile).show(
            count(data.accepted_lines), f"last {data.days} days"
        )
        per_line = data.cents_per_accepted_line
        self.query_one("#tile-line-cost", Tile).show(
            "n/a" if per_line is None else f"{per_line:.2f}¢", "spend / accepted lines"
        )
        days = [point.day for point in data.dau]
        self.query_one("#chart-dau", LineChart).show(
            days, {"users": [float(point.count) for point in data.dau]}
        )
        self.query_one("#chart-adoption", LineChart).show(
            days,
            {
                series.model: [float(point.count) for point in series.daily]
                for series in data.model_adoption
            },
        )
        # Every count column is shown in one unit (column_counts), so each is formatted whole.
        models = data.model_efficiency
        requests = column_counts([m.requests for m in models])
        self.query_one("#efficiency", VimDataTable).replace_rows(
            [
                (
                    m.model,
                    [
                        m.model,
                        right(money(m.spend_cents)),
                        right(shown),
                        right(f"{m.cents_per_request:.2f}"),
                    ],
                )
                for m, shown in zip(models, requests, strict=True)
            ]
        )
        tools = data.mcp_tools
        uses = column_counts([tool.uses for tool in tools])
        self.query_one("#mcp", VimDataTable).replace_rows(
            [
                (f"{tool.tool}@{tool.server}", [tool.tool, tool.server, right(shown)])
                for tool, shown in zip(tools, uses, strict=True)
            ]
        )
        extensions = data.file_extensions
        files = column_counts([ext.files for ext in extensions])
        lines = column_counts([ext.lines_accepted for ext in extensions])
        self.query_one("#extensions", VimDataTable).replace_rows(
            [
                (ext.extension, [ext.extension, right(shown_files), right(shown_lines)])
                for ext, shown_files, shown_lines in zip(extensions, files, lines, strict=True)
            ]
        )
        versions = data.client_versions
        # The API reports shares as fractions of 1; a source giving percents sums past 1.5.
        scale = 100.0 if sum(version.share for version in versions) <= 1.5 else 1.0
        users = column_counts([version.users for version in versions])
        table = self.query_one("#versions", VimDataTable)
        table.border_title = versions_title(data.client_versions_day, data.client_versions_partial)
        table.replace_rows(
            [
                (
                    version.version,
                    [version.version, right(shown), right(f"{version.share * scale:.1f}%")],
                )
                for version, shown in zip(versions, users, strict=True)
            ]
        )

        self._show_exhaustion(data.plan_exhaustion)

    def _show_exhaustion(self, data: PlanExhaustion | None) -> None:
        table = self.query_one("#exhaustion", VimDataTable)
        shown = data is not None and bool(data.members)
        table.display = shown
        self.query_one("#no-exhaustion").display = not shown
        if data is None or not shown:
            return
        table.border_title = exhaustion_title(data)
        table.border_subtitle = exhaustion_subtitle(data)
        ran_out = len(data.members)
        table.replace_rows(
            [
                (
                    bucket.label,
                    [
                        f"cycle {bucket.label.lower()}",
                        right(count(bucket.members)),
                        right(f"{bucket.members / ran_out * 100:.0f}%"),
                    ],
                )
                for bucket in data.stats.buckets
            ]
        )

    def action_cycle_range(self) -> None:
        following = (
            RANGES[(RANGES.index(self.days) + 1) % len(RANGES)] if self.days in RANGES else 30
        )
        self.query_one("#range", Picker).value = following

    @on(Picker.Changed, "#range")
    def _range_changed(self, event: Picker.Changed[int]) -> None:
        if event.value != self.days:
            self.days = event.value
            self.reload()
