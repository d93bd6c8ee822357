"""Setting and removing budgets, in the caller's write transaction.

A group is named by id or exact name and a member by email (any case), as the groups
commands take them; what is stored is the group's id (a rename keeps its budget) and the
email as Cursor spells it. Each function either makes its change or raises
:class:`BudgetInputError` before writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tracker_core.budgets.model import BudgetInputError, Scope, parse_amount, parse_scope
from tracker_core.formatting import money
from tracker_core.groups.edits import find_group, known_members
from tracker_core.groups.names import GroupInputError
from tracker_core.storage import budgets as store
from tracker_core.text import printable
from tracker_core.views._shared import memberships


@dataclass(frozen=True)
class BudgetChange:
    """What one set or unset did: the scope, its key and name, the amount now (None: none)."""

    scope: Scope
    key: str
    name: str
    amount_cents: int | None
    changed: bool
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key or None,
            "name": self.name,
            "amount": None if self.amount_cents is None else self.amount_cents / 100,
            "changed": self.changed,
            "summary": self.summary,
        }


def _shown(text: str) -> str:
    return repr(printable(text[:80]))


def resolve(conn: Connection, scope: Scope, given: str | None) -> tuple[str, str]:
    """The stored key and the display name of the scope a person named."""
    if scope == "team":
        if given:
            raise BudgetInputError(
                f"a team budget names no group or member (got {_shown(given)})", field="target"
            )
        return "", "the team"
    if not given or not given.strip():
        raise BudgetInputError(
            "name the group (id or exact name)" if scope == "group" else "name the member's email",
            field="target",
        )
    if scope == "group":
        try:
            group = find_group(memberships(conn), given)
        except GroupInputError as exc:
            raise BudgetInputError(str(exc), field="target", unknown=True) from None
        return group.id, group.name
    stored = known_members(conn).get(given.strip().casefold())
    if stored is None:
        raise BudgetInputError(f"no member {_shown(given)}", field="target", unknown=True)
    return stored, stored


def set_budget(
    conn: Connection,
    scope_text: str,
    given: str | None,
    amount: str | float,
    *,
    actor: str,
    at: datetime,
) -> BudgetChange:
    """Set a scope's budget in dollars per cycle; 0 removes it (a budget of 0 is off)."""
    scope = parse_scope(scope_text)
    cents = parse_amount(amount)
    key, name = resolve(conn, scope, given)
    if cents == 0:
        return _remove(conn, scope, key, name)
    before = store.budget_of(conn, scope, key)
    if before is not None and before.amount_cents == cents:
        return BudgetChange(scope, key, name, cents, False, f"{name} already has {money(cents)}")
    store.put_budget(conn, scope, key, cents, actor=actor, at=at)
    return BudgetChange(scope, key, name, cents, True, f"{name}: {money(cents)} per cycle")


def unset_budget(conn: Connection, scope_text: str, given: str | None) -> BudgetChange:
    """Remove a scope's budget; a group or member no longer known is matched by stored key."""
    scope = parse_scope(scope_text)
    if scope != "team" and given and store.budget_of(conn, scope, given.strip()) is not None:
        key = name = given.strip()
    else:
        key, name = resolve(conn, scope, given)
    return _remove(conn, scope, key, name)


def _remove(conn: Connection, scope: Scope, key: str, name: str) -> BudgetChange:
    if store.drop_budget(conn, scope, key):
        return BudgetChange(scope, key, name, None, True, f"{name}: budget removed")
    return BudgetChange(scope, key, name, None, False, f"{name} has no budget: nothing changed")
