"""The Textual application: modes for the five screens, global keys, refresh loop, collection.

One ``Tracker`` (the core's seam) serves every screen and is closed on exit. Database and
network work runs in thread workers; the UI thread only shows results. Auto-refresh reloads
the current screen every ``refresh_seconds``, but the next refresh is scheduled only when the
previous load has finished, and it is skipped (then rescheduled) while paused, while a modal
is open and while a collection runs. Each refresh also looks for incidents opened since the
last look (by cron, the daemon or another instance) and announces them (``tracker_tui.watch``).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any, ClassVar

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tracker_core import incidents
from tracker_core.clock import Clock, utc_now
from tracker_core.config import Settings
from tracker_core.jobs.stoppable import StoppableRun, Stopped
from tracker_core.service import open_tracker
from tracker_core.text import plural
from tracker_core.views.overview import Overview
from tracker_tui.commands import TrackerCommands
from tracker_tui.early import EarlyLoad
from tracker_tui.progress import IDLE, Activity, TuiProgress
from tracker_tui.screens.base import DataScreen, plain_error
from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.member import MemberScreen
from tracker_tui.screens.members import MembersScreen, first_overview
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.screens.settings import SettingsScreen
from tracker_tui.watch import NOTICE_SECONDS, new_incident_notices
from tracker_tui.widgets.status import StatusState, TopBar

SCREENS: tuple[tuple[str, str, str], ...] = (
    ("1", "overview", "Overview"),
    ("2", "insights", "Insights"),
    ("3", "members", "Members"),
    ("4", "incidents", "Incidents"),
    ("5", "settings", "Settings"),
)
"""(key, mode, title) of each screen, in the order of the number keys."""


@dataclass(frozen=True)
class CollectionOutcome:
    """What a collection from the console tells the person: its summary, and whether any
    stream failed (the notification is then an error, titled so)."""

    text: str
    failed: bool


class TrackerApp(App[None]):
    """``cursor-tracker tui``: who spends what, and the incident queue, from the keyboard."""

    TITLE = "Cursor Usage Tracker"
    CSS_PATH = Path(__file__).parent / "app.tcss"
    COMMANDS = App.COMMANDS | {TrackerCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "overview": OverviewScreen,
        "insights": InsightsScreen,
        "members": MembersScreen,
        "incidents": IncidentsScreen,
        "settings": SettingsScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Help and quit first: the key bar drops what does not fit, and these two must show.
        Binding("question_mark", "help", "Help", key_display="?", id="help", tooltip="Key list"),
        Binding("q", "back_or_quit", "Back/Quit", id="back-or-quit", tooltip="Back, or quit"),
        *(
            Binding(key, f"goto('{mode}')", title, id=f"goto-{mode}", tooltip=f"{title} screen")
            for key, mode, title in SCREENS
        ),
        Binding("c", "collect", "Collect", id="collect", tooltip="Collect now, then detect"),
        Binding("p", "toggle_pause", "Pause", id="pause", tooltip="Pause or resume auto-refresh"),
        Binding("space", "refresh_now", "Refresh", show=False, id="refresh", tooltip="Reload now"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        refresh_seconds: float = 30.0,
        collect: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.can_collect = collect
        """False in read-only uses (the demo browsing a snapshot): ``c`` explains, not collects."""
        self.tracker = open_tracker(settings, clock=clock)
        self._first_load: EarlyLoad[Overview] | None = first_overview(self.tracker)
        """The first screen's data, read while Textual starts (``claim_first_load``)."""
        self.paused = False
        self.collecting = False
        self.last_collected: datetime | None = None
        self.complete_up_to: datetime | None = None
        """How far usage events are complete (the status line says it), once read."""
        self._collected_known = False
        """True once a load or the status query has said when data was last collected."""
        self.activity: Activity = IDLE
        self._collection: StoppableRun | None = None
        """The running collection, which quitting stops at its next safe point."""
        self.quitting = False
        """Quit was asked for while a collection ran: the app exits once it has stopped."""
        self._activity_timer: Timer | None = None
        self._refresh_timer: Timer | None = None
        self._awaiting_load = False
        self.auto_refreshes = 0
        """Reloads started by the timer (the tests watch it stop while paused)."""
        self._incidents_seen: int | None = None
        """The highest incident number already on screen or announced; None until known."""

    # --- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        # The overview (like the members screen) reads the collection stamp with its figures,
        # before the first paint; had its load failed, the stamp is asked for separately.
        if not self._collected_known:
            self.load_status()
        self._schedule_refresh()

    def on_unmount(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self.tracker.close()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text, whatever the caller asks: they carry error
        messages and names ("[Errno 111] Connection refused") that Rich markup would mangle
        or fail on."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # --- what the screens call (TrackerContext) --------------------------------------------

    def load_finished(self) -> None:
        if self._incidents_seen is None:
            # After the first screen is up, not before: the start stays as quick as it was.
            self.watch_incidents()
        if self._awaiting_load:
            self._awaiting_load = False
            if not self._collected_known:  # the screen's own load did not say (see below)
                self.load_status()
            self._schedule_refresh()

    def claim_first_load(self, screen: object) -> EarlyLoad[Any] | None:
        # The overview is the first screen (DEFAULT_MODE); whatever screen asks first, later
        # screens read their own data, as fresh as they are opened.
        early, self._first_load = self._first_load, None
        return early if isinstance(screen, OverviewScreen) else None

    def open_member(self, email: str) -> None:
        days = getattr(self.screen, "days", 30)
        self.push_screen(MemberScreen(email, days=days if isinstance(days, int) else 30))

    def open_incident(self, incident_id: int) -> None:
        self.run_worker(self._open_incident(incident_id), exclusive=True, group="open-incident")

    async def _open_incident(self, incident_id: int) -> None:
        if self.current_mode != "incidents":
            await self.switch_mode("incidents")
        # A drilldown pushed over the queue is left, as q would leave it.
        while len(self.screen_stack) > 1 and not isinstance(self.screen, IncidentsScreen):
            await self.pop_screen()
        if isinstance(self.screen, IncidentsScreen):
            self.screen.reveal(incident_id)

    def status_state(self) -> StatusState:
        return StatusState(
            last_collected=self.last_collected,
            now=self.clock(),
            paused=self.paused,
            refresh_seconds=self.refresh_seconds,
            activity=self.activity.line(monotonic()),
            complete_up_to=self.complete_up_to,
        )

    def note_collected(self, when: datetime | None) -> None:
        self.last_collected = when
        self._collected_known = True
        self.push_status()
        # Completeness moves only with collections, read again whenever the age is.
        self.load_completeness()

    def push_status(self) -> None:
        """Redraw the status line of the screen in front (each screen has its own)."""
        state = self.status_state()
        try:
            screen = self.screen
        except ScreenStackError:  # a worker finishing while the app shuts down
            return
        for line in screen.query(TopBar):
            line.show(state)

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        commands: list[tuple[str, Callable[[], object], str]] = [
            (f"Go to {title}", partial(self.action_goto, mode), f"key {key}")
            for key, mode, title in SCREENS
        ]
        commands += [
            ("Collect now", self.action_collect, "collect, then run detection (key c)"),
            ("Refresh now", self.action_refresh_now, "reload this screen (space)"),
            ("Pause or resume auto-refresh", self.action_toggle_pause, "key p"),
            ("Show key bindings", self.action_help, "key ?"),
        ]
        return commands

    # --- refresh loop ----------------------------------------------------------------------

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self._refresh_timer = self.set_timer(self.refresh_seconds, self._refresh_tick)

    def _refresh_tick(self) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # the app is shutting down
            return
        skip = (
            self.paused
            or self.collecting
            or isinstance(screen, ModalScreen)
            or not isinstance(screen, DataScreen)
        )
        if skip or not isinstance(screen, DataScreen):
            self._schedule_refresh()
            return
        self._awaiting_load = True
        self._collected_known = False  # overview and members loads say; other screens ask after
        self.auto_refreshes += 1
        screen.reload()
        self.watch_incidents()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def load_status(self) -> datetime | None:
        """When data was last collected, for the stamp under the header."""
        return self.tracker.last_collected()

    @work(thread=True, exclusive=True, group="completeness", exit_on_error=False)
    def load_completeness(self) -> datetime | None:
        """How far usage events are complete, for the status line."""
        events = self.tracker.completeness().get("usage_events")
        return None if events is None else events.complete_up_to

    @work(thread=True, exclusive=True, group="incident-watch", exit_on_error=False)
    def watch_incidents(self) -> None:
        """Announce incidents opened since the last look (the first look only takes a mark)."""
        seen = self._incidents_seen
        if seen is None:
            newest = self.tracker.newest_incident_id()
            self.call_from_thread(self._mark_incidents_seen, newest)
            return
        opened = self.tracker.incidents_opened_after(seen)
        if opened:
            self.call_from_thread(self._announce_incidents, opened)

    def _mark_incidents_seen(self, newest: int) -> None:
        self._incidents_seen = max(newest, self._incidents_seen or 0)

    def _announce_incidents(self, opened: list[incidents.IncidentView]) -> None:
        # Two looks may overlap (a refresh while the previous one ran): tell each one once.
        seen = self._incidents_seen or 0
        unseen = [view for view in opened if view.id > seen]
        if not unseen:
            return
        self._mark_incidents_seen(unseen[-1].id)
        for notice in new_incident_notices(unseen):
            self.notify(
                notice.message, title=notice.title, severity=notice.severity, timeout=NOTICE_SECONDS
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "status" and event.state == WorkerState.SUCCESS:
            result = worker.result
            self.note_collected(result if isinstance(result, datetime) else None)
        elif worker.group == "completeness" and event.state == WorkerState.SUCCESS:
            result = worker.result
            self.complete_up_to = result if isinstance(result, datetime) else None
            self.push_status()
        elif worker.group == "collect":
            self._collect_changed(event)

    # --- actions ---------------------------------------------------------------------------

    def action_goto(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_back_or_quit(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.request_quit()

    async def action_quit(self) -> None:
        """Ctrl+Q: as ``q`` on a screen at the bottom of its stack."""
        self.request_quit()

    def action_help_quit(self) -> None:
        """Ctrl+C: while a collection is being stopped for a quit, quit at once; else explain."""
        if self.quitting:
            self.request_quit()
        else:
            super().action_help_quit()

    def request_quit(self) -> None:
        """Quit now, or, during a collection, stop it first and quit when it has stopped.

        Stopping takes a moment at most (the collection is cancelled at its next wait or
        request); asking again quits at once, abandoning what the collection had not yet
        committed (the next collection fetches it again).
        """
        if self._collection is None or self.quitting:
            self.exit()
            return
        self.quitting = True
        self._collection.stop()
        self.set_activity(Activity("stopping the collection to quit (q again: quit now)…"))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, list(Binding.make_bindings(self.BINDINGS))))

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Auto-refresh paused." if self.paused else "Auto-refresh resumed.", timeout=2)
        self.push_status()

    def action_refresh_now(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.screen.reload()
        self.load_status()
        self.watch_incidents()

    def action_collect(self) -> None:
        if not self.can_collect:
            self.notify("Collection is off in this session.", severity="warning")
            return
        if self.collecting:
            self.notify("A collection is already running.", timeout=2)
            return
        self.collecting = True
        self._collection = StoppableRun()
        # The status line counts a rate-limit wait down, so it is redrawn every second.
        self._activity_timer = self.set_interval(1.0, self.push_status)
        self.set_activity(Activity("collecting…"))
        self._collect(self._collection)

    # --- collection ------------------------------------------------------------------------

    def set_activity(self, activity: Activity) -> None:
        if self.quitting and activity.text and not activity.text.startswith("stopping"):
            return  # progress still arriving after the quit must not hide what is awaited
        self.activity = activity
        self.push_status()

    def _post_activity(self, loop: asyncio.AbstractEventLoop, activity: Activity) -> None:
        """From the collection thread, without waiting: the app may have quit already."""
        with suppress(RuntimeError):  # its loop is closed: nobody is watching any more
            loop.call_soon_threadsafe(self.set_activity, activity)

    @work(exclusive=True, group="collect", exit_on_error=False)
    async def _collect(self, run: StoppableRun) -> CollectionOutcome:
        """Collect in a thread of its own, then detect; returns the summary for a notification.

        Not a thread worker: Textual's closing waits for those, so a quit would wait for the
        collection. This thread is a daemon, stopped by ``run.stop()`` at a safe point, and
        abandoned if the person quits again before that (see
        :mod:`tracker_core.jobs.stoppable`).
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[CollectionOutcome] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not done.done():  # the worker was cancelled (the app quit) meanwhile
                outcome()

        def deliver(outcome: Callable[[], None]) -> None:
            with suppress(RuntimeError):  # the app's loop is closed: nobody waits any more
                loop.call_soon_threadsafe(settle, outcome)

        def collect() -> None:
            try:
                text = self._collect_and_detect(run, loop)
            except Exception as exc:
                deliver(partial(done.set_exception, exc))
            else:
                deliver(partial(done.set_result, text))

        threading.Thread(target=collect, name="collection", daemon=True).start()
        return await done

    def _collect_and_detect(
        self, run: StoppableRun, loop: asyncio.AbstractEventLoop
    ) -> CollectionOutcome:
        progress = TuiProgress(partial(self._post_activity, loop))
        result = self.tracker.cron(
            progress,
            run=run,
            on_detect=partial(self._post_activity, loop, Activity("running detection…")),
        )
        summary, report = result.collect, result.detect
        fetched = sum(stream.fetched for stream in summary.streams)
        text = (
            f"Collected {plural(fetched, 'row')}; detection: {plural(report.new, 'new incident')}."
        )
        failure = summary.failure_message()
        if failure is not None:
            text += f" {failure[0].upper()}{failure[1:]}."
        return CollectionOutcome(text, failed=failure is not None)

    def _collect_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.collecting = False
        self._collection = None
        if self._activity_timer is not None:
            self._activity_timer.stop()
            self._activity_timer = None
        if self.quitting:
            self.exit()
            return
        self.set_activity(IDLE)
        error = event.worker.error
        outcome = event.worker.result
        if event.state == WorkerState.SUCCESS and isinstance(outcome, CollectionOutcome):
            # A rejected key or an outage ends the run without an exception: it must still
            # read as a failure, not as a collection that finished with nothing new.
            if outcome.failed:
                self.notify(outcome.text, title="Collection failed", severity="error")
            else:
                self.notify(outcome.text, title="Collection finished")
        elif isinstance(error, Stopped):
            self.notify("The next collection continues from where it stopped.", title="Stopped")
        elif event.state == WorkerState.ERROR:
            self.notify(
                plain_error(error, self.tracker.database_url),
                title="Collection failed",
                severity="error",
            )
        self.action_refresh_now()


def run_tui(settings: Settings) -> None:
    """Run the console until the person quits (``cursor-tracker tui``).

    What the imports created (some 100,000 modules, classes and functions) lives as long as
    the process; freezing it keeps the garbage collector's full passes, each of which would
    walk all of it (about 50 ms), off the first paint and the refreshes after it.
    """
    gc.freeze()
    TrackerApp(settings).run()
