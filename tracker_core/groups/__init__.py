"""Editing the billing groups locally: renames, creations, assignments, undo, imports.

Cursor's groups stay a snapshot the collector refreshes; everything here writes the local
tables of ``storage.groups`` and logs what it replaced, so a collection never undoes an edit
and any edit can be undone. The parsing and arithmetic (names, the HiBob CSV, the team
consolidation) are pure functions; only ``edits`` touches the database.
"""

from tracker_core.groups.names import GroupInputError

__all__ = ["GroupInputError"]
