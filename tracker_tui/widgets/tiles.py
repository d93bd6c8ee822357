"""A stat tile: a label, a big value and a note, with a warning style for bad news."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


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
        self._text = Text("…")

    def show(self, value: str, note: str, *, warn: bool = False) -> None:
        """Replace the figure; the tile keeps its size so the row does not jump."""
        text = Text(value, style="bold", no_wrap=True, overflow="ellipsis")
        text.append("\n")
        text.append(note, style="dim")
        self._text = text
        self.set_class(warn, "-warn")
        self.refresh()

    def render(self) -> Text:
        return self._text
