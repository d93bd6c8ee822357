"""The drilldown of one member: timelines, models, features, activity profile, incidents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from tracker_core.badges import NOT_SCORED, adoption_parts, labels
from tracker_core.formatting import (
    column_counts,
    count,
    display_name,
    forecast_short,
    money,
    money_axis,
)
from tracker_core.incidents import IncidentView
from tracker_core.views.budgets import BudgetLine
from tracker_core.views.member import MemberDetail
from tracker_tui.screens.base import DataScreen
from tracker_tui.widgets.charts import LineChart
from tracker_tui.widgets.grid import ActivityGrid
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable, right
from tracker_tui.widgets.tiles import Tile

FEATURES: tuple[tuple[str, str], ...] = (
    ("agent", "Agent requests"),
    ("chat", "Chat requests"),
    ("composer", "Composer requests"),
    ("cmdk", "Cmd+K uses"),
    ("tabs_accepted", "Tabs accepted"),
    ("tabs_shown", "Tabs shown"),
    ("accepted_lines", "Accepted lines"),
)
"""The feature counters worth a row, in reading order; unknown keys follow as they come."""


NO_ANOMALIES = "Anomaly history: none. Detection has never opened an incident for this member."
"""Said instead of an empty table, which would read as "still loading"."""


@dataclass(frozen=True)
class MemberData:
    detail: MemberDetail
    incidents: list[IncidentView]
    budget: BudgetLine | None = None


def budget_line(line: BudgetLine) -> str:
    """``Budget $300 per cycle · spent $400 (133 %) · forecast $667 (222 %)``."""
    standing = line.standing
    text = (
        f"Budget {money(standing.budget_cents)} per cycle · spent "
        f"{money(standing.spent_cents)} ({standing.percent} %)"
    )
    if standing.forecast_cents is not None:
        text += f" · forecast {money(standing.forecast_cents)} ({standing.forecast_percent} %)"
    return text


class MemberScreen(DataScreen[MemberData]):
    """Pushed over the members, overview or incidents screen; q or Escape goes back."""

    SCREEN_TITLE = "Member"
    SHOWS_BADGES = True
    """The help screen lists each badge's rule."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.back", "Back", id="member-back", tooltip="Back to the list"),
    ]

    def __init__(self, email: str, *, days: int = 30) -> None:
        super().__init__()
        self.email = email
        self.days = days
        self._messages: dict[str, str] = {}
        """Each anomaly's whole message by row key, for the line under the history table."""

    def compose_body(self) -> ComposeResult:
        with VimScroll(id="member-body"):
            with Horizontal(classes="tiles"):
                yield Tile("Member", id="tile-who")
                yield Tile("Spend", id="tile-spend")
                # Four tiles fit 80 columns: tokens share the requests' tile with the cycle's.
                yield Tile("Requests", id="tile-requests")
                yield Tile("Cycle", id="tile-cycle")
            yield Static("", id="member-budget", markup=False)
            with Horizontal(classes="charts"):
                yield LineChart("Daily spend", fmt=money_axis, id="chart-spend")
                yield LineChart("Daily tokens", id="chart-tokens")
            with Horizontal(classes="panels"):
                with Vertical(classes="panel"):
                    yield VimDataTable(id="models")
                    yield VimDataTable(id="features")
                    yield VimDataTable(id="adoption")
                yield ActivityGrid(id="activity", classes="panel")
            yield VimDataTable(id="member-incidents")
            yield Static("", id="anomaly-message", markup=False)
            yield Static(NO_ANOMALIES, id="no-anomalies", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        models = self.query_one("#models", VimDataTable)
        models.add_columns("Model", "Requests", "Spend")
        models.border_title = "Models"
        features = self.query_one("#features", VimDataTable)
        features.add_columns("Feature", "Count")
        features.border_title = "Feature usage"
        adoption = self.query_one("#adoption", VimDataTable)
        adoption.add_columns("Part", "Value")
        adoption.show_header = False
        adoption.border_title = "AI adoption (a heuristic: ? for the rules)"
        self.query_one("#activity", ActivityGrid).border_title = "Activity (weekday x UTC hour)"
        history = self.query_one("#member-incidents", VimDataTable)
        # The message is a sentence with figures in it: in a column it was cut mid-figure on
        # any terminal narrower than the sentence, so it is shown whole, wrapped, under the
        # table for the highlighted anomaly.
        history.add_columns("#", "Severity", "Status", "Rule", "Period")
        history.border_title = "Anomaly history (Enter opens the incident)"
        self.query_one("#no-anomalies").display = False
        self.query_one("#member-budget").display = False

    def load(self) -> MemberData:
        page = self.context.tracker.member(self.email, days=self.days)
        return MemberData(page.detail, page.history, page.budget)

    def show(self, data: MemberData) -> None:
        d = data.detail
        self.sub_title = f"{display_name(d.name, d.email)}"
        rank = f"rank {d.team_rank}" if d.team_rank else "not active"
        who = f"{d.role}{', removed' if d.is_removed else ''}"
        group = d.group or "no group"
        # A `Parent > Team` name too long for the tile keeps the team, the part that tells
        # two groups of one parent apart ("Engineering > Frontend" -> "… > Frontend").
        team = group.rsplit(" > ", 1)
        shorter = (group, f"… > {team[1]}") if len(team) == 2 else (group,)
        self.query_one("#tile-who", Tile).show(
            display_name(d.name, d.email), f"{who} · {group}", shorter=shorter
        )
        self.query_one("#tile-spend", Tile).show(
            money(d.spend_cents), f"{d.days} days · {rank}", shorter=(rank,)
        )
        self.query_one("#tile-requests", Tile).show(
            count(d.requests),
            f"{count(d.tokens)} tokens in + out",
            shorter=(f"{count(d.tokens)} tokens",),
        )
        self.show_forecast(d)
        budget = self.query_one("#member-budget", Static)
        budget.display = data.budget is not None
        if data.budget is not None:
            budget.update(budget_line(data.budget))
        days = [point.day for point in d.daily]
        self.query_one("#chart-spend", LineChart).show(
            days, {"spend": [point.spend_cents for point in d.daily]}
        )
        self.query_one("#chart-tokens", LineChart).show(
            days, {"tokens": [float(point.tokens) for point in d.daily]}
        )
        requests = column_counts([row.requests for row in d.models])
        self.query_one("#models", VimDataTable).replace_rows(
            [
                (row.model, [row.model, right(shown), right(money(row.spend_cents))])
                for row, shown in zip(d.models, requests, strict=True)
            ]
        )
        known = [key for key, _ in FEATURES]
        labels = dict(FEATURES)
        keys = known + sorted(k for k in d.features if k not in labels)
        present = [key for key in keys if key in d.features]
        uses = column_counts([d.features[key] for key in present])
        self.query_one("#features", VimDataTable).replace_rows(
            [
                (key, [labels.get(key, key), right(shown)])
                for key, shown in zip(present, uses, strict=True)
            ]
        )
        self._show_adoption(d)
        self.query_one("#activity", ActivityGrid).show(d.activity)
        history = self.query_one("#member-incidents", VimDataTable)
        history.display = bool(data.incidents)
        self.query_one("#anomaly-message").display = bool(data.incidents)
        self.query_one("#no-anomalies").display = not data.incidents
        self._messages = {str(v.id): f"#{v.id}: {v.message}" for v in data.incidents}
        history.replace_rows(
            [
                (str(v.id), [str(v.id), v.severity, v.status, v.rule, v.period.isoformat()])
                for v in data.incidents
            ]
        )
        self._show_message(history.selected_key())

    def _show_adoption(self, d: MemberDetail) -> None:
        """The score, its tier and its three parts, then the member's badges."""
        worn = ", ".join(labels(d.badges)) or "—"
        if d.adoption is None:
            rows = [("score", ["Score", NOT_SCORED])]
        else:
            rows = [("score", ["Score", f"{d.adoption.score:.1f} · {d.adoption.tier.value}"])]
            rows += [(what, [what, value]) for what, value in adoption_parts(d.adoption)]
        rows.append(("badges", ["Badges", worn]))
        self.query_one("#adoption", VimDataTable).replace_rows(rows)

    @on(DataTable.RowHighlighted, "#member-incidents")
    def _incident_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_message(event.row_key.value)

    def _show_message(self, key: str | None) -> None:
        message = self._messages.get(key or "", "")
        self.query_one("#anomaly-message", Static).update(message)

    @on(DataTable.RowSelected, "#member-incidents")
    def _incident_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an anomaly opens its incident in the queue (acknowledge, resolve, timeline)."""
        key = event.row_key.value
        if key is not None:
            self.context.open_incident(int(key))

    def show_forecast(self, detail: MemberDetail) -> None:
        """Their cycle spend so far → their cycle-end forecast, and its p10-p90."""
        forecast = detail.forecast
        tile = self.query_one("#tile-cycle", Tile)
        if forecast is None:
            tile.show("…", "forecast")
            return
        headline, spread = forecast_short(
            forecast.spent * 100, forecast.expected * 100, forecast.low * 100, forecast.high * 100
        )
        tile.show(
            headline,
            f"forecast {spread}",
            shorter=(spread,),
        )
