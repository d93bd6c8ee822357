"""Local edits of the billing groups, each logged with what it replaced so it can be undone.

Every function runs in the caller's write transaction (``storage.begin_write``) and either
makes its whole change or raises :class:`GroupInputError` before writing anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from tracker_core.groups.backup import BackupRow, RestorePlan
from tracker_core.groups.hibob import (
    ImportPlan,
    PersonRow,
    TeamMember,
    chosen_moves,
    plan_import,
)
from tracker_core.groups.names import GroupInputError, clean_name
from tracker_core.storage import groups as store
from tracker_core.storage import tables as t
from tracker_core.text import plural, printable
from tracker_core.views._shared import Memberships, StoredGroup, memberships

Change = tuple[str, str, dict[str, Any], dict[str, Any]]
"""``(kind, subject, before, after)`` as the edit log keeps it."""


@dataclass(frozen=True)
class EditResult:
    """What one command changed: ``changes`` edits logged as batch ``batch`` (0 if none)."""

    batch: int
    changes: int
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {"batch": self.batch, "changes": self.changes, "summary": self.summary}


def _shown(text: str) -> str:
    return repr(printable(text[:80]))


def find_group(held: Memberships, given: str) -> StoredGroup:
    """The group whose id, else whose exact name, is ``given``."""
    for group in held.groups:
        if group.id == given:
            return group
    for group in held.groups:
        if group.name == given:
            return group
    raise GroupInputError(f"no billing group {_shown(given)}")


def resolve_filter(conn: Connection, given: str) -> str:
    """A group filter as the views take it: a group id, ``parent:NAME`` or ``unassigned``.

    ``given`` is a group's id or exact name, ``parent:NAME`` (NAME must name some group or
    parent) or ``unassigned``.
    """
    if given == store.UNASSIGNED_FILTER:
        return given
    held = memberships(conn)
    if given.startswith(store.PARENT_PREFIX):
        parent = given.removeprefix(store.PARENT_PREFIX).strip()
        under = parent + store.PARENT_SEPARATOR
        if not any(g.name == parent or g.name.startswith(under) for g in held.groups):
            raise GroupInputError(f"no billing group under {_shown(parent)}")
        return store.PARENT_PREFIX + parent
    return find_group(held, given).id


def _unique(held: Memberships, name: str, *, besides: str | None = None) -> None:
    for group in held.groups:
        if group.name == name and group.id != besides:
            raise GroupInputError(f"a billing group is already named {_shown(name)}")


def _record(conn: Connection, actor: str, at: datetime, changes: Sequence[Change]) -> int:
    batch = store.next_batch(conn)
    store.log_edits(conn, batch, at, actor, list(changes))
    return batch


def rename(conn: Connection, given: str, new_name: str, *, actor: str, at: datetime) -> EditResult:
    """Give a group a new name; one of Cursor's keeps it across every later collection."""
    held = memberships(conn)
    group = find_group(held, given)
    name = clean_name(new_name)
    if name == group.name:
        raise GroupInputError(f"the group is already named {_shown(name)}")
    _unique(held, name, besides=group.id)
    if group.source == "local":
        before: dict[str, Any] = {"source": "local", "name": group.name}
        store.set_local_group(conn, group.id, name, at)
    else:
        # ``name`` is what an undo puts back (no local name: Cursor's); ``shown`` is for people.
        before = {"source": "cursor", "name": store.rename_of(conn, group.id), "shown": group.name}
        store.set_rename(conn, group.id, name, at)
    after = {"source": group.source, "name": name}
    batch = _record(conn, actor, at, [("rename", group.id, before, after)])
    return EditResult(batch, 1, f"renamed {group.name!r} to {name!r}")


def create(conn: Connection, new_name: str, *, actor: str, at: datetime) -> tuple[str, EditResult]:
    """Create an empty local group; returns its id."""
    held = memberships(conn)
    name = clean_name(new_name)
    _unique(held, name)
    group_id = f"local_{uuid.uuid4().hex[:12]}"
    store.set_local_group(conn, group_id, name, at)
    batch = _record(conn, actor, at, [("create", group_id, {}, {"name": name})])
    return group_id, EditResult(batch, 1, f"created {name!r} ({group_id})")


