"""Screen 5: the detection settings as a form, validated by the core's ``parse_setting``.

Each field is checked as it is typed, so the message under it always describes what the
field holds now (a stale "got 'abc'" under a value since corrected would send people hunting
for a problem that is gone). Saving checks again: a bad value is refused next to its field with
the key's allowed range, and the database keeps its previous value. Billing groups are shown
read-only (they come from Cursor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tracker_core.detection.settings import SPECS, SettingError, parse_setting
from tracker_core.views.groups import GroupRoster
from tracker_tui.screens.base import DataScreen, plain_error
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.tables import VimDataTable


@dataclass(frozen=True)
class SettingsData:
    values: dict[str, str]
    """Each setting's effective value as text (stored, or its default)."""
    problems: list[str]
    groups: list[GroupRoster]


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
    ]

    def __init__(self) -> None:
        super().__init__()
        self._loaded: dict[str, str] = {}

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

    def on_mount(self) -> None:
        super().on_mount()
        groups = self.query_one("#groups", VimDataTable)
        groups.add_columns("Billing group", "Members", "Emails")
        groups.border_title = "Billing groups (read-only, from Cursor)"

    def action_edit(self) -> None:
        self.query_one(f"#setting-{SPECS[0].key}", Input).focus()

    def action_leave_field(self) -> None:
        # Back to the pane rather than to nothing: j/k and the Page keys scroll it again.
        self.set_focus(self.query_one("#settings-body", VimScroll), scroll_visible=False)

    def load(self) -> SettingsData:
        page = self.context.tracker.settings_page()
        values = {key: _text(value) for key, value in page.detection.to_json().items()}
        return SettingsData(values, page.detection.problems, page.groups)

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
        self.query_one("#groups", VimDataTable).replace_rows(
            [
                (
                    roster.group.id,
                    [roster.group.name, str(roster.group.members), ", ".join(roster.emails)],
                )
                for roster in data.groups
            ]
        )

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
            self.app.call_from_thread(
                self.notify,
                plain_error(exc, tracker.database_url),
                title="Could not save",
                severity="error",
            )
            return
        saved = ", ".join(f"{key} = {text}" for key, text in changes.items())
        self.app.call_from_thread(self._saved, changes, f"Saved {saved}.")

    def _saved(self, changes: dict[str, str], message: str) -> None:
        self._loaded.update(changes)
        self.notify(message)
        self.reload()
