"""Tables: a DataTable with vim keys, and the members table with search and sort on every column."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import TextType
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tracker_core.badges import BY_ID
from tracker_core.badges import cell as badge_cell
from tracker_core.formatting import column_counts, day, money
from tracker_core.text import plural
from tracker_core.views.overview import MemberRow
from tracker_tui.format import shorten_labels
from tracker_tui.widgets.scroll import VimScroll


class Cell:
    """A table cell: one line of plain text, cropped or padded to its column.

    DataTable measures every cell of every row it holds and renders every visible cell at each
    paint, all through Rich. A Rich ``Text`` brings its wrapping, justification and spans to
    each of them, which made up most of the time a table takes to paint; a cell here is just
    the string, its width in terminal cells, and a side to align on. It is never markup, so a
    name like "Ana [contractor]" shows as written.
    """

    __slots__ = ("_right", "_style", "_text", "_width")

    def __init__(self, text: str, *, right: bool = False, style: str = "") -> None:
        self._text = text.replace("\n", " ")
        self._width = cell_len(self._text)
        self._right = right
        self._style = style

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Cell({self._text!r})"

    @property
    def looks(self) -> tuple[str, bool, str]:
        """What a paint of the cell depends on: two cells alike look the same."""
        return (self._text, self._right, self._style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self._width, self._width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = options.max_width
        if self._width > width:
            line = set_cell_size(self._text, width)
        elif self._right:
            line = " " * (width - self._width) + self._text
        else:
            line = self._text + " " * (width - self._width)
        yield Segment(line, console.get_style(self._style) if self._style else None)


def right(value: str) -> Cell:
    """Numbers align on the right, as in a spreadsheet."""
    return Cell(value, right=True)


class VimDataTable(DataTable[Any]):
    """Row cursor, zebra stripes and j/k/g/G, as people who live in terminals expect."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table-down", tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="table-up", tooltip="Previous row"),
        Binding("g", "scroll_top", "First row", show=False, id="table-top"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="table-bottom"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        """Text cells are shown as written: DataTable reads a ``str`` as Rich markup, so a
        member called "Ana [contractor]" would lose a word and a "[/]" would crash the screen."""
        shown = (Cell(cell) if isinstance(cell, str) else cell for cell in cells)
        return super().add_row(*shown, height=height, key=key, label=label)

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        """Keep the highlighted row on screen, also when the table sits in a scrolling pane.

        (An override of a private DataTable method: see :mod:`tracker_tui.textual_private`.)

        DataTable scrolls only itself, so a table taller than what its pane shows of it (the
        overview's members at 80x24, a drilldown's anomaly history) let j move the cursor
        below the fold: the row was highlighted where nobody could see it. The pane follows
        the cursor, but only while the table has the keys: a refresh or the first fill must
        not scroll the tiles away.
        """
        super()._scroll_cursor_into_view(animate=animate)
        if self.has_focus and self.row_count:
            self.call_after_refresh(self._reveal_cursor_in_pane)

    def _pane(self) -> VimScroll | None:
        return next((node for node in self.ancestors if isinstance(node, VimScroll)), None)

    def action_cursor_up(self) -> None:
        """Up a row; on the first row, up the page: what lies above the table (the overview's
        tiles) is reached with the same key, never left behind."""
        pane = self._pane()
        if self.cursor_row == 0 and pane is not None:
            pane.scroll_lines(-1)
            return
        super().action_cursor_up()

    def action_page_up(self) -> None:
        pane = self._pane()
        if self.cursor_row == 0 and pane is not None:
            pane.action_page_up()
            return
        super().action_page_up()

    def _reveal_cursor_in_pane(self) -> None:
        pane = self._pane()
        if pane is None or not self.row_count or not pane.max_scroll_y:
            return
        row = self._get_row_region(self.cursor_row)
        # Where the row is drawn now (the table has scrolled itself), in the pane's own
        # coordinates: the screen line, less the pane's top, plus what the pane scrolled.
        offset = round(pane.scroll_y) - pane.content_region.y
        table_top = self.region.y + offset
        row_top = table_top + self.gutter.top + row.y - round(self.scroll_y)
        bottom = row_top + row.height
        if self.cursor_row == self.row_count - 1:
            bottom += self.gutter.bottom  # the last row with the table's bottom edge
        # With its header too, where the pane has the room: a row under no header is a row
        # of figures nobody can name (and g, the first row, shows the table from its top).
        fits = pane.scrollable_content_region.height
        start = table_top if bottom - table_top <= fits else row_top
        if self.cursor_row == 0 and bottom <= fits:
            start = 0  # the first row with what the page holds above the table: its tiles
        pane.scroll_to_region(
            Region(0, start, 1, bottom - start), animate=False, immediate=True, force=True
        )

    def replace_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Refill by row key, keeping the highlighted row and the scroll position."""
        with self.keeping_view():
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)

    @contextmanager
    def keeping_view(self) -> Iterator[None]:
        """Refill the table inside this and the reader stays where they were.

        ``DataTable.clear`` puts the cursor on the first row and scrolls back to the top left,
        so a refresh every 30 seconds would take away the row someone highlighted and snap a
        sideways scroll back. The highlighted row is found again by its key (it may have
        moved in the new order); the scroll offsets are restored once the table has measured
        its new rows, and only then is the cursor brought into view if it left it.
        """
        selected = self.selected_key()
        x, y = self.scroll_x, self.scroll_y
        yield
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=False)
        if x or y:
            self.call_after_refresh(self._restore_scroll, x, y)

    def _restore_scroll(self, x: float, y: float) -> None:
        self.scroll_to(x, y, animate=False, immediate=True)
        if self.row_count:
            self._scroll_cursor_into_view()

    def selected_key(self) -> str | None:
        """Key of the highlighted row, ``None`` on an empty table."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor can point past a table that just shrank
            return None
        return key.value


UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class Column:
    """A members-table column: its label, how to sort it and how to show a cell."""

    label: str
    sort_key: Callable[[MemberRow], Any]
    cell: Callable[[MemberRow], str | Cell]
    descending: bool = False
    """Numbers start highest first: the question is always "who spends most"."""
    counts: Callable[[MemberRow], int] | None = None
    """A column of counts, shown in one unit for all its rows (``cell`` is then unused)."""
    text: bool = False
    """Free text (names, emails): shortened, distinctly, when it would crowd the others out."""


COLUMNS: tuple[Column, ...] = (
    Column(
        "Name",
        lambda r: r.name.lower(),
        lambda r: r.name + (" (removed)" * r.is_removed),
        text=True,
    ),
    Column("Spend", lambda r: r.spend_cents, lambda r: right(money(r.spend_cents)), True),
    Column("Requests", lambda r: r.requests, lambda r: "", True, counts=lambda r: r.requests),
    Column("Tokens", lambda r: r.tokens, lambda r: "", True, counts=lambda r: r.tokens),
    Column("Top model", lambda r: r.top_model or "", lambda r: r.top_model or "—", text=True),
    # Sorted by the adoption score: the one badge that is a number.
    Column(
        "Badges",
        lambda r: r.adoption.score if r.adoption is not None else -1.0,
        lambda r: badge_cell(r.badges),
        True,
    ),
    Column(
        "Last active",
        lambda r: r.last_active.isoformat() if r.last_active else "",
        lambda r: day(r.last_active),
        True,
    ),
    Column("Incidents", lambda r: r.open_incidents, lambda r: right(str(r.open_incidents)), True),
    # Cursor seats everyone outside a named group in its Unassigned group, the filter's
    # last choice; the column names it the same way.
    Column("Group", lambda r: r.group.lower(), lambda r: r.group or UNASSIGNED, text=True),
    Column("Email", lambda r: r.email.lower(), lambda r: r.email, text=True),
)
PRIORITY: tuple[str, ...] = (
    "Name",
    "Spend",
    "Incidents",
    "Last active",
    "Group",
    "Badges",
    "Requests",
    "Top model",
    "Tokens",
    "Email",
)
"""Which columns a narrow table keeps, first kept first: who, how much, and what needs a look
(open incidents, someone gone quiet) before the detail a drilldown shows anyway. The badges
come after the group: heuristics, one key (f) away as a filter, and in the drilldown."""
SORT_ARROWS = (" ▲", " ▼")
CELL_PADDING = 2
"""DataTable pads each cell by one on both sides."""
TEXT_SHARE = 3
"""A text column takes at most a third of the table's width (but see :data:`TEXT_MIN`)."""
TEXT_MIN = 20
"""Text columns are never shortened below this: a name needs some room to be read."""


def text_cap(room: int) -> int:
    """The most cells a text column may take in a table ``room`` cells wide.

    Names, emails and group names come from outside and can be any length; one of 60
    characters would otherwise push every other column off an 80-column table, leaving a
    list of names with no figures beside them.
    """
    return max(TEXT_MIN, room // TEXT_SHARE)


def fitting_columns(widths: Sequence[int], room: int, priority: Sequence[int]) -> list[int]:
    """The columns (indexes, in table order) to show in ``room`` cells, taken by ``priority``.

    A column is kept while it fits beside the ones kept before it; a wide one that does not
    fit leaves room for narrower ones after it. The first column of the priority is always
    kept, so a table never shows nothing.
    """
    kept: list[int] = []
    used = 0
    for index in priority:
        width = widths[index] + CELL_PADDING
        if not kept or used + width <= room:
            kept.append(index)
            used += width
    return sorted(kept)


class MembersTable(VimDataTable):
    """Members over the window; filtered by a search text, sorted by any column.

    At any width it shows the columns that fit, chosen by :data:`PRIORITY`, and says in its
    bottom border which ones it left out; the sort key moves only among the columns shown.
    """

    def __init__(
        self, *, id: str | None = None, classes: str | None = None, limit: int | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.limit = limit
        """At most this many rows are drawn (the top of the sort); a search reaches the rest.

        Laying out thousands of rows is the slowest part of painting a screen, and nobody
        reads past the first screenfuls of a spend ranking."""
        self._members: list[MemberRow] = []
        self.search = ""
        self.badge: str | None = None
        """A badge id: only the members wearing it are shown (None: everyone)."""
        self.sort_column = 1
        self.sort_reverse = True
        self._matching = 0
        """How many members the search leaves, as of the last rebuild (the title says it)."""
        self.shown_columns: list[int] = list(range(len(COLUMNS)))
        """Indexes into :data:`COLUMNS` of the columns on screen, in table order."""
        self._cells: list[tuple[str, list[str | Cell]]] = []
        self._room = 0
        """The width the columns were last chosen for (0: not laid out yet, show them all)."""
        self._filled: tuple[object, ...] = ()
        """:meth:`_looks` as of the last fill."""

    def on_resize(self) -> None:
        """A new width may fit more columns, or fewer: choose again, keeping the view.

        The first layout fills the table even before any data, so an empty one has headers."""
        if self._room_now() != self._room:
            with self.keeping_view():
                self._fill()

    def _room_now(self) -> int:
        """The cells the columns may take: the content width, less a vertical scrollbar."""
        width = self.content_region.width
        if width <= 0:
            return 0
        return max(1, width - self.styles.scrollbar_size_vertical)

    def show(self, members: Sequence[MemberRow]) -> None:
        self._members = list(members)
        self._rebuild()

    def filter(self, text: str) -> None:
        """Keep members whose name, email, group or top model contains ``text``."""
        self.search = text.strip().lower()
        self._rebuild()

    def filter_badge(self, badge: str | None) -> None:
        """Keep only the members wearing ``badge`` (an id of ``tracker_core.badges``)."""
        self.badge = badge
        self._rebuild()

    def sort_by(self, index: int) -> None:
        """Sort by column ``index``; choosing the current column again flips the order.

        A new order is read from its top: the cursor goes to the first row (a refresh keeps
        the highlighted row; a sort kept it too, and showed the middle of the new ranking as
        if it were its start)."""
        if index == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = index
            self.sort_reverse = COLUMNS[index].descending
        self._rebuild()
        if self.row_count:
            self.move_cursor(row=0, column=self.cursor_column)
            self.scroll_to(y=0, animate=False)

    def cycle_sort(self) -> str:
        """Move the sort to the next column on screen; returns its label for a notification."""
        shown = self.shown_columns
        later = [index for index in shown if index > self.sort_column]
        self.sort_by(later[0] if later else shown[0])
        return COLUMNS[self.sort_column].label

    def shown_rows(self) -> list[MemberRow]:
        """The rows shown, in order: what the search and sort leave."""
        rows = [
            r
            for r in self._members
            if (self.badge is None or self.badge in r.badges)
            and (
                not self.search
                or any(
                    self.search in (value or "").lower()
                    for value in (r.name, r.email, r.group, r.top_model)
                )
            )
        ]
        column = COLUMNS[self.sort_column]
        # Email as a tie-breaker keeps the order identical from run to run.
        rows.sort(key=lambda r: r.email)
        rows.sort(key=column.sort_key, reverse=self.sort_reverse)
        return rows

    def describe(self, days: int) -> str:
        """The table's title: the window and how many rows the search and the limit leave."""
        matching = self._matching
        if self.search:
            shown = f"{matching} match{'es' if matching != 1 else ''} “{self.search}”"
        elif self.limit is not None and matching > self.limit:
            shown = f"top {self.limit} of {matching}; / searches all"
        else:
            shown = f"{matching} shown"
        if self.badge in BY_ID:
            shown = f"{shown} · {BY_ID[self.badge].label}"
        return f"Members, last {days} days ({shown})"

    def _rebuild(self) -> None:
        rows = self.shown_rows()
        self._matching = len(rows)
        # A search shows every match: the limit trims a ranking, not an answer.
        shown = rows if self.search else rows[: self.limit]
        counted = {
            index: column_counts([column.counts(row) for row in shown])
            for index, column in enumerate(COLUMNS)
            if column.counts is not None
        }
        self._cells = [
            (
                row.email,
                [
                    right(counted[index][n]) if index in counted else column.cell(row)
                    for index, column in enumerate(COLUMNS)
                ],
            )
            for n, row in enumerate(shown)
        ]
        if not self._room_now():
            return  # shown before the first layout: the first resize fills it, once
        looks = self._looks()
        if looks == self._filled:
            return  # the same rows as on screen (a refresh that changed nothing): no repaint
        with self.keeping_view():
            self._fill()

    def _looks(self) -> tuple[object, ...]:
        """What the table on screen depends on: the rows' cells, the width and the sort."""
        cells = tuple(
            (key, tuple(cell if isinstance(cell, str) else cell.looks for cell in row))
            for key, row in self._cells
        )
        return (cells, self._room_now(), self.sort_column, self.sort_reverse)

    def _fill(self) -> None:
        """Lay the kept rows out in the columns that fit the width the table has now."""
        self._room = self._room_now()
        self._filled = self._looks()
        cells_by_row = self._fitted_cells()
        widths = [cell_len(column.label) + 2 for column in COLUMNS]  # room for the sort arrow
        for cells in cells_by_row:
            for index, cell in enumerate(cells):
                widths[index] = max(widths[index], cell_len(str(cell)))
        labels = [column.label for column in COLUMNS]
        priority = [labels.index(label) for label in PRIORITY]
        self.shown_columns = (
            fitting_columns(widths, self._room, priority)
            if self._room
            else list(range(len(COLUMNS)))
        )
        self.clear(columns=True)
        for index in self.shown_columns:
            column = COLUMNS[index]
            arrow = SORT_ARROWS[self.sort_reverse] if index == self.sort_column else ""
            self.add_column(column.label + arrow, key=column.label)
        for (key, _), cells in zip(self._cells, cells_by_row, strict=True):
            self.add_row(*(cells[index] for index in self.shown_columns), key=key)
        self.border_subtitle = self._hidden_note()

    def _fitted_cells(self) -> list[list[str | Cell]]:
        """The rows' cells with text longer than :func:`text_cap` shortened, distinctly.

        Two members whose names share a long start ("Maximilian Alexander …") still read as
        two people. The search and the sort keep working on the whole values.
        """
        rows = [list(cells) for _, cells in self._cells]
        if not self._room or not rows:
            return rows
        cap = text_cap(self._room)
        for index, column in enumerate(COLUMNS):
            if not column.text:
                continue
            values = [str(cells[index]) for cells in rows]
            if max(cell_len(value) for value in values) <= cap:
                continue
            for cells, shown in zip(rows, shorten_labels(values, cap), strict=True):
                cells[index] = shown
        return rows

    def _hidden_note(self) -> str:
        """What the table leaves out, so a narrow terminal does not hide it without a sign."""
        hidden = [COLUMNS[i].label for i in range(len(COLUMNS)) if i not in self.shown_columns]
        if not hidden:
            return ""
        note = f"+{plural(len(hidden), 'column')}: {', '.join(hidden)}"
        if self.sort_column not in self.shown_columns:
            arrow = SORT_ARROWS[self.sort_reverse].strip()
            note = f"sorted by {COLUMNS[self.sort_column].label} {arrow} · {note}"
        return note

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        label = event.column_key.value
        index = next(i for i, column in enumerate(COLUMNS) if column.label == label)
        self.sort_by(index)
