"""Tables: a DataTable with vim keys, and the members table with search and sort on every column."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import TextType
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tracker_core.dashboard import MemberRow
from tracker_tui.format import column_counts, day, money


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

    def replace_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Refill by row key, keeping the highlighted row when it is still there."""
        selected = self.selected_key()
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def selected_key(self) -> str | None:
        """Key of the highlighted row, ``None`` on an empty table."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor can point past a table that just shrank
            return None
        return key.value


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


COLUMNS: tuple[Column, ...] = (
    Column("Name", lambda r: r.name.lower(), lambda r: r.name + (" (removed)" * r.is_removed)),
    Column("Spend", lambda r: r.spend_cents, lambda r: right(money(r.spend_cents)), True),
    Column("Requests", lambda r: r.requests, lambda r: "", True, counts=lambda r: r.requests),
    Column("Tokens", lambda r: r.tokens, lambda r: "", True, counts=lambda r: r.tokens),
    Column("Top model", lambda r: r.top_model or "", lambda r: r.top_model or "—"),
    Column(
        "Last active",
        lambda r: r.last_active.isoformat() if r.last_active else "",
        lambda r: day(r.last_active),
        True,
    ),
    Column("Incidents", lambda r: r.open_incidents, lambda r: right(str(r.open_incidents)), True),
    Column("Group", lambda r: r.group.lower(), lambda r: r.group or "—"),
    Column("Email", lambda r: r.email.lower(), lambda r: r.email),
)


class MembersTable(VimDataTable):
    """Members over the window; filtered by a search text, sorted by any column."""

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
        self.sort_column = 1
        self.sort_reverse = True
        self._matching = 0
        """How many members the search leaves, as of the last rebuild (the title says it)."""

    def on_mount(self) -> None:
        if not self.columns:  # data shown before mounting has added them already
            self._add_columns()

    def _add_columns(self) -> None:
        for index, column in enumerate(COLUMNS):
            arrow = (" ▼" if self.sort_reverse else " ▲") if index == self.sort_column else ""
            self.add_column(column.label + arrow, key=str(index))

    def show(self, members: Sequence[MemberRow]) -> None:
        self._members = list(members)
        self._rebuild()

    def filter(self, text: str) -> None:
        """Keep members whose name, email, group or top model contains ``text``."""
        self.search = text.strip().lower()
        self._rebuild()

    def sort_by(self, index: int) -> None:
        """Sort by column ``index``; choosing the current column again flips the order."""
        if index == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = index
            self.sort_reverse = COLUMNS[index].descending
        self._rebuild()

    def cycle_sort(self) -> str:
        """Move the sort to the next column; returns its label for a notification."""
        self.sort_by((self.sort_column + 1) % len(COLUMNS))
        return COLUMNS[self.sort_column].label

    def shown_rows(self) -> list[MemberRow]:
        """The rows shown, in order: what the search and sort leave."""
        rows = [
            r
            for r in self._members
            if not self.search
            or any(
                self.search in (value or "").lower()
                for value in (r.name, r.email, r.group, r.top_model)
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
        if self.limit is not None and matching > self.limit:
            shown = f"top {self.limit} of {matching}; / searches all"
        else:
            shown = f"{matching} shown"
        return f"Members, last {days} days ({shown})"

    def _rebuild(self) -> None:
        selected = self.selected_key()
        self.clear(columns=True)
        self._add_columns()
        rows = self.shown_rows()
        self._matching = len(rows)
        shown = rows[: self.limit]
        counted = {
            index: column_counts([column.counts(row) for row in shown])
            for index, column in enumerate(COLUMNS)
            if column.counts is not None
        }
        for n, row in enumerate(shown):
            cells = (
                right(counted[index][n]) if index in counted else column.cell(row)
                for index, column in enumerate(COLUMNS)
            )
            self.add_row(*cells, key=row.email)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(event.column_index)
