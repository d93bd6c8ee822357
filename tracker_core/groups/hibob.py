"""The HiBob import: which group each Cursor member belongs in, from a People Directory CSV.

Pure: the file's rows and the team as it stands in, the preview out (``edits`` applies it).

Each matched member's group is ``Group > Team`` from the file (see :func:`group_key`); small
teams are then consolidated as the original tool did (:func:`consolidate`), except that its
``General > General`` never merges into itself (which dropped its members there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker_core.groups.csvfile import read_rows
from tracker_core.groups.names import GroupInputError, clean_name, parent_of

MIN_TEAM_SIZE = 3
"""A team with fewer matched members is merged into a larger one (the original's rule)."""
GENERAL = "General"

COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("Email", "Work email", "E-mail"),
    "department": ("Department",),
    "group": ("Group",),
    "team": ("Team",),
    "name": ("Display name", "Name", "Full name"),
    "title": ("Job title", "Title"),
}
LABELS = {
    "email": "Email",
    "department": "Department",
    "group": "Group",
    "team": "Team",
    "name": "Display name",
    "title": "Job title",
}


@dataclass(frozen=True)
class PersonRow:
    line: int
    email: str
    department: str
    group: str
    team: str
    name: str
    title: str


def parse_people(data: bytes) -> list[PersonRow]:
    """The file's people; a row without a usable email is refused with its line."""
    rows = read_rows(data, COLUMNS, required=("email", "department"), label=LABELS)
    people = []
    for row in rows:
        email = row.cells["email"]
        if "@" not in email or any(char.isspace() for char in email):
            shown = repr(email[:80]) if email else "empty"
            raise GroupInputError(f"line {row.line}, column Email: not an email address ({shown})")
        people.append(
            PersonRow(
                row.line,
                email,
                row.cells["department"],
                row.cells["group"],
                row.cells["team"],
                row.cells["name"],
                row.cells["title"],
            )
        )
    return people


def _level(text: str) -> str:
    """A cell as one level of a name: a ``>`` inside it would start a level of its own."""
    return " ".join(text.replace(">", "/").split())


def group_key(person: PersonRow) -> str:
    """``Group > Team`` when both differ; ``Group > Group`` with a group only; else
    ``Department > Team``, else ``Department > General`` (the original's keys)."""
    department, group, team = (
        _level(person.department) or GENERAL,
        _level(person.group),
        _level(person.team),
    )
    if group and team and group != team:
        raw = f"{group} > {team}"
    elif group:
        raw = f"{group} > {group}"
    elif team:
        raw = f"{department} > {team}"
    else:
        raw = f"{department} > {GENERAL}"
    try:
        return clean_name(raw)
    except GroupInputError as exc:
        raise GroupInputError(f"line {person.line}: {exc}") from None


def consolidate(placed: Mapping[str, str], min_size: int = MIN_TEAM_SIZE) -> dict[str, str]:
    """Each member's final group once teams smaller than ``min_size`` are merged.

    1. A team of at least ``min_size`` is kept; smaller teams' members are pooled by parent.
    2. A parent's pool joins its only kept team when the pool is small too, else the
       parent's ``General`` team (created when missing, whatever its size).
    3. A ``Parent > General`` still small joins the parent's largest other team (ties: the
       first by name).
    4. Any team still small joins ``General > General`` (created when missing), which itself
       stays as it is even when small: merging it into itself lost its members.
    """
    teams: dict[str, list[str]] = {}
    for email, key in sorted(placed.items()):
        teams.setdefault(key, []).append(email)
    kept = {key: list(emails) for key, emails in sorted(teams.items()) if len(emails) >= min_size}
    pools: dict[str, list[str]] = {}
    for key, emails in sorted(teams.items()):
        if len(emails) < min_size:
            pools.setdefault(parent_of(key), []).extend(emails)
    for parent, pool in sorted(pools.items()):
        siblings = [key for key in kept if parent_of(key) == parent]
        general = f"{parent} > {GENERAL}"
        if len(siblings) == 1 and len(pool) < min_size:
            kept[siblings[0]].extend(pool)
        else:
            kept.setdefault(general, []).extend(pool)
    for key in sorted(kept):
        parent = parent_of(key)
        if key != f"{parent} > {GENERAL}" or len(kept[key]) >= min_size:
            continue
        others = sorted(k for k in kept if parent_of(k) == parent and k != key)
        if others:
            largest = max(others, key=lambda k: len(kept[k]))  # max keeps the first of a tie
            kept[largest].extend(kept.pop(key))
    fallback = f"{GENERAL} > {GENERAL}"
    for key in sorted(kept):
        if key != fallback and len(kept[key]) < min_size:
            kept.setdefault(fallback, []).extend(kept.pop(key))
    return {email: key for key, emails in kept.items() for email in emails}


