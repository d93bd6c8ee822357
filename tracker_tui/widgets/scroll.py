"""A scrolling pane that answers the same j/k/g/G as the tables, and counts every key.

At 80x24 the drilldown, the overview, the insights and the settings are taller than the
terminal; the arrow keys and Page Up/Down scroll them, and so should the keys a terminal user
reaches for first, the ones the tables already answer.

Textual's own key scrolling is animated and deferred to the next frame, and it computes each
step from where the pane will be after that frame: ten presses of ``j`` arriving together (key
repeat, or an SSH connection delivering them in one packet) all computed the same next line,
and the pane moved one line instead of ten. Here a key moves the pane at once, from where
the previous key left it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll


class VimScroll(VerticalScroll):
    """``VerticalScroll`` plus vim's j/k (a line) and g/G (top, bottom), each key counted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="scroll-down", tooltip="Scroll down"),
        Binding("k", "scroll_up", "Up", show=False, id="scroll-up", tooltip="Scroll up"),
        Binding("g", "scroll_home", "Top", show=False, id="scroll-top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="scroll-bottom"),
        Binding("pagedown", "page_down", "Page down", show=False, id="scroll-page-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="scroll-page-up"),
    ]

    def scroll_lines(self, lines: float) -> None:
        """Move by ``lines`` (negative: up) from where the last key left the pane, now."""
        self.scroll_to(y=self.scroll_target_y + lines, animate=False, immediate=True)

    def action_scroll_down(self) -> None:
        self.scroll_lines(1)

    def action_scroll_up(self) -> None:
        self.scroll_lines(-1)

    def action_page_down(self) -> None:
        self.scroll_lines(self.scrollable_content_region.height)

    def action_page_up(self) -> None:
        self.scroll_lines(-self.scrollable_content_region.height)

    def action_scroll_home(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
