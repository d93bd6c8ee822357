"""Screen 5: the detection settings as a form, validated by the core's ``parse_setting``.

Each field is checked as it is typed, so the message under it always describes what the
field holds now (a stale "got 'abc'" under a value since corrected would send people hunting
for a problem that is gone). Saving checks again: a bad value is refused next to its field with
the key's allowed range, and the database keeps its previous value. The billing groups pane
edits the groups locally (a collection never undoes it): r renames the highlighted group, n
creates one, d deletes it (an empty one created here), a moves a member into it (a picker of
members), u undoes the last change, i previews a HiBob CSV import and applies the moves ticked.
The budgets pane lists each budget with this cycle's spend: s sets one, x removes the
highlighted one (:mod:`tracker_tui.screens.budget_pane`).
b backtests the values in the form (saved or not) over the last four weeks and shows, above
the fields, what they would have raised: the same figures as ``detect --backtest``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tracker_core.budgets import BudgetInputError
from tracker_core.detection.backtest import summary_line
from tracker_core.detection.settings import SPECS, SettingError, parse_setting
from tracker_core.groups import GroupInputError
from tracker_core.groups.edits import EditResult
from tracker_core.groups.hibob import ImportPlan
from tracker_core.groups.names import clean_name
from tracker_core.service import Tracker
from tracker_core.views.budgets import BudgetList
from tracker_core.views.groups import GroupRoster
from tracker_tui.screens import budget_pane
from tracker_tui.screens.base import DataScreen, plain_error
from tracker_tui.screens.confirm import ConfirmDialog
from tracker_tui.screens.group_dialogs import ImportDialog, TextPrompt
from tracker_tui.widgets.picker import PickerScreen
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable


@dataclass(frozen=True)
class SettingsData:
    values: dict[str, str]
    """Each setting's effective value as text (stored, or its default)."""
    problems: list[str]
    groups: list[GroupRoster]
    budgets: BudgetList | None = None


def _actor() -> str:
    """Who the edit log names for a change made in the console."""
    try:
        return f"console:{getpass.getuser()}"
    except (OSError, KeyError):
        return "console"


