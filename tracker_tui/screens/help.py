"""The ``?`` screen: every binding of the screen underneath, then the app's, built from BINDINGS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tracker_core.badges import BADGES, HEURISTIC_NOTE
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable


def own_bindings(node: type[DOMNode]) -> list[Binding]:
    """The bindings a class of ours declares, inherited ones included, nearest class first."""
    found: list[Binding] = []
    seen: set[str] = set()
    for cls in node.__mro__:
        if not cls.__module__.startswith("tracker_tui") or "BINDINGS" not in cls.__dict__:
            continue
        for binding in Binding.make_bindings(cls.__dict__["BINDINGS"]):
            if binding.system:  # a fallback listed where its keys belong (scrolling panes)
                continue
            if binding.key not in seen:
                seen.add(binding.key)
                found.append(binding)
    return found


KEY_WIDTH = 14
"""Every table's key column is this wide, so the descriptions line up from table to table."""

EVERYWHERE_EXTRA: tuple[tuple[str, str], ...] = (
    (
        "tab",
        "Next pane: Tab (Shift+Tab back) moves between a screen's parts, e.g. the"
        " incident queue and its timeline",
    ),
    ("ctrl+p", "Commands: every screen and action by name"),
)
"""Keys Textual provides rather than our BINDINGS, which a newcomer still needs to know."""


def binding_table(
    title: str,
    bindings: list[Binding],
    display: Callable[[Binding], str],
    extra: Sequence[tuple[str, str]] = (),
) -> Table:
    """Key and description in two columns; ``display`` shows a key as the key bar does
    ("/" for ``slash``), ``extra`` adds rows for keys no binding of ours declares."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=KEY_WIDTH)
    table.add_column("action", ratio=1)  # the only column that takes the spare width
    for binding in bindings:
        description = binding.description or binding.action.replace("_", " ")
        if binding.tooltip:
            description = f"{description}: {binding.tooltip}"
        table.add_row(display(binding), description)
    for key, description in extra:
        table.add_row(display(Binding(key, "")), description)
    return table


def badge_table() -> Table:
    """Each badge's rule, for the screens that show badges: they are heuristics, and a
    manager reading "Over Budget" next to a name should see how little it rests on."""
    # Not a table of keys: it starts at the edge, so its labels (several words) are not read
    # as keys whose descriptions must line up with the key tables above.
    table = Table(
        title="Badges (heuristics)",
        title_justify="left",
        show_header=False,
        box=None,
        expand=True,
        pad_edge=False,
    )
    table.add_column("badge", style="bold", no_wrap=True, width=KEY_WIDTH + 4)
    table.add_column("rule", ratio=1)
    for badge in BADGES:
        table.add_row(badge.label, badge.rule)
    table.add_row("", HEURISTIC_NOTE)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the screen's bindings, the table keys when it has a table, and the global keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="help-close"),
        Binding("q", "dismiss", "Close", show=False, id="help-close-q"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help-close-question"),
    ]

    def __init__(self, target: Screen[object], app_bindings: list[Binding]) -> None:
        super().__init__()
        self.target = target
        self.app_bindings = app_bindings

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "SCREEN_TITLE", "") or type(self.target).__name__
        display = self.app.get_key_display
        with VimScroll(id="help"):
            yield Static(binding_table(f"{title} screen", own_bindings(type(self.target)), display))
            if self.target.query(VimDataTable):
                yield Static(binding_table("Tables", own_bindings(VimDataTable), display))
            if self.target.query(VimScroll):
                yield Static(binding_table("Scrolling panes", own_bindings(VimScroll), display))
            if getattr(self.target, "SHOWS_BADGES", False):
                yield Static(badge_table())
            yield Static(binding_table("Everywhere", self.app_bindings, display, EVERYWHERE_EXTRA))
            yield Static("Escape or ? closes this help.", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "Key bindings"
