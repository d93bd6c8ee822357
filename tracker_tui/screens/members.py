"""Screen 3: every member over the window, searchable and sortable; Enter opens the drilldown."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from tracker_core.badges import BADGES
from tracker_core.service import Tracker
from tracker_core.views import DEFAULT_DAYS
from tracker_core.views.groups import parent_options
from tracker_core.views.overview import Overview
from tracker_tui.early import EarlyLoad
from tracker_tui.screens.base import DataScreen
from tracker_tui.widgets.picker import Picker, PickerScreen
from tracker_tui.widgets.tables import COLUMNS, MembersTable

RANGES: tuple[int, ...] = (7, 30, 90)
"""Windows offered by the range picker, in days."""
ALL_GROUPS = "__all__"
ALL_BADGES = "__all__"
NO_DATA = (
    "Nothing collected yet. Press c to collect from Cursor's Admin API (set "
    "CURSOR_ADMIN_API_KEY first), or run `cursor-tracker demo` to explore a simulated "
    "organisation."
)
"""Shown on a database no collection has reached: what to do, not an empty table."""


def first_overview(tracker: Tracker) -> EarlyLoad[Overview]:
    """The first load of an overview or members screen (the whole team, the default window),
    started ahead of the screen: ``load_ready`` and the first ``load`` below, as a thread, and
    then, in the same thread, the complete overview the first one's ``pending`` asks for."""
    return EarlyLoad(
        partial(tracker.remembered_overview, days=DEFAULT_DAYS),
        partial(tracker.overview, days=DEFAULT_DAYS, hurried=True),
        partial(_completed, tracker),
    )


def _completed(tracker: Tracker, first: Overview) -> Overview | None:
    """What a first overview left out (the forecast), computed in the early load's thread
    right after it; None when it left out nothing."""
    return tracker.complete_overview(first) if first.pending else None


def range_options() -> list[tuple[str, int]]:
    """The range picker's options, shared with the insights screen."""
    return [(f"{days} days", days) for days in RANGES]


class MembersScreen(DataScreen[Overview]):
    """The members table with its search, group filter and time range."""

    SCREEN_TITLE = "Members"
    SHOWS_BADGES = True
    """The help screen lists each badge's rule."""
    AUTO_FOCUS = ""
    """Nothing: the table takes the keys from the start (j/k, Enter), focused in ``on_mount``
    without scrolling it into view (which would hide the tiles at 80x24); ``/`` moves to the
    search. (None would mean the app's default, the first focusable widget: focusing and
    blurring it costs a restyle of the screen at every start.)"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="search", tooltip="Filter the members table"),
        Binding("s", "sort", "Sort", id="sort", tooltip="Sort by the next column"),
        Binding("t", "cycle_range", "7/30/90d", id="range", tooltip="Change the time range"),
        Binding(
            "b",
            "pick_group",
            "Group",
            show=False,
            id="group-filter",
            tooltip="Filter by billing group",
        ),
        Binding(
            "f",
            "pick_badge",
            "Badge",
            id="badge-filter",
            tooltip="Show only the members wearing a badge (? lists each badge's rule)",
        ),
        Binding("enter", "open_member", "Open", show=False, id="open-member"),
        Binding("escape", "leave_search", "Leave search", show=False, id="leave-search"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = DEFAULT_DAYS
        self.group_id: str | None = None
        self._group_options: list[tuple[str, str]] = []
        self._badge_options: list[tuple[str, str]] = [("All members", ALL_BADGES)]

    def compose_no_data(self) -> ComposeResult:
        """The first-run hint, hidden by the stylesheet until a load finds nothing stored."""
        yield Static(NO_DATA, id="no-data", markup=False)

    def compose_controls(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Input(placeholder="/ name, email, group, model", id="filter", compact=True)
            yield Picker[str]("Group", [("All groups", ALL_GROUPS)], ALL_GROUPS, id="group")
            yield Picker[int]("Range", range_options(), self.days, id="range")

    def compose_body(self) -> ComposeResult:
        yield from self.compose_no_data()
        yield from self.compose_controls()
        yield MembersTable(id="members")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(MembersTable), scroll_visible=False)

    def load(self) -> Overview:
        # Until the screen shows something, a forecast the view cache lacks (every member's
        # learning weeks) does not hold up the figures: ``show`` asks for it once they are
        # painted. Later loads keep the shown data on screen while they run, so they wait
        # for everything.
        return self.context.tracker.overview(
            days=self.days, group_id=self.group_id, hurried=self.data is None
        )

    def load_ready(self) -> Overview | None:
        if self.group_id is not None:
            return None
        return self.context.tracker.remembered_overview(days=self.days)

    def show(self, data: Overview) -> None:
        self.context.note_collected(data.last_collected)
        hint = self.query_one("#no-data")
        nothing_stored = data.last_collected is None and data.total_members == 0
        if hint.display != nothing_stored:  # a change of display means a new layout
            hint.display = nothing_stored
        self.query_one(MembersTable).show(data.members)
        self._show_groups(data)
        self._show_badges(data)
        table = self.query_one(MembersTable)
        table.border_title = table.describe(data.days)
        if data.pending and not self.take_follow_up():
            self.reload()

    def _show_groups(self, data: Overview) -> None:
        options = [("All groups", ALL_GROUPS), *parent_options(data.groups)] + [
            (f"{g.name} ({g.members})", g.id) for g in data.groups
        ]
        if options != self._group_options:
            self._group_options = options
            self.query_one("#group", Picker).set_options(options, self.group_id or ALL_GROUPS)

    def _show_badges(self, data: Overview) -> None:
        """Every badge with how many members wear it, for the badge filter's list."""
        worn = {badge.id: 0 for badge in BADGES}
        for row in data.members:
            for ident in row.badges:
                worn[ident] = worn.get(ident, 0) + 1
        self._badge_options = [("All members", ALL_BADGES)] + [
            (f"{badge.label} ({worn[badge.id]})", badge.id) for badge in BADGES
        ]

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
        self.query_one("#range", Picker).value = following

    def action_pick_group(self) -> None:
        self.query_one("#group", Picker).open()

    def action_pick_badge(self) -> None:
        """The badge filter's list, opened on the key alone: the controls row has no room
        for another picker at 80 columns, and the table's title names the badge chosen."""
        table = self.query_one(MembersTable)

        def picked(value: str | None) -> None:
            if value is not None:
                self._filter_badge(None if value == ALL_BADGES else value)

        current = table.badge or ALL_BADGES
        self.app.push_screen(PickerScreen("Badge", self._badge_options, current), picked)

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

    @on(Picker.Changed, "#range")
    def _range_changed(self, event: Picker.Changed[int]) -> None:
        if event.value != self.days:
            self.days = event.value
            self.reload()

    @on(Picker.Changed, "#group")
    def _group_changed(self, event: Picker.Changed[str]) -> None:
        group_id = None if event.value == ALL_GROUPS else event.value
        if group_id != self.group_id:
            self.group_id = group_id
            self.reload()

    def _filter_badge(self, badge: str | None) -> None:
        table = self.query_one(MembersTable)
        table.filter_badge(badge)
        if self.data is not None:
            table.border_title = table.describe(self.data.days)

    @on(DataTable.RowSelected, "#members")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.context.open_member(event.row_key.value)


__all__ = ["COLUMNS", "RANGES", "MembersScreen"]