def delete(conn: Connection, given: str, *, actor: str, at: datetime) -> EditResult:
    """Delete an empty group created here (Cursor's own would come back with the next sync)."""
    held = memberships(conn)
    group = find_group(held, given)
    if group.source != "local":
        raise GroupInputError(
            f"{group.name!r} is one of Cursor's groups: only a group created here can be deleted"
        )
    count = len(held.emails.get(group.id, []))
    if count:
        raise GroupInputError(
            f"{group.name!r} has {plural(count, 'member')}: assign them elsewhere before "
            "deleting it"
        )
    store.set_local_group(conn, group.id, None, at)
    batch = _record(conn, actor, at, [("delete", group.id, {"name": group.name}, {})])
    return EditResult(batch, 1, f"deleted {group.name!r}")


def known_members(conn: Connection) -> dict[str, str]:
    """Folded email -> the email as stored, for every member Cursor has listed."""
    m, gm = t.members, t.group_members
    known: dict[str, str] = {}
    for email in conn.execute(select(gm.c.email).distinct()).scalars():
        known[str(email).casefold()] = str(email)
    for email in conn.execute(select(m.c.email)).scalars():
        known[str(email).casefold()] = str(email)
    return known


def place_changes(
    conn: Connection, held: Memberships, moves: Mapping[str, str | None], at: datetime
) -> list[Change]:
    """Assign each stored email to a group id (None: no group); the changes to log.

    A member already exactly where asked is left alone.
    """
    changes: list[Change] = []
    places: dict[str, tuple[bool, str | None]] = {}
    current: dict[str, list[str]] = {}
    for held_id, emails in held.emails.items():
        for email in emails:
            current.setdefault(email, []).append(held_id)
    for email, group_id in sorted(moves.items()):
        now = current.get(email, [])
        if (group_id is None and not now) or (group_id is not None and now == [group_id]):
            continue
        assigned, previous = store.assignment_of(conn, email)
        before: dict[str, Any] = {"assigned": assigned, "group_id": previous, "groups": now}
        changes.append(("assign", email, before, {"assigned": True, "group_id": group_id}))
        places[email] = (True, group_id)
    if places:
        store.set_assignments(conn, places, at)
    return changes


def assign(
    conn: Connection, emails: Iterable[str], target: str, *, actor: str, at: datetime
) -> EditResult:
    """Place members in a group (``target`` an id or exact name, or ``unassigned``)."""
    held = memberships(conn)
    group_id: str | None = None
    label = "no group"
    if target != store.UNASSIGNED_FILTER:
        group = find_group(held, target)
        group_id, label = group.id, repr(group.name)
    known = known_members(conn)
    chosen: list[str] = []
    for given in emails:
        stored = known.get(given.strip().casefold())
        if stored is None:
            raise GroupInputError(f"no member {_shown(given)}")
        chosen.append(stored)
    if not chosen:
        raise GroupInputError("name at least one member's email")
    changes = place_changes(conn, held, dict.fromkeys(chosen, group_id), at)
    if not changes:
        return EditResult(0, 0, f"already in {label}: nothing changed")
    batch = _record(conn, actor, at, changes)
    return EditResult(batch, len(changes), f"moved {plural(len(changes), 'member')} to {label}")


def undo(conn: Connection, *, actor: str, at: datetime) -> EditResult:
    """Revert the newest step not undone yet (one command's edits, an import as one step)."""
    batch = store.last_live_batch(conn)
    if batch is None:
        raise GroupInputError("nothing to undo")
    logged = store.edits(conn, batch=batch)
    for edit in reversed(logged):
        _revert(conn, edit, at)
    store.mark_undone(conn, batch, at)
    kinds = sorted({edit.kind for edit in logged})
    return EditResult(batch, len(logged), f"undid step {batch} ({', '.join(kinds)})")


