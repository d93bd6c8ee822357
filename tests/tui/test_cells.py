"""Table cells: one line, cropped or padded to the column by terminal cells, never markup."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement

from tracker_tui.widgets.tables import Cell, right


def drawn(cell: Cell, width: int) -> str:
    console = Console(width=80, color_system=None)
    lines = console.render_lines(cell, console.options.update(width=width, no_wrap=True))
    return "".join(segment.text for segment in lines[0])


def test_text_pads_left_aligned_and_numbers_right_aligned() -> None:
    assert drawn(Cell("Ana"), 6) == "Ana   "
    assert drawn(right("$1.2k"), 8) == "   $1.2k"


def test_wide_characters_count_two_cells_and_crop_on_a_cell_boundary() -> None:
    name = Cell("王小明 Wang")
    assert Measurement.get(Console(), Console().options, name) == Measurement(11, 11)
    assert drawn(name, 12) == "王小明 Wang "
    assert drawn(name, 5) == "王小 "  # the third character would straddle the edge
    assert drawn(name, 4) == "王小"


def test_markup_and_line_breaks_show_as_written_on_one_line() -> None:
    assert drawn(Cell("Ana [contractor] [/]"), 20) == "Ana [contractor] [/]"
    assert drawn(Cell("two\nlines"), 9) == "two lines"
    assert str(Cell("Ana [b]")) == "Ana [b]"
