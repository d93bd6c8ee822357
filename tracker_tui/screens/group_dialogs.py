"""The dialogs of the groups pane: a line of text (a name, a file path), the import preview.

The import dialog shows what ``groups import-hibob`` previews, in tables, with every move
ticked except those matched by display name (to review); space or x ticks and unticks the
highlighted move, ``a`` applies the ticked ones in one transaction, Escape leaves unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tracker_core.groups.hibob import ImportPlan
from tracker_tui.widgets.tables import VimDataTable

TICK, UNTICKED = "[x]", "[ ]"


class TextPrompt(ModalScreen[str | None]):
    """One line of text: Enter gives it, Escape gives None."""

    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical {
        width: 70%; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False, id="prompt-cancel"),
    ]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            yield Input(self.value, id="prompt-input")
            yield Static("Enter: OK    Escape: cancel", classes="prompt-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ImportDialog(ModalScreen[int | None]):
    """The preview of an import; dismisses with the count applied, or None when left."""

    DEFAULT_CSS = """
    ImportDialog { align: center middle; }
    ImportDialog > Vertical {
        width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    ImportDialog VimDataTable { height: 1fr; }
    ImportDialog #import-others { height: auto; max-height: 8; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,x", "tick", "Tick/untick", id="import-tick"),
        Binding("a", "apply", "Apply ticked", id="import-apply"),
        Binding("escape", "cancel", "Cancel", id="import-cancel"),
    ]

    def __init__(self, plan: ImportPlan, apply: Callable[[list[str]], ImportPlan]) -> None:
        super().__init__()
        self.plan = plan
        self._apply = apply
        self.ticked = {move.email for move in plan.moves if not move.by_name}

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical():
            yield Static(
                f"{plan.matched} of {plan.total_members} members matched "
                f"({len(plan.matched_by_name)} by name, to review); {len(plan.moves)} moves. "
                "space/x: tick or untick, a: apply the ticked moves, Escape: cancel.",
                id="import-summary",
                markup=False,
            )
            yield VimDataTable(id="import-moves")
            yield Static(self._others(), id="import-others", markup=False)

    def _others(self) -> str:
        plan = self.plan
        lines = [f"New groups: {', '.join(plan.new_groups) or 'none'}"]
        lines.append(
            f"Not in the file: {len(plan.not_in_file)} members; "
            f"rows with no Cursor member: {len(plan.unknown_rows)}"
        )
        return "\n".join(lines)

    def on_mount(self) -> None:
        table = self.query_one("#import-moves", VimDataTable)
        table.add_columns("", "Member", "From", "To", "Matched by")
        self._fill()
        table.focus()

    def _fill(self) -> None:
        self.query_one("#import-moves", VimDataTable).replace_rows(
            [
                (
                    move.email,
                    [
                        TICK if move.email in self.ticked else UNTICKED,
                        move.email,
                        move.source or "no group",
                        move.target,
                        "name (review)" if move.by_name else "email",
                    ],
                )
                for move in self.plan.moves
            ]
        )

    def action_tick(self) -> None:
        email = self.query_one("#import-moves", VimDataTable).selected_key()
        if email is None:
            return
        self.ticked ^= {email}
        self._fill()

    def action_apply(self) -> None:
        if not self.ticked:
            self.notify("No move is ticked.", severity="warning")
            return
        self._run(sorted(self.ticked))

    @work(thread=True, exclusive=True, group="apply-import", exit_on_error=False)
    def _run(self, emails: list[str]) -> None:
        try:
            done = self._apply(emails)
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title="Import not applied", severity="error"
            )
            return
        self.app.call_from_thread(self.dismiss, done.applied or 0)

    def action_cancel(self) -> None:
        self.dismiss(None)
