"""Screen 4: the incident queue, worst first, with response times and each incident's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from tracker_core.formatting import display_name, duration, instant
from tracker_core.incidents import Announcement, IncidentView, ResponseTimes
from tracker_core.service import RESPONSE_WINDOW_DAYS
from tracker_tui.format import shorten_labels
from tracker_tui.screens.base import DataScreen
from tracker_tui.screens.confirm import ConfirmDialog
from tracker_tui.widgets.picker import Picker
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable
from tracker_tui.widgets.tiles import Tile

STATUSES: tuple[str, ...] = ("active", "open", "alerted", "acknowledged", "resolved", "all")
MEMBER_WIDTH = 24
"""The most cells the queue gives a member's name (shortened, distinctly): a longer one
pushed the rule and the period out of an 80-column queue."""


@dataclass(frozen=True)
class IncidentsData:
    queue: list[IncidentView]
    times: ResponseTimes
    announced: dict[int, list[Announcement]]


def announcement_line(item: Announcement) -> tuple[str, str]:
    """One channel's fate for the timeline, and its style: sent, waiting, failed or not sent."""
    what = f"{item.channel:<6}" + (" (escalation)" if item.reason == "escalated" else "")
    if item.status == "sent":
        return f"{what} sent {instant(item.sent_at)}", ""
    if item.status == "skipped":
        # The outbox says "slack alerts are not configured": the channel is already named.
        why = (item.last_error or "skipped").removeprefix(f"{item.channel} alerts are ")
        return f"{what} not sent: {why}", "dim"
    if item.status == "failed":
        tries = "1 attempt" if item.attempts == 1 else f"{item.attempts} attempts"
        return (
            f"{what} failed after {tries}: {item.last_error or 'unknown error'};"
            f" next try from {instant(item.next_attempt_at)}",
            "red",
        )
    return f"{what} waiting for the next detection run to send it", "yellow"


def timeline(view: IncidentView, announced: Sequence[Announcement] = ()) -> Text:
    """The incident's story: what crossed which line, each lifecycle step with its time, and
    whether each alert channel told anybody (and if not, why not)."""
    text = Text(f"#{view.id} {view.severity.upper()} · {view.status}\n", style="bold")
    text.append(f"{display_name(view.name, view.email)} <{view.email}>\n")
    text.append(f"{view.rule} on {view.period.isoformat()}\n", style="dim")
    text.append(f"{view.message}\n\n")
    steps = (
        ("Onset", view.onset_at),
        ("Detected", view.detected_at),
        ("Alerted", view.alerted_at),
        ("Acknowledged", view.acknowledged_at),
        ("Resolved", view.resolved_at),
    )
    for label, at in steps:
        text.append(f"{'●' if at else '○'} {label:<13}", style="bold" if at else "dim")
        text.append(f"{instant(at)}\n")
    if view.resolved_by:
        text.append(f"  resolved by {view.resolved_by}\n", style="dim")
    if announced:
        text.append("\nAlerts\n", style="bold")
        for item in announced:
            line, style = announcement_line(item)
            text.append(f"  {line}\n", style=style)
    text.append(
        f"\nMTTD {duration(view.mttd)} · MTTI {duration(view.mtti)} · MTTR {duration(view.mttr)}",
        style="dim",
    )
    return text


def empty_queue(status: str) -> str:
    """What an empty queue says: that the filter left nothing, and how to see the rest."""
    following = STATUSES[(STATUSES.index(status) + 1) % len(STATUSES)]
    if status == "all":
        return "No incidents yet: detection opens one when a member crosses a line."
    return f"No {status} incidents.\n\nf shows the next filter ({following})."


