"""``GET /api/budgets`` and ``PUT /api/budgets`` on a real loopback daemon, on SQLite and
PostgreSQL: the same shapes as ``budgets list --json``, the other routes' error shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from tests.budgets.org import PLATFORM, seed
from tests.daemon.conftest import AUTH, PASSWORD, daemon_settings, running_daemon
from tracker_core.storage.budgets import stored_budgets


async def test_put_sets_and_removes_budgets_and_get_lists_them(
    db_url: str, db_engine: Engine
) -> None:
    seed(db_engine, datetime.now(UTC).date())
    async with running_daemon(daemon_settings(db_url, password=PASSWORD)) as client:
        answer = await client.put(
            "/api/budgets",
            json={"scope": "group", "target": "Platform", "amount": 2000},
            headers=AUTH,
        )
        assert answer.status == 200, await answer.text()
        body = await answer.json()
        assert body["change"]["key"] == PLATFORM and body["change"]["changed"] is True
        (line,) = body["budgets"]
        assert (line["name"], line["amount"], line["spent"], line["percent"]) == (
            "Platform",
            2000.0,
            1640.0,
            82,
        )
        answer = await client.put(
            "/api/budgets", json={"scope": "team", "amount": "5,000"}, headers=AUTH
        )
        assert answer.status == 200
        listed = await (await client.get("/api/budgets", headers=AUTH)).json()
        assert [(b["scope"], b["key"]) for b in listed["budgets"]] == [
            ("team", None),
            ("group", PLATFORM),
        ]
        assert listed["budgets"][1]["set_by"] == "api"
        answer = await client.put(
            "/api/budgets",
            json={"scope": "group", "target": PLATFORM, "amount": None},
            headers=AUTH,
        )
        assert answer.status == 200
        assert [b["scope"] for b in (await answer.json())["budgets"]] == ["team"]


async def test_a_refused_budget_names_its_field_and_changes_nothing(
    sqlite_url: str,
) -> None:
    from tracker_core.storage import open_database

    engine = open_database(sqlite_url)
    seed(engine, datetime.now(UTC).date())
    refused: list[tuple[Any, int, str]] = [
        ([1], 400, "body"),
        ({"amount": 5}, 400, "scope"),
        ({"scope": "planet", "amount": 5}, 400, "scope"),
        ({"scope": "team", "amount": -5}, 400, "amount"),
        ({"scope": "team", "amount": "lots"}, 400, "amount"),
        ({"scope": "team", "amount": True}, 400, "amount"),
        ({"scope": "team", "amount": 1e12}, 400, "amount"),
        ({"scope": "group", "target": "Payments", "amount": 5}, 404, "target"),
        ({"scope": "member", "target": "zed@example.test", "amount": 5}, 404, "target"),
        ({"scope": "member", "target": 7, "amount": 5}, 400, "target"),
    ]
    try:
        async with running_daemon(daemon_settings(sqlite_url)) as client:
            for body, status, field in refused:
                answer = await client.put("/api/budgets", json=body)
                found = await answer.json()
                assert (answer.status, found.get("field")) == (status, field), (body, found)
                assert found["error"]
        with engine.connect() as conn:
            assert stored_budgets(conn) == []
    finally:
        engine.dispose()


async def test_the_settings_page_lists_each_budget_with_this_cycles_spend(
    sqlite_url: str,
) -> None:
    from tracker_core.storage import open_database

    engine = open_database(sqlite_url)
    seed(engine, datetime.now(UTC).date())
    try:
        async with running_daemon(daemon_settings(sqlite_url)) as client:
            empty = await (await client.get("/settings")).text()
            assert "No budgets set" in empty
            await client.put(
                "/api/budgets", json={"scope": "group", "target": "Platform", "amount": 2000}
            )
            await client.put(
                "/api/budgets",
                json={"scope": "member", "target": "ana@example.test", "amount": 300},
            )
            text = await (await client.get("/settings")).text()
    finally:
        engine.dispose()
    row = text[text.index(f'id="budget-group-{PLATFORM}"') :].split("</tr>")[0]
    assert "Platform" in row and "$2,000.00" in row and "$1,640.00" in row and "82 %" in row
    member = text[text.index('id="budget-member-ana@example.test"') :].split("</tr>")[0]
    assert "/members/" in member
    assert "300 %" in member
