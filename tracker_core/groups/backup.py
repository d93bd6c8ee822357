"""The groups backup: every member's effective group as ``email,name,group`` CSV, and back.

A backup restores through the same preview and one-step apply as the HiBob import, so a
mapping tried out by hand can be put back exactly (pure).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tracker_core.groups.csvfile import read_rows
from tracker_core.groups.names import GroupInputError, clean_name

HEADER = ("email", "name", "group")


FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (``=HYPERLINK(...)`` in a group name)."""
INERT: Final = "'"
"""Put before such a cell, and before one that starts with itself, so that it reads back."""


def as_text_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: names come from members' own
    Cursor profiles and from HiBob's departments, not from us."""
    return INERT + text if text.startswith((*FORMULA_STARTS, INERT)) else text


def from_text_cell(text: str) -> str:
    """What :func:`as_text_cell` was given."""
    return text.removeprefix(INERT)


def export_csv(rows: Sequence[tuple[str, str, str | None]]) -> str:
    """``email,name,group`` with a line per member; a member in no group has an empty group.

    Quoted as CSV requires (a comma, a quote or a line break in a name), and a name that a
    spreadsheet would run as a formula is made inert (:func:`as_text_cell`), so any CSV
    reader, this one included, reads back exactly what was written.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for email, name, group in rows:
        writer.writerow((email, as_text_cell(name), as_text_cell(group or "")))
    return out.getvalue()


@dataclass(frozen=True)
class BackupRow:
    line: int
    email: str
    name: str
    group: str | None


def parse_backup(data: bytes) -> list[BackupRow]:
    """The backup's rows; a bad email or group name is refused with its line and column."""
    rows = read_rows(
        data,
        {"email": ("email", "Work email"), "name": ("name", "Display name"), "group": ("group",)},
        required=("email", "group"),
        label={"email": "email", "name": "name", "group": "group"},
    )
    parsed = []
    for row in rows:
        email, group = row.cells["email"], from_text_cell(row.cells["group"])
        if "@" not in email or any(char.isspace() for char in email):
            raise GroupInputError(f"line {row.line}, column email: not an email address")
        try:
            name = clean_name(group) if group else None
        except GroupInputError as exc:
            raise GroupInputError(f"line {row.line}, column group: {exc}") from None
        parsed.append(BackupRow(row.line, email, from_text_cell(row.cells["name"]), name))
    return parsed


@dataclass(frozen=True)
class RestorePlan:
    total_rows: int
    changes: list[tuple[str, str, str | None, str | None]]
    """``(email, name, from, to)``; None is "no group"."""
    unchanged: int
    new_groups: list[str]
    unknown_rows: list[BackupRow]
    applied: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "total_rows": self.total_rows,
            "changes": [
                {"email": email, "name": name, "from": source, "to": target}
                for email, name, source, target in self.changes
            ],
            "unchanged": self.unchanged,
            "new_groups": list(self.new_groups),
            "unknown_rows": [
                {"line": row.line, "email": row.email, "name": row.name}
                for row in self.unknown_rows
            ],
        }
        if self.applied is not None:
            body["applied"] = self.applied
        return body
