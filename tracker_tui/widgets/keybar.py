"""The bottom line of every data screen: the keys that work here; clicking one presses it.

Why not Textual's ``Footer``: it recomposes, one ``FooterKey`` widget per key, each restyled,
whenever the screen's bindings change, and they change about five times during the first
paint, which made it the most expensive widget at start-up. ``KeyBar`` is one widget whose
text is rebuilt and re-rendered instead; nothing is mounted or removed after it starts.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from textual.content import Content
from textual.events import Resize
from textual.screen import Screen
from textual.style import Style
from textual.widgets import Static

SEPARATOR = "▏"
"""Between the screen's keys and the command palette key (Footer draws it as a border)."""
KEPT_KEYS = frozenset({"question_mark", "q"})
"""Help and quit: on a bar too narrow for every key, these stay and the others give way, so
a newcomer on a small terminal can still find the keys and the way out."""


class Key(NamedTuple):
    """One key on the bar."""

    key: str
    """The key name the binding listens to ("question_mark"); clicking simulates it."""
    display: str
    """How the key is shown ("?")."""
    description: str
    enabled: bool


class KeyBar(Static):
    """The screen's shown bindings, one per action, with the command palette key at the right.

    Like ``Footer``: theme colours, disabled keys dimmed, a click runs the key. Unlike it: one
    widget, re-rendered (not recomposed) on ``bindings_updated_signal``, and only when the
    keys it shows changed. Keys that do not fit the width are left out whole, never wrapped.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keybar--key",
        "keybar--description",
        "keybar--separator",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        width: 1fr;
        height: 1;
        text-wrap: nowrap;
        text-overflow: clip;
        color: $footer-foreground;
        background: $footer-background;
        pointer: pointer;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .keybar--separator { color: $foreground 20%; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        # The keys carry ``@click`` meta, but must not look like links nor repaint on hover.
        self.set_reactive(Static.auto_links, False)
        self.keys: tuple[Key, ...] = ()
        """The keys for the left part, in binding order; those past the width are left out."""
        self.palette: Key | None = None
        """The command palette key, shown at the right."""
        self._rendered: tuple[tuple[Key, ...], Key | None, int] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_bindings()
        self._render_line()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self, _event: Resize) -> None:
        self._render_line()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # As Footer: while the app has lost focus, its bindings are not the ones to show.
        if not self.app.app_focus or screen is not self.screen:
            return
        self._read_bindings()
        self._render_line()

    # --- actions -----------------------------------------------------------------------------

    def action_press(self, key: str) -> None:
        """What a click on a key does (the ``@click`` meta of its text)."""
        self.app.simulate_key(key)

    # --- building the line -------------------------------------------------------------------

    def _read_bindings(self) -> None:
        """The first shown binding of each action, as Footer picks them, and the palette key."""
        active = self.screen.active_bindings
        keys: dict[str, Key] = {}
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in keys:
                keys[binding.action] = Key(
                    binding.key, self.app.get_key_display(binding), binding.description, enabled
                )
        self.keys = tuple(keys.values())
        self.palette = None
        if self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                self.palette = Key(
                    palette.binding.key,
                    self.app.get_key_display(palette.binding),
                    palette.binding.description,
                    palette.enabled,
                )

    def _render_line(self) -> None:
        """Rebuild the text for the current keys and width; a no-op when neither changed."""
        width = self.content_size.width
        state = (self.keys, self.palette, width)
        if state == self._rendered:
            return
        self._rendered = state
        self.update(self.line(width), layout=False)

    def line(self, width: int) -> Content:
        """The bar's text at ``width`` cells (0: unknown yet, everything on one line)."""
        chunks = [_chunk(key) for key in self.keys]
        right = (
            Content.assemble((SEPARATOR, ".keybar--separator"), _chunk(self.palette))
            if self.palette is not None
            else Content("")
        )
        if width <= 0:
            return Content(" ").join([Content("").join(chunks), right])
        if right.cell_length > width:
            right = Content("")
        room = width - right.cell_length
        kept = [key.key in KEPT_KEYS for key in self.keys]
        # The kept keys' room is set aside first; the others fill what is left, in order.
        spare = room - sum(c.cell_length for c, keep in zip(chunks, kept, strict=True) if keep)
        shown: list[Content] = []
        full = False
        for chunk, keep in zip(chunks, kept, strict=True):
            if keep and chunk.cell_length <= room:
                shown.append(chunk)
                room -= chunk.cell_length
            elif not keep and not full and chunk.cell_length <= spare:
                shown.append(chunk)
                room -= chunk.cell_length
                spare -= chunk.cell_length
            elif not keep:
                full = True  # later keys do not jump ahead of one left out
        return Content.assemble(*shown, " " * room, right)


def _chunk(key: Key) -> Content:
    """`` k description ``, clickable; dimmed, and a bell on click, when the key is disabled."""
    chunk = Content.assemble(
        (f" {key.display} ", ".keybar--key"),
        (f"{key.description} ", ".keybar--description"),
    )
    if not key.enabled:
        return chunk.stylize("dim").stylize(Style.from_meta({"@click": "app.bell"}))
    return chunk.stylize(Style.from_meta({"@click": f"press({key.key!r})"}))
