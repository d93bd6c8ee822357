"""The billing groups as `groups list`, the settings screen and ``/api/groups`` show them.

Every figure here comes from the effective groups (``storage.groups``): Cursor's snapshot with
the local renames, creations and assignments applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from tracker_core.storage import tables as t
from tracker_core.storage.groups import PARENT_PREFIX, PARENT_SEPARATOR, UNASSIGNED_FILTER
from tracker_core.views._shared import Memberships, dollars, memberships


@dataclass(frozen=True)
class GroupOption:
    """A billing group for the filter: ``id`` is passed back to the views."""

    id: str
    name: str
    members: int
    """Current members."""
    reserved: bool = False
    """Cursor's reserved Unassigned group: where members land by default."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "member_count": self.members}


@dataclass(frozen=True)
class GroupMember:
    """A member as a group lists them.

    ``assigned_here``: placed by a local edit, which no collection undoes. ``not_in_cursor``:
    such a member whom Cursor no longer lists in any group (removed from the team, most
    likely); the assignment is kept, and flagged so someone can decide.
    """

    email: str
    name: str
    assigned_here: bool = False
    not_in_cursor: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "assigned_here": self.assigned_here,
            "not_in_cursor": self.not_in_cursor,
        }


@dataclass(frozen=True)
class GroupRoster:
    """One billing group and its current members."""

    group: GroupOption
    members: list[GroupMember]
    """Current members, by email."""
    source: str = "cursor"
    """``cursor`` (perhaps renamed here) or ``local`` (created here)."""
    spend_cycle_cents: float = 0.0
    """The members' spend in the current billing cycle, as Cursor last reported it."""

    @property
    def emails(self) -> list[str]:
        return [member.email for member in self.members]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.group.id,
            "name": self.group.name,
            "source": self.source,
            "members": [member.to_json() for member in self.members],
            "member_count": self.group.members,
            "spend_cycle": dollars(self.spend_cycle_cents),
        }


@dataclass(frozen=True)
class BillingGroups:
    """Every billing group, by name, the reserved Unassigned group last, and who is in none."""

    groups: list[GroupRoster]
    unassigned: list[GroupMember] = field(default_factory=list)
    """Members on the team in no group (Cursor's reserved Unassigned group counts as none)."""

    @property
    def names(self) -> dict[str, str]:
        """Group id -> name, of every group."""
        return {roster.group.id: roster.group.name for roster in self.groups}

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [roster.to_json() for roster in self.groups],
            "unassigned": [member.to_json() for member in self.unassigned],
        }

    def find(self, given: str) -> GroupRoster | None:
        """The group whose id, else whose exact name, is ``given``."""
        for roster in self.groups:
            if roster.group.id == given:
                return roster
        for roster in self.groups:
            if roster.group.name == given:
                return roster
        return None


def options(held: Memberships) -> list[GroupOption]:
    """The filter's choices, in the order :class:`Memberships` keeps the groups."""
    return [
        GroupOption(
            id=group.id,
            name=group.name,
            members=len(held.emails.get(group.id, [])),
            reserved=group.is_unassigned,
        )
        for group in held.groups
    ]


def member_groups(conn: Connection) -> dict[str, str]:
    """Email -> the member's group as every face shows it: the first (by name) named group
    they are in now, local edits included; members in none are left out."""
    return memberships(conn).first_group


def _names(conn: Connection) -> dict[str, str]:
    """Email -> display name: the members listing first, else what a group listing said."""
    gm, m = t.group_members, t.members
    names = {
        str(email): str(name or "") for email, name in conn.execute(select(gm.c.email, gm.c.name))
    }
    names.update(
        (str(email), str(name)) for email, name in conn.execute(select(m.c.email, m.c.name)) if name
    )
    return names


def _cycle_spend(conn: Connection) -> dict[str, float]:
    """Email -> spend in the newest billing cycle ``/teams/spend`` reported."""
    ms = t.member_spend
    newest = select(func.max(ms.c.cycle_start)).scalar_subquery()
    return {
        str(email): float(cents or 0.0)
        for email, cents in conn.execute(
            select(ms.c.email, ms.c.spend_cents).where(ms.c.cycle_start == newest)
        )
    }