def _revert(conn: Connection, edit: store.StoredEdit, at: datetime) -> None:
    before = edit.before
    if edit.kind == "rename":
        if before["source"] == "local":
            store.set_local_group(conn, edit.subject, before["name"], at)
        else:
            store.set_rename(conn, edit.subject, before["name"], at)
    elif edit.kind == "create":
        store.set_local_group(conn, edit.subject, None, at)
    elif edit.kind == "delete":
        store.set_local_group(conn, edit.subject, before["name"], at)
    elif edit.kind == "assign":
        store.set_assignments(
            conn, {edit.subject: (bool(before["assigned"]), before["group_id"])}, at
        )
    else:  # pragma: no cover - the log holds only the kinds above
        raise ValueError(f"unknown edit kind {edit.kind!r}")


def team_members(conn: Connection, held: Memberships) -> list[TeamMember]:
    """Everyone on the team now, with the name of their group (None: in no group)."""
    m = t.members
    rows = conn.execute(
        select(m.c.email, m.c.name).where(m.c.removed_at.is_(None)).order_by(m.c.email)
    )
    return [
        TeamMember(str(email), str(name or ""), held.first_group.get(str(email)))
        for email, name in rows
    ]


def import_people(
    conn: Connection,
    people: Sequence[PersonRow],
    *,
    apply: bool,
    only: Sequence[str] | None,
    min_team_size: int,
    actor: str,
    at: datetime,
) -> ImportPlan:
    """The import's preview; with ``apply``, also its moves (all matched by email, or those
    ``only`` names) and the groups they need, logged as one step to undo.

    Runs in the caller's transaction: when anything fails, nothing of it is stored.
    """
    held = memberships(conn)
    plan = plan_import(
        people,
        team_members(conn, held),
        [group.name for group in held.groups],
        min_team_size=min_team_size,
    )
    if not apply:
        return plan
    moves = chosen_moves(plan, only)
    ids = {group.name: group.id for group in reversed(held.groups)}  # the first of a name wins
    changes: list[Change] = []
    for name in sorted({move.target for move in moves} - ids.keys()):
        group_id = f"local_{uuid.uuid4().hex[:12]}"
        store.set_local_group(conn, group_id, name, at)
        changes.append(("create", group_id, {}, {"name": name}))
        ids[name] = group_id
    placed = place_changes(conn, held, {move.email: ids[move.target] for move in moves}, at)
    if changes or placed:
        _record(conn, actor, at, [*changes, *placed])
    return replace(plan, applied=len(placed))


def export_rows(conn: Connection) -> list[tuple[str, str, str | None]]:
    """Every member on the team with their effective group's name (None: in no group)."""
    held = memberships(conn)
    return [(m.email, m.name, m.group) for m in team_members(conn, held)]


def restore_mapping(
    conn: Connection, rows: Sequence[BackupRow], *, apply: bool, actor: str, at: datetime
) -> RestorePlan:
    """The restore's preview (each row whose group differs from the member's now); with
    ``apply``, every change and the groups it needs, as one step to undo."""
    held = memberships(conn)
    known = known_members(conn)
    current = {m.email: m.group for m in team_members(conn, held)}
    changes: list[tuple[str, str, str | None, str | None]] = []
    unknown: list[BackupRow] = []
    unchanged = 0
    seen: set[str] = set()
    for row in rows:
        stored = known.get(row.email.casefold())
        if stored is None or stored in seen:
            unknown.append(row)
            continue
        seen.add(stored)
        if current.get(stored) == row.group:
            unchanged += 1
        else:
            changes.append((stored, row.name, current.get(stored), row.group))
    ids = {group.name: group.id for group in reversed(held.groups)}
    needed = sorted({target for *_, target in changes if target is not None} - ids.keys())
    plan = RestorePlan(len(rows), changes, unchanged, needed, unknown)
    if not apply:
        return plan
    logged: list[Change] = []
    for name in needed:
        group_id = f"local_{uuid.uuid4().hex[:12]}"
        store.set_local_group(conn, group_id, name, at)
        logged.append(("create", group_id, {}, {"name": name}))
        ids[name] = group_id
    moves = {email: (None if target is None else ids[target]) for email, _, _, target in changes}
    placed = place_changes(conn, held, moves, at)
    if logged or placed:
        _record(conn, actor, at, [*logged, *placed])
    return replace(plan, applied=len(placed))
