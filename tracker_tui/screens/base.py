"""The shape every data screen shares: load in a thread worker, show on the UI thread.

``load`` runs in a thread (database only, no widgets); ``show`` gets its result on the UI
thread. A failed load becomes an error notification and the last good data stays on screen.
Each finished load tells the app, which schedules the next auto-refresh only then, so
refreshes never overlap.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from time import monotonic
from typing import Any, ClassVar, Generic, TypeVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from tracker_core.service import failure_message
from tracker_tui.context import TrackerContext
from tracker_tui.early import EarlyLoad
from tracker_tui.textual_private import adopt_current_styles, drop_covered_layout_request
from tracker_tui.widgets.keybar import KeyBar
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.status import TopBar

T = TypeVar("T")

LOAD_GROUP = "load"
NARROW = 110
"""Below this many columns, side-by-side panels stack and secondary ones hide."""
SHORT = 32
"""Below this many rows, charts shrink and tiles fold into one line."""
TINY = 66
"""Below this many columns, a row of four tiles no longer fits (four of their 16-cell least
plus the pane's scrollbar), and the tiles go two by two: squeezed into one row, Textual gave
each the whole width and only the first was on screen."""

BODY_SCROLL_KEYS: tuple[tuple[str, str], ...] = (
    ("j", "scroll_down"),
    ("down", "scroll_down"),
    ("k", "scroll_up"),
    ("up", "scroll_up"),
    ("g", "scroll_home"),
    ("home", "scroll_home"),
    ("G", "scroll_end"),
    ("end", "scroll_end"),
    ("pagedown", "page_down"),
    ("pageup", "page_up"),
)
"""Keys that scroll the screen's pane when no focused widget takes them (nothing focused)."""


def plain_error(error: BaseException | None, database: str | None = None) -> str:
    """A failed load or action in words for a notification (see ``failure_message``)."""
    return failure_message(error, database)


class DataScreen(Screen[None], Generic[T]):
    """A screen that loads one dataclass from the database and shows it."""

    SCREEN_TITLE: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        # system: the help lists them once, under "Scrolling panes", not under every screen.
        Binding(key, f"scroll_body('{action}')", show=False, system=True, id=f"body-{key}")
        for key, action in BODY_SCROLL_KEYS
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: T | None = None
        """The last good data, kept on screen when a refresh fails."""
        self._first_load_started = False
        self._ready: T | None = None
        self._early: EarlyLoad[Any] | None = None
        """The load the app started early for this screen, while its completion may follow."""
        self.loads = 0
        """Loads started (a count the tests watch)."""
        self._shown_at: float | None = None
        """When data was last put on screen (monotonic seconds)."""
        self._covered = False
        """Whether the screen was suspended under a modal (help, a picker, a dialog)."""
        adopt_current_styles(self)

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        """Lay the screen out, counting a layout asked for before as done by this one (see
        :func:`tracker_tui.textual_private.drop_covered_layout_request`)."""
        drop_covered_layout_request(self, scroll=scroll)
        super()._refresh_layout(size, scroll)

    def action_scroll_body(self, action: str) -> None:
        """A scroll key that reached the screen (nothing focused took it) scrolls its pane.

        Leaving a form field, or a click on a part of the screen that takes no focus, leaves
        nothing focused; the keys still scroll, as the help promises.
        """
        pane = next((p for p in self.query(VimScroll) if p.display and p.max_scroll_y), None)
        if pane is not None:
            getattr(pane, f"action_{action}")()

    @property
    def context(self) -> TrackerContext:
        return cast(TrackerContext, self.app)

    def compose_header(self) -> ComposeResult:
        yield TopBar(id="status")

    def compose_body(self) -> ComposeResult:
        yield from ()

    def compose(self) -> ComposeResult:
        # The first data is asked for before the widgets exist (for the app's first screen,
        # as the app was created: tracker_tui.early). Figures the database already holds
        # ready-made are read on the spot and shown with the first paint; anything that needs
        # a scan goes to a worker, which runs while the widgets are laid out.
        self._first_load_started = True
        early = self.context.claim_first_load(self)
        if early is not None:
            self._early = early
            self._ready = cast("T | None", early.ready())
            if self._ready is None:
                self._take_over(early)
        else:
            self._ready = self._ready_data()
            if self._ready is None:
                self.reload()
        yield from self.compose_header()
        yield from self.compose_body()
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = self.SCREEN_TITLE
        if self._ready is not None:  # the widgets exist now, and nothing is painted yet
            self._first_data(self._ready)
            self._ready = None

    def on_resize(self, event: Resize) -> None:
        """``-narrow``, ``-tiny`` and ``-short`` let app.tcss stack or hide panels on small
        terminals."""
        self.set_class(event.size.width < NARROW, "-narrow")
        self.set_class(event.size.width < TINY, "-tiny")
        self.set_class(event.size.height < SHORT, "-short")

    def on_screen_suspend(self) -> None:
        self._covered = isinstance(self.app.screen, ModalScreen)

    def on_screen_resume(self) -> None:
        """Coming to the front: fresh stamp, and fresh data unless only a modal covered it.

        A mode switch or a drilldown left behind can have taken any time, so the data is read
        again. Closing help or a picker is a moment later: the figures on screen are as fresh
        as the refresh interval promises, and reading them again would only redraw the tables.
        What a dialog changes (an incident resolved) the screen reloads itself.
        """
        self.context.push_status()
        if self._first_load_started:
            self._first_load_started = False  # the first resume follows compose's load
            return
        covered, self._covered = self._covered, False
        if covered and self._recently_shown():
            return
        self.reload()

    def _recently_shown(self) -> bool:
        shown = self._shown_at
        return shown is not None and monotonic() - shown < self.context.refresh_seconds

    def load(self) -> T:
        """Read the screen's data; runs in a thread, so it must not touch widgets."""
        raise NotImplementedError

    def load_ready(self) -> T | None:
        """The screen's data when it can be had without a scan (a few small queries), else None.

        Called on the UI thread before the first paint; the default always defers to ``load``.
        """
        return None

    def _ready_data(self) -> T | None:
        try:
            return self.load_ready()
        except Exception:  # the worker's load reports whatever is wrong, plainly
            return None

    def _first_data(self, data: T) -> None:
        self.data = data
        self.show(data)
        self._shown_at = monotonic()
        self.context.load_finished()

    def show(self, data: T) -> None:
        """Put freshly loaded data on screen (UI thread)."""

    def _take_over(self, early: EarlyLoad[Any]) -> None:
        """Wait for the load the app started early as this screen's own first load."""
        self.loads += 1
        self.run_worker(
            early.result(),
            exclusive=True,
            group=LOAD_GROUP,
            exit_on_error=False,
            name=f"load {self.SCREEN_TITLE}",
        )

    def take_follow_up(self) -> bool:
        """Wait for the completion of the first data that the early load is computing (see
        :mod:`tracker_tui.early`) instead of loading again; False when there is none."""
        early, self._early = self._early, None
        pending = None if early is None else early.follow_up()
        if pending is None:
            return False
        self.loads += 1
        self.run_worker(
            self._follow(pending),
            exclusive=True,
            group=LOAD_GROUP,
            exit_on_error=False,
            name=f"load {self.SCREEN_TITLE}",
        )
        return True

    async def _follow(self, pending: Future[T | None]) -> T:
        completed = await asyncio.wrap_future(pending)
        return await asyncio.to_thread(self.load) if completed is None else completed

    def reload(self) -> None:
        """Start a load; a load already running is cancelled (the newer one wins)."""
        self._early = None  # its completion would be of the data this load replaces
        self.loads += 1
        self.run_worker(
            self.load,
            thread=True,
            exclusive=True,
            group=LOAD_GROUP,
            exit_on_error=False,
            name=f"load {self.SCREEN_TITLE}",
        )

    def notify_failure_from_thread(self, error: BaseException, what: str) -> None:
        """A worker thread's failed action as an error notification titled "Could not
        ``what``": shown, never raised into the UI."""
        self.app.call_from_thread(
            self.notify,
            plain_error(error, self.context.tracker.database_url),
            title=f"Could not {what}",
            severity="error",
        )

    @on(Worker.StateChanged)
    def _load_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != LOAD_GROUP:
            return
        if event.state == WorkerState.SUCCESS:
            self.data = cast(T, worker.result)
            self.show(self.data)
            self._shown_at = monotonic()
        elif event.state == WorkerState.ERROR:
            self.notify(
                plain_error(worker.error, self.context.tracker.database_url),
                title=f"Could not load {self.SCREEN_TITLE.lower()}",
                severity="error",
            )
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.context.load_finished()