def billing_groups(conn: Connection) -> BillingGroups:
    """Every billing group with its current members (for the settings screen and the API).

    The Unassigned group comes last, since it is where members land by default rather than
    a group someone chose.
    """
    held = memberships(conn)
    names = _names(conn)
    spend = _cycle_spend(conn)
    ga, gm = t.group_assignments, t.group_members
    assigned = {str(email) for email in conn.execute(select(ga.c.email)).scalars()}
    in_cursor = {
        str(email)
        for email in conn.execute(
            select(gm.c.email).where(gm.c.left_at.is_(None)).distinct()
        ).scalars()
    }

    def member(email: str) -> GroupMember:
        here = email in assigned
        return GroupMember(email, names.get(email, ""), here, here and email not in in_cursor)

    sources = {group.id: group.source for group in held.groups}
    rosters = []
    for option in options(held):
        emails = held.emails.get(option.id, [])
        rosters.append(
            GroupRoster(
                option,
                [member(email) for email in emails],
                sources[option.id],
                sum(spend.get(email, 0.0) for email in emails),
            )
        )
    return BillingGroups(rosters, [member(email) for email in _outside(conn, held)])


def _outside(conn: Connection, held: Memberships) -> list[str]:
    """Members on the team in no named group (Cursor's reserved Unassigned counts as none)."""
    m = t.members
    on_team = conn.execute(select(m.c.email).where(m.c.removed_at.is_(None))).scalars()
    return sorted({str(email) for email in on_team} - held.first_group.keys())


def parents(groups: Sequence[GroupOption]) -> list[tuple[str, int]]:
    """``(parent, members)`` for each parent of two teams or more, by name: the parents a
    ``parent:NAME`` filter is worth offering for (one team's parent is that team)."""
    teams: dict[str, list[int]] = {}
    for group in groups:
        if PARENT_SEPARATOR in group.name:
            teams.setdefault(group.name.split(PARENT_SEPARATOR, 1)[0], []).append(group.members)
    return [(parent, sum(sizes)) for parent, sizes in sorted(teams.items()) if len(sizes) > 1]


def parent_options(groups: Sequence[GroupOption]) -> list[tuple[str, str]]:
    """``Parent > all (n)`` for each parent of two teams or more: the ``parent:NAME`` filter,
    which takes every team under it (as ``stats --group`` and the API's ``group=`` do)."""
    return [
        (f"{parent} > all ({members})", PARENT_PREFIX + parent)
        for parent, members in parents(groups)
    ]


@dataclass(frozen=True)
class MenuSection:
    """One ``<optgroup>`` of the group filter (``label`` None: options outside any)."""

    label: str | None
    choices: list[tuple[str, str]]
    """``(text, value)``; the value is what ``?group=`` takes back."""


def group_menu(
    groups: Sequence[GroupOption], unassigned: int, current: str | None = None
) -> list[MenuSection]:
    """The group filter's choices, as the original dashboard laid them out: a section per
    parent opening with "All <Parent> (n)", the teams under it by their short name, the groups
    with no parent, then Unassigned (the ``unassigned`` filter: members in no named group,
    Cursor's reserved one standing for none). Every value is one the shared resolver
    (``Tracker.group_filter``) takes, so the menu, ``stats --group`` and the API agree.

    ``current``, the filter a page shows, is always among the choices (a link may name a
    parent of one team, or Cursor's reserved group by its id): a select showing "Whole team"
    over one group's figures would misstate them."""
    offered = dict(parents(groups))
    sections: dict[str | None, MenuSection] = {None: MenuSection(None, [])}
    for group in groups:
        if group.reserved:
            continue
        parent, _, team = group.name.partition(PARENT_SEPARATOR)
        if team and parent in offered:
            if parent not in sections:
                all_of = f"All {parent} ({offered[parent]})"
                sections[parent] = MenuSection(parent, [(all_of, PARENT_PREFIX + parent)])
            sections[parent].choices.append((f"{team} ({group.members})", group.id))
        else:
            sections[None].choices.append((f"{group.name} ({group.members})", group.id))
    loose = sections.pop(None)
    # Offered even when nobody on the team is in it now: the window can still hold the spend
    # of a removed member who was in no group, which only this filter shows.
    tail = [(f"Unassigned ({unassigned})", UNASSIGNED_FILTER)]
    offered_values = {value for section in sections.values() for _, value in section.choices}
    offered_values.update(value for _, value in (*loose.choices, *tail))
    if current is not None and current not in offered_values:
        tail.append((_current_label(groups, current), current))
    return [*sections.values(), MenuSection(None, [*loose.choices, *tail])]


def _current_label(groups: Sequence[GroupOption], current: str) -> str:
    if current.startswith(PARENT_PREFIX):
        return f"All {current.removeprefix(PARENT_PREFIX)}"
    named = next((group for group in groups if group.id == current), None)
    return current if named is None else f"{named.name} ({named.members})"


def filter_menu(conn: Connection, current: str | None = None) -> list[MenuSection]:
    """The group filter's menu from the effective groups (see :func:`group_menu`)."""
    held = memberships(conn)
    return group_menu(options(held), len(_outside(conn, held)), current)
