"""Screen 3: every member over the window, searchable and sortable; Enter opens the drilldown."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select

from tracker_core import dashboard
from tracker_core.dashboard import DEFAULT_DAYS, Overview
from tracker_tui.screens.base import DataScreen
from tracker_tui.widgets.tables import COLUMNS, MembersTable

RANGES: tuple[int, ...] = (7, 30, 90)
"""Windows offered by the range picker, in days."""
ALL_GROUPS = "__all__"


class MembersScreen(DataScreen[Overview]):
    """The members table with its search, group filter and time range."""

    SCREEN_TITLE = "Members"
    AUTO_FOCUS = None
    """The table takes the keys from the start (j/k, Enter), focused in ``on_mount`` without
    scrolling it into view (which would hide the tiles at 80x24); ``/`` moves to the search."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="search", tooltip="Filter the members table"),
        Binding("s", "sort", "Sort", id="sort", tooltip="Sort by the next column"),
        Binding("t", "cycle_range", "7/30/90d", id="range", tooltip="Change the time range"),
        Binding("enter", "open_member", "Open", show=False, id="open-member"),
        Binding("escape", "leave_search", "Leave search", show=False, id="leave-search"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = DEFAULT_DAYS
        self.group_id: str | None = None
        self._group_options: list[tuple[str, str]] = []

    def compose_controls(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Input(placeholder="/ search name, email, group, model", id="filter", compact=True)
            yield Select[str](
                [("All groups", ALL_GROUPS)],
                value=ALL_GROUPS,
                allow_blank=False,
                id="group",
                compact=True,
            )
            yield Select[int](
                [(f"{days} days", days) for days in RANGES],
                value=self.days,
                allow_blank=False,
                id="range",
                compact=True,
            )

    def compose_body(self) -> ComposeResult:
        yield from self.compose_controls()
        yield MembersTable(id="members")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(MembersTable), scroll_visible=False)

    def load(self) -> Overview:
        with self.context.engine.connect() as conn:
            return dashboard.overview(
                conn, days=self.days, today=self.context.clock().date(), group_id=self.group_id
            )

    def load_ready(self) -> Overview | None:
        if self.group_id is not None:
            return None
        with self.context.engine.connect() as conn:
            return dashboard.remembered_overview(
                conn, days=self.days, today=self.context.clock().date()
            )

    def show(self, data: Overview) -> None:
        self.query_one(MembersTable).show(data.members)
        self._show_groups(data)
        table = self.query_one(MembersTable)
        table.border_title = table.describe(data.days)

    def _show_groups(self, data: Overview) -> None:
        options = [("All groups", ALL_GROUPS)] + [
            (f"{g.name} ({g.members})", g.id) for g in data.groups
        ]
        if options != self._group_options:
            self._group_options = options
            select = self.query_one("#group", Select)
            with select.prevent(Select.Changed):
                select.set_options(options)
                select.value = self.group_id or ALL_GROUPS

    # --- actions ---------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave_search(self) -> None:
        self.set_focus(self.query_one(MembersTable), scroll_visible=False)

    def action_sort(self) -> None:
        label = self.query_one(MembersTable).cycle_sort()
        self.notify(f"Sorted by {label}", timeout=2)

    def action_cycle_range(self) -> None:
        following = (
            RANGES[(RANGES.index(self.days) + 1) % len(RANGES)] if self.days in RANGES else 30
        )
        self.query_one("#range", Select).value = following

    def action_open_member(self) -> None:
        email = self.query_one(MembersTable).selected_key()
        if email is not None:
            self.context.open_member(email)

    # --- events ----------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        table = self.query_one(MembersTable)
        table.filter(event.value)
        if self.data is not None:
            table.border_title = table.describe(self.data.days)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.set_focus(self.query_one(MembersTable), scroll_visible=False)

    @on(Select.Changed, "#range")
    def _range_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != self.days:
            self.days = event.value
            self.reload()

    @on(Select.Changed, "#group")
    def _group_changed(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else ALL_GROUPS
        group_id = None if value == ALL_GROUPS else value
        if group_id != self.group_id:
            self.group_id = group_id
            self.reload()

    @on(DataTable.RowSelected, "#members")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.context.open_member(event.row_key.value)


__all__ = ["COLUMNS", "RANGES", "MembersScreen"]
