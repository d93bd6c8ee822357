"""The billing groups as the settings screen lists them and the overview's filter offers them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tracker_core.views._shared import Memberships, memberships


@dataclass(frozen=True)
class GroupOption:
    """A billing group for the filter: ``id`` is passed back to the views."""

    id: str
    name: str
    members: int
    """Current members."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "member_count": self.members}


@dataclass(frozen=True)
class GroupRoster:
    """One billing group and its current members."""

    group: GroupOption
    emails: list[str]
    """Current members' emails, sorted."""

    def to_json(self) -> dict[str, Any]:
        return {**self.group.to_json(), "members": list(self.emails)}


@dataclass(frozen=True)
class BillingGroups:
    """Every billing group, by name, the reserved Unassigned group last."""

    groups: list[GroupRoster]

    def to_json(self) -> dict[str, Any]:
        return {"groups": [roster.to_json() for roster in self.groups]}


def options(held: Memberships) -> list[GroupOption]:
    """The filter's choices, in the order :class:`Memberships` keeps the groups."""
    return [
        GroupOption(id=group.id, name=group.name, members=len(held.emails.get(group.id, [])))
        for group in held.groups
    ]


def billing_groups(conn: Connection) -> BillingGroups:
    """Every billing group with its current members (for the settings screen).

    The Unassigned group comes last, since it is where members land by default rather than
    a group someone chose.
    """
    held = memberships(conn)
    return BillingGroups(
        [GroupRoster(option, list(held.emails.get(option.id, []))) for option in options(held)]
    )
