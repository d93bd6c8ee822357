"""The stored budgets (table ``budgets``): read, set and remove, in the caller's transaction.

Every write counts the ``budgets`` data version up, so a face that keeps figures keyed by a
data fingerprint (the daemon's answers) sees every change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, delete, select

from tracker_core.budgets.model import Budget, Scope
from tracker_core.storage import tables as t
from tracker_core.storage.repo import bump_data_version, data_version, dialect_insert

BUDGETS_VERSION = "budgets"
"""The data version every budget change counts up."""


def _budget(row: Any) -> Budget:
    return Budget(
        scope=cast(Scope, row.scope),
        key=str(row.scope_key),
        amount_cents=int(row.amount_cents),
        set_by=str(row.set_by),
        set_at=row.set_at,
    )


def stored_budgets(conn: Connection) -> list[Budget]:
    """Every budget, team first, then groups and members by key."""
    b = t.budgets
    rows = conn.execute(select(b)).all()
    order = {"team": 0, "group": 1, "member": 2}
    return sorted((_budget(row) for row in rows), key=lambda x: (order[x.scope], x.key))


def budget_of(conn: Connection, scope: Scope, key: str) -> Budget | None:
    b = t.budgets
    row = conn.execute(select(b).where(b.c.scope == scope, b.c.scope_key == key)).one_or_none()
    return None if row is None else _budget(row)


def put_budget(
    conn: Connection, scope: Scope, key: str, amount_cents: int, *, actor: str, at: datetime
) -> None:
    """Set (or replace) the budget of one scope; ``amount_cents`` must be above 0."""
    b = t.budgets
    stmt = dialect_insert(conn, b).values(
        scope=scope, scope_key=key, amount_cents=amount_cents, set_by=actor, set_at=at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope", "scope_key"],
            set_={
                "amount_cents": stmt.excluded.amount_cents,
                "set_by": stmt.excluded.set_by,
                "set_at": stmt.excluded.set_at,
            },
        )
    )
    bump_data_version(conn, BUDGETS_VERSION)


def drop_budget(conn: Connection, scope: Scope, key: str) -> bool:
    """Remove one scope's budget; False when it had none (nothing changed)."""
    b = t.budgets
    gone = conn.execute(delete(b).where(b.c.scope == scope, b.c.scope_key == key)).rowcount
    if gone:
        bump_data_version(conn, BUDGETS_VERSION)
    return bool(gone)


def budgets_version(conn: Connection) -> int:
    """How many budget changes were ever made."""
    return data_version(conn, BUDGETS_VERSION)
