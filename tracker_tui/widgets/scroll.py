"""A scrolling pane that answers the same j/k/g/G as the tables.

At 80x24 the drilldown, the overview and the insights are taller than the terminal; the
arrow keys and Page Up/Down scroll them, and so should the keys a terminal user reaches for
first, the ones the tables already answer.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll


class VimScroll(VerticalScroll):
    """``VerticalScroll`` plus vim's j/k (a line) and g/G (top, bottom)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="scroll-down", tooltip="Scroll down"),
        Binding("k", "scroll_up", "Up", show=False, id="scroll-up", tooltip="Scroll up"),
        Binding("g", "scroll_home", "Top", show=False, id="scroll-top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="scroll-bottom"),
    ]
