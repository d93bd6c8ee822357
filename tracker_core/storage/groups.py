"""The effective billing groups: Cursor's snapshot with the local changes laid over it.

Cursor's groups and memberships (``billing_groups``, ``group_members``) are replaced by every
groups sync; the local changes (``local_groups``, ``group_renames``, ``group_assignments``)
are written only by a person's edit. Every face reads the merge defined here, so a sync can
never undo an edit and no face can disagree with another about who is in which group:

- a group is each of Cursor's (under its local name when renamed) and each local one;
- a member assigned here is in the assigned group only (or in none), whatever Cursor says;
- everyone else is where Cursor last put them.

The write helpers below run in the caller's transaction and count the ``groups`` data version
up, so a face that keeps figures keyed by a data fingerprint sees every edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    delete,
    false,
    func,
    literal,
    select,
    union_all,
    update,
)

from tracker_core.storage import tables as t
from tracker_core.storage.repo import bump_data_version, data_version, dialect_insert

GROUPS_VERSION = "groups"
"""The data version every local group edit counts up."""

UNASSIGNED_FILTER = "unassigned"
"""The group filter that takes members in no group (or in Cursor's reserved Unassigned)."""
PARENT_PREFIX = "parent:"
"""``parent:NAME`` takes every group named NAME or ``NAME > ...``."""
PARENT_SEPARATOR = " > "


def effective_groups() -> Select[tuple[str, str, bool, str]]:
    """Every group as ``(id, name, is_unassigned, source)``, source ``cursor`` or ``local``."""
    bg, rn, lg = t.billing_groups, t.group_renames, t.local_groups
    cursor = select(
        bg.c.id.label("id"),
        func.coalesce(rn.c.name, bg.c.name).label("name"),
        bg.c.is_unassigned.label("is_unassigned"),
        literal("cursor").label("source"),
    ).select_from(bg.outerjoin(rn, rn.c.group_id == bg.c.id))
    local = select(
        lg.c.id, lg.c.name, false().label("is_unassigned"), literal("local").label("source")
    )
    merged = union_all(cursor, local).subquery("effective_groups")
    return select(merged.c.id, merged.c.name, merged.c.is_unassigned, merged.c.source)


def effective_members() -> Select[tuple[str, str]]:
    """Every current place of a member as ``(email, group_id)``: local assignments first."""
    gm, ga = t.group_members, t.group_assignments
    from_cursor = select(gm.c.email.label("email"), gm.c.group_id.label("group_id")).where(
        gm.c.left_at.is_(None), gm.c.email.not_in(select(ga.c.email))
    )
    assigned = select(ga.c.email, ga.c.group_id).where(ga.c.group_id.is_not(None))
    merged = union_all(from_cursor, assigned).subquery("effective_members")
    return select(merged.c.email, merged.c.group_id)


def group_filter(email: ColumnElement[str], spec: str | None) -> list[ColumnElement[bool]]:
    """The condition on ``email`` that keeps the members a group filter names.

    ``spec`` is a group id, ``parent:NAME`` or ``unassigned`` (see :func:`parse_filter`);
    None keeps everyone. A subquery, not a bound list, so the statement stays small for a
    group of any size and the database matches while it scans.
    """
    if spec is None:
        return []
    members = effective_members().subquery()
    groups = effective_groups().subquery()
    if spec == UNASSIGNED_FILTER:
        grouped = (
            select(members.c.email)
            .join(groups, groups.c.id == members.c.group_id)
            .where(groups.c.is_unassigned.is_(False))
        )
        return [email.not_in(grouped)]
    if spec.startswith(PARENT_PREFIX):
        parent = spec.removeprefix(PARENT_PREFIX)
        under = select(groups.c.id).where(
            (groups.c.name == parent)
            | groups.c.name.startswith(parent + PARENT_SEPARATOR, autoescape=True)
        )
        return [email.in_(select(members.c.email).where(members.c.group_id.in_(under)))]
    return [email.in_(select(members.c.email).where(members.c.group_id == spec))]


def groups_version(conn: Connection) -> int:
    """How many local edits (and undos) the groups have had."""
    return data_version(conn, GROUPS_VERSION)


# --- the local changes ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEdit:
    """One logged change: ``before``/``after`` describe ``subject`` on either side."""

    id: int
    batch: int
    at: datetime
    actor: str
    kind: str
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]
    undone: bool

    def to_json(self) -> dict[str, Any]:
        """The ``groups history --json`` entry (``step`` groups one command's edits)."""
        return {
            "id": self.id,
            "step": self.batch,
            "at": self.at.isoformat(),
            "who": self.actor,
            "kind": self.kind,
            "subject": self.subject,
            "from": self.before,
            "to": self.after,
            "undone": self.undone,
        }


