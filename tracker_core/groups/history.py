"""How a logged group edit reads, for every face's history: names, not ids.

The log keeps ids (what an undo needs: a group renamed since is still the same group); a
person reads names. A group's name is its current one, else the last the log gave it (a
group deleted since).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tracker_core.storage.groups import StoredEdit


def group_names(edits: Iterable[StoredEdit], current: Mapping[str, str]) -> dict[str, str]:
    """Group id -> the name to show: ``current`` (every group now), over the names the log
    gave groups that are gone."""
    names: dict[str, str] = {}
    for edit in edits:
        if edit.kind in ("create", "rename", "delete"):
            for state in (edit.before, edit.after):
                if state.get("name"):
                    names[edit.subject] = str(state["name"])
    return names | dict(current)


def subject(edit: StoredEdit, names: Mapping[str, str]) -> str:
    """What an edit changed: a group by its name, a member by their email."""
    return names.get(edit.subject, edit.subject)


def side(state: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
    """A logged state as words: an assignment's groups, a placement, else a name.

    An assignment's "before" lists where Cursor or an earlier edit had the member, so an
    undo knows what to put back; a person reads it as a list of groups ("no group": none).
    A rename's "before" of one of Cursor's groups holds the earlier local name (none: the
    name Cursor gives it), and ``shown``, the name it had.
    """
    named = names or {}
    if "groups" in state:
        return ", ".join(named.get(group, group) for group in state["groups"]) or "no group"
    if "group_id" in state:
        group = state["group_id"]
        return named.get(group, group) if group else "no group"
    return str(state.get("shown") or state.get("name") or "-")
