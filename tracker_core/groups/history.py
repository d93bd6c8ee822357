"""How one side (before or after) of a logged group edit reads, for every face's history."""

from __future__ import annotations

from typing import Any


def side(state: dict[str, Any]) -> str:
    """A logged state as words: an assignment's groups, a placement, else a name.

    An assignment's "before" lists where Cursor or an earlier edit had the member, so an
    undo knows what to put back; a person reads it as a list of groups ("no group": none).
    """
    if "groups" in state:
        return ", ".join(state["groups"]) or "no group"
    if "group_id" in state:
        return str(state["group_id"] or "no group")
    return str(state.get("name") or "-")