class IncidentsScreen(DataScreen[IncidentsData]):
    """Acknowledge with ``a``, resolve with ``r`` (confirmed), open the member with Enter."""

    SCREEN_TITLE = "Incidents"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="acknowledge", tooltip="Someone is on it"),
        Binding("r", "resolve", "Resolve", id="resolve", tooltip="Close it (asks first)"),
        Binding("f", "cycle_status", "Filter", id="status-filter", tooltip="Next status filter"),
        Binding("enter", "open_member", "Member", show=False, id="incident-member"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status = "active"
        self._timeline_of: int | None = None
        """The incident whose timeline is shown (another one starts at the top)."""
        self._reveal: int | None = None
        """An incident to highlight once the queue holds it (opened from a drilldown)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="tiles"):
            yield Tile("MTTD (30d)", id="tile-mttd")
            yield Tile("MTTI (30d)", id="tile-mtti")
            yield Tile("MTTR (30d)", id="tile-mttr")
            yield Tile("Incidents (30d)", id="tile-count")
        yield Static("", id="times-line")
        with Horizontal(classes="controls"):
            yield Picker[str](
                "Status", [(status, status) for status in STATUSES], self.status, id="status-filter"
            )
        with Horizontal(id="incidents-main"):
            yield VimDataTable(id="queue")
            # Scrolls (Tab reaches it): at 80x24 the timeline is taller than its pane.
            with VimScroll(id="incident-detail"):
                yield Static("No incident selected.", id="timeline")

    def on_mount(self) -> None:
        super().on_mount()
        queue = self.query_one("#queue", VimDataTable)
        queue.add_columns("#", "Sev", "Status", "Member", "Rule", "Period")
        queue.border_title = "Queue (worst first)"
        self.query_one("#incident-detail").border_title = "Timeline"
        queue.focus()

    def load(self) -> IncidentsData:
        status = None if self.status == "all" else self.status
        queue = self.context.tracker.incident_queue(status=status, days=RESPONSE_WINDOW_DAYS)
        return IncidentsData(queue.incidents, queue.response_times, queue.announced)

    def show(self, data: IncidentsData) -> None:
        times = data.times
        # An empty average says why it is empty, rather than a bare n/a.
        for tile, value, measured, missing in (
            ("#tile-mttd", times.mttd, "onset → alert", "no alert sent yet"),
            ("#tile-mtti", times.mtti, "alert → ack", "none acknowledged yet"),
            ("#tile-mttr", times.mttr, "onset → resolved", "none resolved yet"),
        ):
            self.query_one(tile, Tile).show(
                duration(value), measured if value is not None else missing
            )
        self.query_one("#tile-count", Tile).show(str(times.incidents), "detected")
        self.query_one("#times-line", Static).update(
            f"Last 30 days: {times.incidents} incidents · MTTD {duration(times.mttd)}"
            f" · MTTI {duration(times.mtti)} · MTTR {duration(times.mttr)}"
        )
        queue = self.query_one("#queue", VimDataTable)
        # The timeline under or beside the queue names the member in full.
        members = shorten_labels([display_name(v.name, v.email) for v in data.queue], MEMBER_WIDTH)
        queue.replace_rows(
            [
                (
                    str(v.id),
                    [
                        str(v.id),
                        Text(v.severity, style="bold red" if v.severity == "critical" else ""),
                        v.status,
                        member,
                        v.rule,
                        v.period.isoformat(),
                    ],
                )
                for v, member in zip(data.queue, members, strict=True)
            ]
        )
        queue.border_title = f"Queue, {self.status} ({len(data.queue)})"
        self._show_timeline()
        self._show_revealed()

    def selected(self) -> IncidentView | None:
        """The highlighted incident, from the last loaded queue."""
        key = self.query_one("#queue", VimDataTable).selected_key()
        if key is None or self.data is None:
            return None
        return next((v for v in self.data.queue if str(v.id) == key), None)

    def _show_timeline(self) -> None:
        view = self.selected()
        if view is not None and self.data is not None:
            story: Text | str = timeline(view, self.data.announced.get(view.id, ()))
        elif self.data is not None and not self.data.queue:
            story = empty_queue(self.status)
        else:
            story = "No incident selected."
        self.query_one("#timeline", Static).update(story)
        shown = view.id if view is not None else None
        if shown != self._timeline_of:
            # A new story is read from its beginning, not from where the last one was left.
            self._timeline_of = shown
            self.query_one("#incident-detail", VimScroll).scroll_home(animate=False)

    def reveal(self, incident_id: int) -> None:
        """Highlight incident ``incident_id``, widening the filter when it is outside it."""
        # Looked for in fresh data: the queue on screen may predate the incident's last change.
        self._reveal = incident_id
        self.reload()

    def _show_revealed(self) -> None:
        wanted = self._reveal
        if wanted is None:
            return
        queue = self.query_one("#queue", VimDataTable)
        try:
            row = queue.get_row_index(str(wanted))
        except RowDoesNotExist:
            if self.status != "all":  # resolved, or outside the filter: look in all of them
                self.query_one("#status-filter", Picker).value = "all"
                return
            self._reveal = None
            self.notify(f"Incident #{wanted} is not in the queue any more.", severity="warning")
            return
        self._reveal = None
        queue.move_cursor(row=row, animate=False)
        queue.focus()
        self._show_timeline()

    @on(DataTable.RowHighlighted, "#queue")
    def _highlighted(self) -> None:
        self._show_timeline()

    @on(DataTable.RowSelected, "#queue")
    def _row_selected(self) -> None:
        self.action_open_member()

    @on(Picker.Changed, "#status-filter")
    def _status_changed(self, event: Picker.Changed[str]) -> None:
        if event.value != self.status:
            self.status = event.value
            self.reload()

    # --- actions ---------------------------------------------------------------------------

    def action_cycle_status(self) -> None:
        following = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.query_one("#status-filter", Picker).value = following

    def action_open_member(self) -> None:
        view = self.selected()
        if view is not None and "@" not in view.email:
            # A team's or a group's budget alert: there is no member to open.
            self.notify(f"Incident #{view.id} is about {view.email}, not one member.", timeout=3)
        elif view is not None:
            self.context.open_member(view.email)

    def _open_selection(self) -> IncidentView | None:
        """The highlighted incident if an action can still change it, else None (and why)."""
        view = self.selected()
        if view is not None and view.status == "resolved":
            self.notify(f"Incident #{view.id} is already resolved.", severity="warning")
            return None
        return view

    def action_acknowledge(self) -> None:
        view = self._open_selection()
        if view is not None:
            self._change(view.id, "acknowledge")

    def action_resolve(self) -> None:
        view = self._open_selection()
        if view is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(view.id, "resolve")

        self.app.push_screen(
            ConfirmDialog(f"Resolve incident #{view.id}?\n{view.message}"), answered
        )

    @work(thread=True, exclusive=True, group="incident-action", exit_on_error=False)
    def _change(self, incident_id: int, action: str) -> None:
        """Acknowledge or resolve in one transaction, then reload the queue."""
        tracker = self.context.tracker
        apply = tracker.acknowledge if action == "acknowledge" else tracker.resolve
        try:
            view = apply(incident_id).incident
        except Exception as exc:  # shown, never raised into the UI
            self.notify_failure_from_thread(exc, action)
            return
        self.app.call_from_thread(self.notify, f"Incident #{view.id} {view.status}.")
        self.app.call_from_thread(self.reload)
