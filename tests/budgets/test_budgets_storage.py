"""Stored budgets on SQLite and PostgreSQL: one per scope, replaced in place, removed cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from tracker_core.storage import tables as t
from tracker_core.storage.budgets import (
    budget_of,
    budgets_version,
    drop_budget,
    put_budget,
    stored_budgets,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_budgets_are_set_replaced_listed_and_removed(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        put_budget(conn, "member", "ana@example.test", 30_000, actor="cli:ana", at=T0)
        put_budget(conn, "group", "grp_platform", 200_000, actor="cli:ana", at=T0)
        put_budget(conn, "team", "", 500_000, actor="cli:bo", at=T0)
    later = T0 + timedelta(hours=1)
    with db_engine.begin() as conn:
        put_budget(conn, "group", "grp_platform", 250_000, actor="api:admin", at=later)

    with db_engine.connect() as conn:
        listed = stored_budgets(conn)
        version = budgets_version(conn)
    assert [(b.scope, b.key, b.amount_cents) for b in listed] == [
        ("team", "", 500_000),
        ("group", "grp_platform", 250_000),
        ("member", "ana@example.test", 30_000),
    ]
    group = listed[1]
    assert (group.set_by, group.set_at) == ("api:admin", later)
    assert group.to_json()["amount"] == 2500.0
    assert version == 4

    with db_engine.begin() as conn:
        assert drop_budget(conn, "group", "grp_platform") is True
        assert drop_budget(conn, "group", "grp_platform") is False
    with db_engine.connect() as conn:
        assert budget_of(conn, "group", "grp_platform") is None
        assert budget_of(conn, "team", "") is not None
        assert budgets_version(conn) == 5


def test_the_database_refuses_an_amount_of_zero_or_less_and_an_unknown_scope(
    db_engine: Engine,
) -> None:
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        put_budget(conn, "team", "", 0, actor="cli", at=T0)
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(
            t.budgets.insert().values(
                scope="planet", scope_key="", amount_cents=5, set_by="cli", set_at=T0
            )
        )
    with db_engine.connect() as conn:
        assert stored_budgets(conn) == []
