"""Screen 1: the team at a glance: tiles, daily spend, top spenders, models, members."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal

from tracker_core.formatting import forecast_short, money, money_axis, money_short
from tracker_core.views.overview import Overview
from tracker_tui.screens.members import MembersScreen
from tracker_tui.widgets.charts import BarChart, LineChart
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import MembersTable
from tracker_tui.widgets.tiles import Tile

OVERVIEW_ROWS = 50
"""Members drawn on the overview; the Members screen (3) lists everyone."""


class OverviewScreen(MembersScreen):
    """Everything the members screen has, under the tiles and charts."""

    SCREEN_TITLE = "Overview"
    SHOWS_BADGES = True
    """Its members table has the badges: the help screen lists each badge's rule."""
    BINDINGS: ClassVar[list[BindingType]] = [
        # The badge filter works here too, off the key bar: the screen keys come first there.
        Binding("f", "pick_badge", "Badge", show=False, id="overview-badge-filter"),
    ]

    def compose_body(self) -> ComposeResult:
        with VimScroll(id="overview-body"):
            yield from self.compose_no_data()
            with Horizontal(classes="tiles"):
                yield Tile("Spend", id="tile-spend")
                yield Tile("Members", id="tile-members")
                yield Tile("Incidents", id="tile-incidents")
                yield Tile("Cycle", id="tile-cycle")
            with Horizontal(classes="charts"):
                yield LineChart("Daily team spend", fmt=money_axis, id="chart-daily")
                yield BarChart("Top spenders", fmt=money_short, id="chart-top")
                yield BarChart("Spend by model", fmt=money_short, id="chart-models")
            yield from self.compose_controls()
            yield MembersTable(id="members", limit=OVERVIEW_ROWS)

    def show(self, data: Overview) -> None:
        super().show(data)
        self.query_one("#tile-spend", Tile).show(money(data.spend_cents), f"last {data.days} days")
        removed = sum(row.is_removed for row in data.members)
        # The total counts removed members whose spend is in the window: it moves with the
        # range, and says why where the tile has the room.
        self.query_one("#tile-members", Tile).show(
            f"{data.active_members} / {data.total_members}",
            f"active / total, {removed} removed" if removed else "active / total",
            shorter=("active / total",) if removed else (),
        )
        self.query_one("#tile-incidents", Tile).show(
            f"{data.open_incidents} open",
            f"{data.critical_incidents} critical",
            warn=data.critical_incidents > 0,
        )
        self.show_cycle(data)
        self.query_one("#chart-daily", LineChart).show(
            [point.day for point in data.daily_spend],
            {"spend": [point.spend_cents for point in data.daily_spend]},
        )
        self.query_one("#chart-top", BarChart).show(
            [(spender.name, spender.spend_cents) for spender in data.top_spenders]
        )
        self.query_one("#chart-models", BarChart).show(
            [(cost.model, cost.spend_cents) for cost in data.model_spend]
        )

    def show_cycle(self, data: Overview) -> None:
        """Spend so far → the cycle-end forecast, with the day and the forecast's p10-p90, and
        the share of the team's budget spent when one is set (a warning from 100 %)."""
        cycle, forecast, budget = data.cycle, data.forecast, data.team_budget
        day = f"day {cycle.day} of {cycle.length}"
        tile = self.query_one("#tile-cycle", Tile)
        of_budget = () if budget is None else (f"{budget.percent} % of budget",)
        warn = budget is not None and budget.percent >= 100
        if forecast is None:  # a first paint from remembered figures: the forecast follows
            tile.show(
                f"{money_short(cycle.spend_cents)} → …",
                " · ".join((day, *of_budget)),
                warn=warn,
                shorter=of_budget,
            )
            return
        headline, spread = forecast_short(
            cycle.spend_cents, forecast.expected * 100, forecast.low * 100, forecast.high * 100
        )
        brief_day = f"day {cycle.day}/{cycle.length} · {spread}"  # before the day is dropped
        tile.show(
            headline,
            " · ".join((day, spread, *of_budget)),
            warn=warn,
            shorter=(*of_budget, brief_day, spread) if of_budget else (brief_day, spread),
        )