@dataclass(frozen=True)
class TeamMember:
    """A Cursor member on the team now, and the name of their group (None: in no group)."""

    email: str
    name: str
    group: str | None


@dataclass(frozen=True)
class Move:
    email: str
    name: str
    source: str | None
    target: str
    by_name: bool = False
    """Matched by display name, not email: applied only when chosen (``--only``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "from": self.source,
            "to": self.target,
            "matched_by": "name" if self.by_name else "email",
        }


@dataclass(frozen=True)
class ImportPlan:
    """The preview of an import: what it would move and create, and who it does not cover."""

    total_members: int
    matched: int
    matched_by_name: list[tuple[str, str, str]]
    """``(email, csv email, name)`` of members matched by display name only."""
    moves: list[Move]
    new_groups: list[str]
    groups: list[tuple[str, int]]
    not_in_file: list[TeamMember]
    unknown_rows: list[PersonRow]
    applied: int | None = None
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "total_members": self.total_members,
            "matched": self.matched,
            "matched_by_name": [
                {"email": email, "csv_email": csv_email, "name": name}
                for email, csv_email, name in self.matched_by_name
            ],
            "moves": [move.to_json() for move in self.moves],
            "new_groups": list(self.new_groups),
            "groups": [{"name": name, "member_count": count} for name, count in self.groups],
            "not_in_file": [
                {"email": m.email, "name": m.name, "group": m.group} for m in self.not_in_file
            ],
            "unknown_rows": [
                {"line": row.line, "email": row.email, "name": row.name}
                for row in self.unknown_rows
            ],
        }
        if self.applied is not None:
            body["applied"] = self.applied
        return body


def _fold_name(text: str) -> str:
    return " ".join(text.casefold().split())


def plan_import(
    people: Sequence[PersonRow],
    team: Sequence[TeamMember],
    existing_groups: Sequence[str],
    *,
    min_team_size: int = MIN_TEAM_SIZE,
) -> ImportPlan:
    """Match the file's people to the team and work out every member's new group.

    By email, case-insensitively; a member whose email matches no row but whose display name
    matches exactly one row (not matched by email) is proposed as matched by name.
    """
    by_email: dict[str, PersonRow] = {}
    for person in people:
        by_email.setdefault(person.email.casefold(), person)
    matched: dict[str, PersonRow] = {}
    by_name_emails: set[str] = set()
    unmatched: list[TeamMember] = []
    for member in team:
        row = by_email.get(member.email.casefold())
        if row is not None:
            matched[member.email] = row
        else:
            unmatched.append(member)
    used = {row.email.casefold() for row in matched.values()}
    names: dict[str, list[PersonRow]] = {}
    for person in people:
        if person.email.casefold() not in used and person.name:
            names.setdefault(_fold_name(person.name), []).append(person)
    not_in_file = []
    for member in unmatched:
        candidates = names.get(_fold_name(member.name), []) if member.name else []
        if len(candidates) == 1:
            matched[member.email] = candidates[0]
            by_name_emails.add(member.email)
        else:
            not_in_file.append(member)
    placed = consolidate({email: group_key(row) for email, row in matched.items()}, min_team_size)
    members = {member.email: member for member in team}
    moves = [
        Move(
            email,
            members[email].name or matched[email].name,
            members[email].group,
            target,
            email in by_name_emails,
        )
        for email, target in sorted(placed.items())
        if members[email].group != target
    ]
    counts: dict[str, int] = {}
    for target in placed.values():
        counts[target] = counts.get(target, 0) + 1
    taken = set(existing_groups)
    matched_rows = {id(row) for row in matched.values()}
    return ImportPlan(
        total_members=len(team),
        matched=len(matched),
        matched_by_name=[
            (email, matched[email].email, matched[email].name) for email in sorted(by_name_emails)
        ],
        moves=moves,
        new_groups=sorted({move.target for move in moves} - taken),
        groups=sorted(counts.items()),
        not_in_file=sorted(not_in_file, key=lambda m: m.email),
        unknown_rows=[person for person in people if id(person) not in matched_rows],
    )


def chosen_moves(plan: ImportPlan, only: Sequence[str] | None) -> list[Move]:
    """The moves to apply: every one matched by email, or exactly those ``only`` names."""
    if only is None:
        return [move for move in plan.moves if not move.by_name]
    wanted = {email.strip().casefold() for email in only}
    chosen = [move for move in plan.moves if move.email.casefold() in wanted]
    missing = sorted(wanted - {move.email.casefold() for move in chosen})
    if missing:
        raise GroupInputError(f"not among the import's moves: {', '.join(missing[:5])}")
    return chosen
