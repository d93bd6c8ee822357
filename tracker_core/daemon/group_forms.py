"""The settings page's billing groups: edit forms, the edit history and the HiBob import.

Every form posts to the daemon with the settings page's per-browser token and goes through the
same Tracker methods as ``PATCH /api/groups`` and ``POST /api/groups/import``, so a change
here is the change the CLI, the console and the API make, logged and undoable alike. A refused
change shows the settings page again with one line naming the problem next to the form that
caused it, the values typed kept, and nothing stored; a change that succeeds redirects, so a
reload never makes it twice.

The import is two posts: the file's preview (with a tick box per move), then an apply that
sends the file's text back with the moves chosen. The file is read again on apply, so what is
applied is worked out from the database as it is then, never from a stale preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from tracker_core.groups import GroupInputError
from tracker_core.groups.edits import EditResult
from tracker_core.groups.hibob import ImportPlan
from tracker_core.groups.history import group_names, side, subject
from tracker_core.service import Tracker
from tracker_core.storage.groups import StoredEdit
from tracker_core.views.groups import BillingGroups, GroupMember

ACTOR: Final = "dashboard"
"""Who the edit log names for a change made on these pages."""
ACTIONS: Final = ("rename", "create", "delete", "assign", "undo")
HISTORY_SHOWN: Final = 30
"""The newest edits the page lists; ``groups history`` has them all."""
NOTICES: Final = {"saved": "Billing groups saved.", "undone": "The last change was undone."}


@dataclass(frozen=True)
class HistoryRow:
    step: int
    at: str
    who: str
    kind: str
    subject: str
    before: str
    after: str
    undone: bool


@dataclass(frozen=True)
class GroupPane:
    """What the groups section shows: the groups, the history, and a form's outcome."""

    groups: BillingGroups
    history: list[HistoryRow]
    can_undo: bool
    notice: str = ""
    error: str = ""
    form: str = ""
    """The form ``error`` belongs to (an action, or ``import``)."""
    values: Mapping[str, str] = field(default_factory=dict)
    """What that form sent, shown again after a refusal."""
    chosen: frozenset[str] = frozenset()
    """The members picked in the assign form, picked again after a refusal."""
    preview: ImportPlan | None = None
    csv_text: str = ""
    upload_limit: int = 0
    """The largest import form the daemon reads (``[daemon] max_upload_bytes``): a bigger
    file is refused before any page sees it, so the form says so up front."""

    @property
    def upload_limit_text(self) -> str:
        """The limit as the form states it: whole MiB when it is some, else KiB."""
        mib, kib = 1024 * 1024, 1024
        if self.upload_limit >= mib:
            return f"{self.upload_limit / mib:.4g} MiB"
        return f"{self.upload_limit // kib} KiB"

    @property
    def members(self) -> list[tuple[GroupMember, str]]:
        """Every member on the team and their group's name (the assign form's list), by email."""
        placed = [
            (member, roster.group.name)
            for roster in self.groups.groups
            for member in roster.members
        ]
        placed += [(member, "") for member in self.groups.unassigned]
        seen: dict[str, tuple[GroupMember, str]] = {}
        for member, group in placed:
            seen.setdefault(member.email, (member, group))
        return [seen[email] for email in sorted(seen)]


def history_rows(edits: Sequence[StoredEdit], current: Mapping[str, str]) -> list[HistoryRow]:
    """The newest edits first, as the history table reads them: groups by name
    (``current``: every group's name now)."""
    names = group_names(edits, current)
    return [
        HistoryRow(
            edit.batch,
            edit.at.strftime("%Y-%m-%d %H:%M"),
            edit.actor,
            edit.kind,
            subject(edit, names),
            side(edit.before, names),
            side(edit.after, names),
            edit.undone,
        )
        for edit in reversed(edits[-HISTORY_SHOWN:])
    ]


def load_pane(tracker: Tracker) -> GroupPane:
    """The groups and their history as stored now (a form's outcome is added with
    :func:`dataclasses.replace`)."""
    edits = tracker.group_history()
    groups = tracker.groups()
    return GroupPane(
        groups=groups,
        history=history_rows(edits, groups.names),
        can_undo=any(not edit.undone and edit.kind != "undo" for edit in edits),
        upload_limit=tracker.settings.daemon.upload_limit,
    )


def notice_for(raw: str) -> str:
    """The words of a redirect's ``groups=`` parameter; nothing for any other text, so a
    crafted link cannot put words on the page."""
    if raw in NOTICES:
        return NOTICES[raw]
    kind, _, number = raw.partition("-")
    if kind == "imported" and number.isdigit():
        moved = int(number)
        return f"Import applied: {moved} member{'' if moved == 1 else 's'} moved."
    return ""


def edit_call(
    action: str, form: Mapping[str, str], emails: Sequence[str]
) -> Callable[[Tracker], EditResult]:
    """The Tracker call one edit form makes (as ``PATCH /api/groups`` makes it)."""
    group, name, target = form.get("group", ""), form.get("name", ""), form.get("to", "")
    if action == "rename":
        return lambda tracker: tracker.rename_group(group, name, actor=ACTOR)
    if action == "create":
        return lambda tracker: tracker.create_group(name, actor=ACTOR)[1]
    if action == "delete":
        return lambda tracker: tracker.delete_group(group, actor=ACTOR)
    if action == "assign":
        if not emails:
            raise GroupInputError("choose at least one member to move")
        return lambda tracker: tracker.assign_members(emails, target, actor=ACTOR)
    return lambda tracker: tracker.undo_group_edit(actor=ACTOR)


def refusal_status(message: str) -> int:
    """As the API answers the same refusal: unknown is 404, nothing to undo 409, else 400."""
    if message.startswith(("no billing group", "no member")):
        return 404
    if message == "nothing to undo":
        return 409
    return 400


def upload_text(value: object) -> bytes | None:
    """The bytes of an uploaded file field, or of a text field carrying the file back."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, web.FileField):
        data = value.file.read()
        return data if isinstance(data, bytes) else str(data).encode()
    return None
