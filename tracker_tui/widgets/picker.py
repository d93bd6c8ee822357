"""A one-line choice among a few options (range, group, status) whose list exists only when open.

Why not Textual's ``Select``: each one mounts a ``SelectCurrent`` with three statics and a
``SelectOverlay`` (an ``OptionList``) up front, so the controls row alone added a dozen widgets
to the first paint of the overview, for lists that are rarely opened. A ``Picker`` is one
widget that renders its own line; the list is a small modal built on demand and thrown away
when it closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from rich.cells import cell_len
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList

V = TypeVar("V")
"""The type of the options' values (days as ``int``, group or status ids as ``str``)."""

C = TypeVar("C")
"""The same, for ``Picker.Changed`` (a nested generic class cannot reuse the outer ``V``)."""

ARROW = " ▾"


class Picker(Widget, Generic[V], can_focus=True):
    """``prompt: label ▾`` on one line; Enter, space or a click opens the list of options.

    ``value`` is one of the options' values (never ``None``, which is how the list says
    "closed without a pick"). Assigning a different value, from code or from the list,
    posts :class:`Picker.Changed`; :meth:`set_options` never does, so data refreshes that
    rebuild the options do not read as a choice of the user.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"picker--prompt", "picker--arrow"}
    DEFAULT_CSS = """
    Picker {
        width: auto;
        height: 1;
        padding: 0 1;
        color: $foreground;
        background: $surface;
        pointer: pointer;
        & > .picker--prompt { color: $foreground 60%; }
        & > .picker--arrow { color: $foreground 50%; }
        &:focus {
            background-tint: $foreground 5%;
            & > .picker--prompt { color: $accent; }
            & > .picker--arrow { color: $accent; }
        }
        &:ansi {
            background: ansi_default;
            color: ansi_default;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "open", "Choose", show=False, id="picker-open"),
    ]

    class Changed(Message, Generic[C]):
        """The picker's value was changed, by the user or by code (never by ``set_options``)."""

        def __init__(self, picker: Picker[C], value: C) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

        @property
        def control(self) -> Picker[C]:
            """The picker that changed (what ``@on(Picker.Changed, "#id")`` matches)."""
            return self.picker

    def __init__(
        self,
        prompt: str,
        options: Sequence[tuple[str, V]],
        value: V,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.prompt = prompt
        self._options: list[tuple[str, V]] = list(options)
        self._value = self._checked(value)

    # --- state -------------------------------------------------------------------------------

    @property
    def options(self) -> list[tuple[str, V]]:
        """The (label, value) pairs, in the order the list shows them."""
        return list(self._options)

    @property
    def value(self) -> V:
        return self._value

    @value.setter
    def value(self, value: V) -> None:
        if value == self._value:
            return
        self._value = self._checked(value)
        self.refresh(layout=True)
        self.post_message(self.Changed(self, value))

    @property
    def label(self) -> str:
        """The label of the current value, as shown after the prompt."""
        return next(label for label, value in self._options if value == self._value)

    def set_options(self, options: Sequence[tuple[str, V]], value: V | None = None) -> None:
        """Replace the options and, when given, the value, without posting ``Changed``.

        Without ``value`` the current one is kept if still offered, else the first option
        is taken.
        """
        if not options:
            raise ValueError(f"{self.prompt}: a picker needs at least one option")
        self._options = list(options)
        if value is None:
            offered = any(v == self._value for _, v in self._options)
            value = self._value if offered else self._options[0][1]
        self._value = self._checked(value)
        self.refresh(layout=True)

    def _checked(self, value: V) -> V:
        if not any(v == value for _, v in self._options):
            raise ValueError(f"{self.prompt}: {value!r} is not one of the options")
        return value

    # --- opening -----------------------------------------------------------------------------

    def open(self) -> None:
        """Show the list; a pick sets ``value``, Escape leaves it as it was."""

        def picked(value: V | None) -> None:
            if value is not None:
                self.value = value

        self.app.push_screen(PickerScreen(self.prompt, self._options, self._value), picked)

    def action_open(self) -> None:
        self.open()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.open()

    # --- rendering ---------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """With ``width: auto``, the width of the whole text, whatever the width was before."""
        return cell_len(f"{self.prompt}: {self.label}{ARROW}")

    def render(self) -> Content:
        prompt = f"{self.prompt}: "
        label = self.label
        width = self.content_size.width
        room = width - cell_len(prompt) - len(ARROW)
        if width and room > 1:  # a fixed width: the label gives way, the arrow stays right
            label = keep_end(label, room).ljust(room)
        return Content.assemble(
            (prompt, ".picker--prompt"), label, (ARROW, ".picker--arrow")
        ).truncate(width or 10_000, ellipsis=True)


def keep_end(label: str, width: int) -> str:
    """``label`` in ``width`` cells, cut at the start, at a word when one fits.

    The end of "Engineering > Platform (8)" (the group itself, and its member count) says more
    than its beginning: "…Platform (8)".
    """
    if cell_len(label) <= width:
        return label
    words = [label[i + 1 :].lstrip(">/|:- ") for i, c in enumerate(label) if c == " "]
    fitting = [w for w in words if w and cell_len(w) <= width - 1]
    # A word boundary only while it keeps most of the room: "…(7)" in eleven cells said
    # nothing of "Engineering > Frontend (7)", where "…ntend (7)" still names the group.
    if fitting and 2 * cell_len(fitting[0]) >= width - 1:
        return f"…{fitting[0]}"
    while label and cell_len(label) > width - 1:
        label = label[1:]
    return f"…{label}"


class PickerScreen(ModalScreen[V | None], Generic[V]):
    """The open list of a :class:`Picker`: a titled box with the options, current one lit.

    Dismisses with the picked value, or ``None`` on Escape (or a click outside the box).
    """

    DEFAULT_CSS = """
    PickerScreen {
        align: center middle;
        & > OptionList {
            width: auto;
            min-width: 24;
            max-width: 90%;
            height: auto;
            max-height: 80%;
            border: round $accent;
            border-title-color: $accent;
            background: $surface;
            padding: 0 1;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False, id="picker-close"),
    ]

    def __init__(self, prompt: str, options: Sequence[tuple[str, V]], value: V) -> None:
        super().__init__()
        self.prompt = prompt
        self.options = list(options)
        self.current = next((i for i, (_, v) in enumerate(self.options) if v == value), 0)

    def compose(self) -> ComposeResult:
        # Content, not str: a group named "Platform [EU]" is a name, not markup.
        choices = OptionList(*(Content(label) for label, _ in self.options))
        choices.border_title = self.prompt
        choices.highlighted = self.current
        yield choices

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # outside the box: as Escape
            self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.options[event.option_index][1])

    def action_close(self) -> None:
        self.dismiss(None)