ACTOR = _actor()
BACKTEST_DAYS = 28
"""Four weeks: every weekday four times, enough to see a rule's usual noise."""


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class SettingsScreen(DataScreen[SettingsData]):
    """Enter saves the field; Ctrl+S saves every changed field."""

    SCREEN_TITLE = "Settings"
    AUTO_FOCUS = None
    """Number keys switch screens; they would type into a field that took focus on its own."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit", id="edit", tooltip="Move into the first field (Tab: next)"),
        Binding("ctrl+s", "save_all", "Save", id="save", tooltip="Save every changed setting"),
        Binding("escape", "leave_field", "Leave field", show=False, id="leave-field"),
        Binding(
            "b",
            "backtest",
            "Backtest",
            id="backtest",
            tooltip="What the last 28 days would have raised with the values in the form",
        ),
        Binding(
            "r", "rename_group", "Rename", id="group-rename", show=False, tooltip="Rename the group"
        ),
        Binding(
            "n", "new_group", "New group", id="group-new", show=False, tooltip="Create a group"
        ),
        Binding(
            "d",
            "delete_group",
            "Delete",
            id="group-delete",
            show=False,
            tooltip="Delete an empty group",
        ),
        Binding(
            "a",
            "assign_member",
            "Assign",
            id="group-assign",
            show=False,
            tooltip="Move a member here",
        ),
        Binding(
            "u",
            "undo_group",
            "Undo",
            id="group-undo",
            show=False,
            tooltip="Undo the last group change",
        ),
        Binding(
            "i",
            "import_hibob",
            "Import",
            id="group-import",
            show=False,
            tooltip="Import a HiBob CSV",
        ),
        Binding("s", "set_budget", "Budget", id="budget-set", show=False, tooltip="Set a budget"),
        Binding(
            "x",
            "unset_budget",
            "Remove budget",
            id="budget-unset",
            show=False,
            tooltip="Remove the highlighted budget",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._loaded: dict[str, str] = {}
        self._created: str | None = None
        """The name of a group just created: highlighted once the pane shows it."""

    def compose_body(self) -> ComposeResult:
        with VimScroll(id="settings-body"):
            yield Static(
                "Detection settings: e or Tab edits, Enter saves a field, Ctrl+S saves all,"
                " Escape leaves.",
                id="intro",
            )
            for spec in SPECS:
                with Vertical(classes="setting", id=f"row-{spec.key}"):
                    with Horizontal(classes="setting-line"):
                        yield Label(spec.key, classes="setting-key")
                        yield Input(id=f"setting-{spec.key}", compact=True, classes="setting-input")
                    yield Static(
                        f"{spec.help} Allowed: {spec.describe_range()}.", classes="setting-help"
                    )
                    yield Static(  # quotes what was typed
                        "", id=f"error-{spec.key}", classes="setting-error", markup=False
                    )
            yield VimDataTable(id="groups")
            yield VimDataTable(id="budgets")

    def on_mount(self) -> None:
        super().on_mount()
        groups = self.query_one("#groups", VimDataTable)
        groups.add_columns("Billing group", "Members", "Emails")
        groups.border_title = (
            "Billing groups: r rename, n new, d delete, a assign, u undo, i import HiBob CSV"
        )
        budgets = self.query_one("#budgets", VimDataTable)
        budgets.add_columns(*budget_pane.COLUMNS)
        budgets.border_title = budget_pane.BUDGETS_TITLE

    def action_edit(self) -> None:
        self.query_one(f"#setting-{SPECS[0].key}", Input).focus()

    def action_leave_field(self) -> None:
        # Back to the pane rather than to nothing: j/k and the Page keys scroll it again.
        self.set_focus(self.query_one("#settings-body", VimScroll), scroll_visible=False)

    def load(self) -> SettingsData:
        page = self.context.tracker.settings_page()
        values = {key: _text(value) for key, value in page.detection.to_json().items()}
        return SettingsData(values, page.detection.problems, page.groups, page.budgets)

    def show(self, data: SettingsData) -> None:
        for key, value in data.values.items():
            field = self.query_one(f"#setting-{key}", Input)
            # Refreshes must not overwrite what someone is in the middle of typing.
            if key not in self._loaded or field.value == self._loaded[key]:
                field.value = value
        self._loaded = dict(data.values)
        if data.problems:
            self.notify(
                "\n".join(data.problems), title="Stored settings ignored", severity="warning"
            )
        groups = self.query_one("#groups", VimDataTable)
        groups.replace_rows(
            [
                (
                    roster.group.id,
                    [roster.group.name, str(roster.group.members), ", ".join(roster.emails)],
                )
                for roster in data.groups
            ]
        )
        created = next((r for r in data.groups if r.group.name == self._created), None)
        if created is not None:  # the group just made, highlighted: what a next key acts on
            self._created = None
            groups.move_cursor(row=[r.group.id for r in data.groups].index(created.group.id))
        if data.budgets is not None:
            rows = budget_pane.budget_rows(data.budgets)
            self.query_one("#budgets", VimDataTable).replace_rows(rows)

    # --- backtest --------------------------------------------------------------------------

    def action_backtest(self) -> None:
        """Replay the last weeks with the form's values (saved or not); nothing is stored."""
        changes: dict[str, str] = {}
        for spec in SPECS:
            field = self.query_one(f"#setting-{spec.key}", Input)
            if field.value == self._loaded.get(spec.key):
                continue
            text = self._validate(spec.key)
            if text is None:
                self.notify("No backtest: fix the fields marked in red.", severity="error")
                return
            changes[spec.key] = text
        self._run_backtest(changes)

    @work(thread=True, exclusive=True, group="backtest", exit_on_error=False)
    def _run_backtest(self, changes: dict[str, str]) -> None:
        tracker = self.context.tracker
        try:
            line = summary_line(tracker.backtest(days=BACKTEST_DAYS, changes=changes))
        except Exception as exc:
            self.notify_failure_from_thread(exc, "backtest")
            return
        self.app.call_from_thread(self._show_backtest, line)

    def _show_backtest(self, line: str) -> None:
        found = self.query("#backtest")
        if found:
            found.first(Static).update(line)
            return
        body = self.query_one("#settings-body", VimScroll)
        body.mount(Static(line, id="backtest", markup=False), after="#intro")

    # --- saving ----------------------------------------------------------------------------

    def _validate(self, key: str) -> str | None:
        """The text to store, or ``None`` after showing the refusal beside the field."""
        field = self.query_one(f"#setting-{key}", Input)
        error = self.query_one(f"#error-{key}", Static)
        try:
            value = parse_setting(key, field.value)
        except SettingError as exc:
            error.update(str(exc))
            field.add_class("-invalid")
            self.query_one(f"#row-{key}").add_class("-invalid")
            return None
        error.update("")
        field.remove_class("-invalid")
        self.query_one(f"#row-{key}").remove_class("-invalid")
        return _text(value)

    @on(Input.Changed, ".setting-input")
    def _changed(self, event: Input.Changed) -> None:
        """Check on every keystroke (and on a refresh's value), storing nothing."""
        if not self._loaded:  # the empty fields before the first load are no one's typing
            return
        self._validate((event.input.id or "").removeprefix("setting-"))

    @on(Input.Submitted, ".setting-input")
    def _submitted(self, event: Input.Submitted) -> None:
        key = (event.input.id or "").removeprefix("setting-")
        text = self._validate(key)
        if text is not None:
            self._store({key: text})

    def action_save_all(self) -> None:
        changes: dict[str, str] = {}
        refused = False
        for spec in SPECS:
            field = self.query_one(f"#setting-{spec.key}", Input)
            if field.value == self._loaded.get(spec.key):
                continue
            text = self._validate(spec.key)
            if text is None:
                refused = True
            else:
                changes[spec.key] = text
        if refused:
            self.notify("Nothing saved: fix the fields marked in red.", severity="error")
        elif changes:
            self._store(changes)
        else:
            self.notify("No changes to save.", timeout=2)

    @work(thread=True, exclusive=True, group="save-settings", exit_on_error=False)
    def _store(self, changes: dict[str, str]) -> None:
        """Store every change in one transaction, then reload what is now in effect."""
        tracker = self.context.tracker
        try:
            tracker.update_settings(changes)
        except Exception as exc:
            self.notify_failure_from_thread(exc, "save")
            return
        saved = ", ".join(f"{key} = {text}" for key, text in changes.items())
        self.app.call_from_thread(self._saved, changes, f"Saved {saved}.")

    def _saved(self, changes: dict[str, str], message: str) -> None:
        self._loaded.update(changes)
        self.notify(message)
        self.reload()

    # --- billing groups ----------------------------------------------------------------------

    def _group(self) -> GroupRoster | None:
        """The highlighted group of the pane (the first when none is highlighted).

        The pane's table takes the keys from here on: after the dialog, j and k move its
        highlight, the one the next group key acts on, rather than scroll the page."""
        self.query_one("#groups", VimDataTable).focus()
        if self.data is None or not self.data.groups:
            self.notify("No billing group is stored yet: collect first.", severity="warning")
            return None
        key = self.query_one("#groups", VimDataTable).selected_key()
        return next((r for r in self.data.groups if r.group.id == key), self.data.groups[0])

    def action_rename_group(self) -> None:
        group = self._group()
        if group is None:
            return

        def renamed(name: str | None) -> None:
            if name:
                self._edit(lambda t: t.rename_group(group.group.id, name, actor=ACTOR))

        question = f"New name for {group.group.name} ('Parent > Team'):"
        self.app.push_screen(TextPrompt(question, group.group.name), renamed)

    def action_new_group(self) -> None:
        self.query_one("#groups", VimDataTable).focus()

        def named(name: str | None) -> None:
            if name:
                self._created = _named(name)
                self._edit(lambda t: t.create_group(name, actor=ACTOR)[1])

        self.app.push_screen(TextPrompt("Name of the new group ('Parent > Team'):"), named)

    def action_delete_group(self) -> None:
        group = self._group()
        if group is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._edit(lambda t: t.delete_group(group.group.id, actor=ACTOR))

        self.app.push_screen(ConfirmDialog(f"Delete the group {group.group.name}?"), confirmed)

    def action_assign_member(self) -> None:
        group = self._group()
        if group is None or self.data is None:
            return
        members = sorted(
            (member.email, roster.group.name)
            for roster in self.data.groups
            if roster.group.id != group.group.id
            for member in roster.members
        )
        if not members:
            self.notify("Every member is in this group already.", timeout=2)
            return

        def picked(email: str | None) -> None:
            if email:
                self._edit(lambda t: t.assign_members([email], group.group.id, actor=ACTOR))

        options = [(f"{email} ({name})", email) for email, name in members]
        prompt = f"Move into {group.group.name}"
        self.app.push_screen(PickerScreen(prompt, options, options[0][1]), picked)

    def action_undo_group(self) -> None:
        self._edit(lambda t: t.undo_group_edit(actor=ACTOR))

    def action_import_hibob(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self._preview(path)

        self.app.push_screen(TextPrompt("Path of the HiBob People Directory CSV:"), chosen)

    @work(thread=True, exclusive=True, group="group-edit", exit_on_error=False)
    def _edit(self, change: Callable[[Tracker], EditResult]) -> None:
        """Make one change off the screen's thread, then say what it did and reload."""
        try:
            result = change(self.context.tracker)
        except Exception as exc:
            self.app.call_from_thread(self._refused, exc)
            return
        self.app.call_from_thread(self._edited, result.summary)

    def _refused(self, exc: Exception) -> None:
        known = isinstance(exc, GroupInputError | BudgetInputError)
        message = str(exc) if known else plain_error(exc)
        self.notify(message, title="Not changed", severity="error")

    def _edited(self, summary: str) -> None:
        self.notify(summary[:1].upper() + summary[1:] + ".")
        self.reload()

    @work(thread=True, exclusive=True, group="group-edit", exit_on_error=False)
    def _preview(self, path: str) -> None:
        tracker = self.context.tracker
        try:
            data = Path(path.strip()).expanduser().read_bytes()
            plan = tracker.import_hibob(data, actor=ACTOR)
        except OSError as exc:
            self.app.call_from_thread(
                self._refused, GroupInputError(f"cannot read {path}: {exc.strerror or exc}")
            )
            return
        except Exception as exc:
            self.app.call_from_thread(self._refused, exc)
            return

        def apply(emails: list[str]) -> ImportPlan:
            return tracker.import_hibob(data, apply=True, only=emails, actor=ACTOR)

        self.app.call_from_thread(self.app.push_screen, ImportDialog(plan, apply), self._imported)

    def _imported(self, applied: int | None) -> None:
        if applied is not None:
            self.notify(f"Applied {applied} moves ('u' undoes them).")
            self.reload()

    # --- budgets ---------------------------------------------------------------------------

    def action_set_budget(self) -> None:
        def given(line: str | None) -> None:
            if line:
                self._budget_edit(line)

        self.app.push_screen(TextPrompt(budget_pane.SET_QUESTION), given)

    def action_unset_budget(self) -> None:
        if self.data is None or self.data.budgets is None or not self.data.budgets.lines:
            self.notify("No budget is set: s sets one.", severity="warning")
            return
        key = self.query_one("#budgets", VimDataTable).selected_key()
        scope, target = budget_pane.row_key(key or "")
        if not key:
            first = self.data.budgets.lines[0].budget
            scope, target = first.scope, first.key or None

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._edit(lambda t: _as_edit(t.unset_budget(scope, target).summary))

        shown = target or "the team"
        self.app.push_screen(ConfirmDialog(f"Remove the budget of {shown}?"), confirmed)

    def _budget_edit(self, line: str) -> None:
        try:
            scope, target, amount = budget_pane.parse_line(line)
        except BudgetInputError as exc:
            self._refused(exc)
            return
        self._edit(lambda t: _as_edit(t.set_budget(scope, target, amount, actor=ACTOR).summary))


def _as_edit(summary: str) -> EditResult:
    """A budget change worded as the pane's edits report theirs."""
    return EditResult(0, 1, summary)


def _named(given: str) -> str | None:
    """A group's name as it will be stored (None: one the core will refuse)."""
    try:
        return clean_name(given)
    except GroupInputError:
        return None