def rename_of(conn: Connection, group_id: str) -> str | None:
    rn = t.group_renames
    name = conn.execute(select(rn.c.name).where(rn.c.group_id == group_id)).scalar()
    return None if name is None else str(name)


def set_rename(conn: Connection, group_id: str, name: str | None, at: datetime) -> None:
    """Give Cursor's group ``group_id`` a local name (None: back to Cursor's own)."""
    rn = t.group_renames
    conn.execute(delete(rn).where(rn.c.group_id == group_id))
    if name is not None:
        conn.execute(rn.insert().values(group_id=group_id, name=name, renamed_at=at))
    bump_data_version(conn, GROUPS_VERSION)


def set_local_group(conn: Connection, group_id: str, name: str | None, at: datetime) -> None:
    """Create (or rename) the local group ``group_id``; None removes it."""
    lg = t.local_groups
    if name is None:
        conn.execute(delete(lg).where(lg.c.id == group_id))
    else:
        stmt = dialect_insert(conn, lg).values(id=group_id, name=name, created_at=at)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"name": name}))
    bump_data_version(conn, GROUPS_VERSION)


def assignment_of(conn: Connection, email: str) -> tuple[bool, str | None]:
    """``(assigned here, group id)`` of a member; the id is None for "in no group"."""
    ga = t.group_assignments
    row = conn.execute(select(ga.c.group_id).where(ga.c.email == email)).first()
    return (False, None) if row is None else (True, row.group_id)


def set_assignments(
    conn: Connection, places: Mapping[str, tuple[bool, str | None]], at: datetime
) -> None:
    """Place each email (``(True, group id or None)``) or drop its assignment (``(False, _)``)."""
    ga = t.group_assignments
    emails = sorted(places)
    for start in range(0, len(emails), 500):
        conn.execute(delete(ga).where(ga.c.email.in_(emails[start : start + 500])))
    rows = [
        {"email": email, "group_id": group_id, "assigned_at": at}
        for email, (assigned, group_id) in sorted(places.items())
        if assigned
    ]
    if rows:
        conn.execute(ga.insert(), rows)
    bump_data_version(conn, GROUPS_VERSION)


def next_batch(conn: Connection) -> int:
    ge = t.group_edits
    return int(conn.execute(select(func.coalesce(func.max(ge.c.batch), 0))).scalar_one()) + 1


def log_edits(
    conn: Connection,
    batch: int,
    at: datetime,
    actor: str,
    edits: list[tuple[str, str, dict[str, Any], dict[str, Any]]],
) -> None:
    """Record ``(kind, subject, before, after)`` changes as one step to undo."""
    if not edits:
        return
    conn.execute(
        t.group_edits.insert(),
        [
            {
                "batch": batch,
                "at": at,
                "actor": actor,
                "kind": kind,
                "subject": subject,
                "before": json.dumps(before, sort_keys=True),
                "after": json.dumps(after, sort_keys=True),
                "undone_at": None,
            }
            for kind, subject, before, after in edits
        ],
    )


def edits(conn: Connection, *, batch: int | None = None) -> list[StoredEdit]:
    """Logged changes, oldest first (those of one ``batch`` when given)."""
    ge = t.group_edits
    query = select(ge).order_by(ge.c.id)
    if batch is not None:
        query = query.where(ge.c.batch == batch)
    return [
        StoredEdit(
            id=row.id,
            batch=row.batch,
            at=row.at,
            actor=row.actor,
            kind=row.kind,
            subject=row.subject,
            before=json.loads(row.before),
            after=json.loads(row.after),
            undone=row.undone_at is not None,
        )
        for row in conn.execute(query)
    ]


def last_live_batch(conn: Connection) -> int | None:
    """The newest batch of edits not undone yet, if any."""
    ge = t.group_edits
    found = conn.execute(
        select(func.max(ge.c.batch)).where(ge.c.undone_at.is_(None), ge.c.kind != "undo")
    ).scalar()
    return None if found is None else int(found)


def mark_undone(conn: Connection, batch: int, at: datetime) -> None:
    ge = t.group_edits
    conn.execute(update(ge).where(ge.c.batch == batch).values(undone_at=at))
