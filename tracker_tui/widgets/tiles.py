"""A stat tile: a label, a big value and a note, with a warning style for bad news."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from tracker_tui.format import shorten_middle


class Tile(Widget):
    """One figure with its caption; ``warn`` switches to the theme's warning colour.

    Its size never depends on the figure, so a new one is a repaint, not a new layout.
    """

    DEFAULT_CSS = """
    Tile {
        width: 1fr;
        height: 4;
        min-width: 16;
        border: round $primary-muted;
        padding: 0 1;
        /* Each line stays one line: at 80 columns a tile is 16 cells wide, and a wrapped
           note would lose its end to the tile's height with no sign that anything is cut. */
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &.-warn { border: round $warning; }
    }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = label
        self._value = "…"
        self._notes: tuple[str, ...] = ("",)

    def show(
        self, value: str, note: str, *, warn: bool = False, shorter: Sequence[str] = ()
    ) -> None:
        """Replace the figure; the tile keeps its size so the row does not jump.

        ``shorter`` are briefer notes, most telling first, for a tile too narrow for ``note``:
        at 80 columns "30 days · rank 12" would lose the rank to an ellipsis, so the tile
        shows "rank 12" instead. The first that fits is shown, at the width the tile has
        when it paints; when none fits, the last is cut in the middle, keeping both ends.
        """
        notes = (note, *shorter)
        if (value, notes, warn) == (self._value, self._notes, self.has_class("-warn")):
            return  # the same figure: nothing to repaint
        self._value = value
        self._notes = notes
        self.set_class(warn, "-warn")
        self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        text = Text(fit_one([self._value], width), style="bold", no_wrap=True)
        text.append("\n")
        text.append(fit_one(self._notes, width), style="dim")
        return text


def fit_one(choices: Sequence[str], width: int) -> str:
    """The first of ``choices`` that fits ``width`` cells, else the last cut in the middle."""
    for choice in choices:
        if cell_len(choice) <= width:
            return choice
    if width < 2:  # not laid out yet
        return choices[-1]
    return shorten_middle(choices[-1], width)
