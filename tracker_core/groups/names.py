"""Group names and group filters, checked before anything is stored (pure)."""

from __future__ import annotations

import unicodedata

from tracker_core.errors import TrackerError
from tracker_core.storage.groups import PARENT_PREFIX, PARENT_SEPARATOR, UNASSIGNED_FILTER

MAX_NAME_LENGTH = 120
"""Long enough for any org chart's ``Parent > Team``; short enough for a table column."""


class GroupInputError(TrackerError):
    """A group edit or import that cannot be made as asked; nothing was changed (exit 2)."""


def clean_name(text: str) -> str:
    """A group name as stored: its ``Parent > Team`` levels trimmed and joined by `` > ``.

    Refuses an empty name or level, control characters, and the words the group filter
    reserves (``unassigned``, ``parent:...``), which would make a filter ambiguous.
    """
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise GroupInputError("a group name cannot contain control characters")
    levels = [" ".join(level.split()) for level in text.split(">")]
    if not any(levels):
        raise GroupInputError("a group name cannot be empty")
    if not all(levels):
        raise GroupInputError(f"the group name {text.strip()!r} has an empty level around '>'")
    name = PARENT_SEPARATOR.join(levels)
    if len(name) > MAX_NAME_LENGTH:
        raise GroupInputError(f"a group name is at most {MAX_NAME_LENGTH} characters")
    if name.casefold() == UNASSIGNED_FILTER or name.casefold().startswith(PARENT_PREFIX):
        raise GroupInputError(f"{name!r} is reserved for the group filter; choose another name")
    return name


def parent_of(name: str) -> str:
    """The first level of a ``Parent > Team`` name (the whole name when it has one level)."""
    return name.split(PARENT_SEPARATOR, 1)[0]
