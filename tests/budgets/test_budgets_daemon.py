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
    assert text.count('id="budgets"') == 1
    assert text.index('id="groups"') < text.index('id="budgets"')  # in the page's body
    row = text[text.index(f'id="budget-group-{PLATFORM}"') :].split("</tr>")[0]
    assert "Platform" in row and "$2,000.00" in row and "$1,640.00" in row and "82 %" in row
    member = text[text.index('id="budget-member-ana@example.test"') :].split("</tr>")[0]
    assert "/members/" in member
    assert "300 %" in member


async def test_the_settings_page_sets_a_budget_with_its_form_and_refuses_a_bad_one(
    sqlite_url: str,
) -> None:
    from tests.daemon.conftest import USER, basic
    from tracker_core.daemon.pages import CSRF_COOKIE
    from tracker_core.storage import open_database

    engine = open_database(sqlite_url)
    seed(engine, datetime.now(UTC).date())
    try:
        async with running_daemon(daemon_settings(sqlite_url, password=PASSWORD)) as client:
            denied = await client.post(
                "/settings/budgets",
                data={"csrf": "x", "scope": "team", "amount": "5"},
                headers=basic(USER, "wrong"),
            )
            assert denied.status == 401
            await client.get("/settings", headers=AUTH)
            token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE]
            form = {"csrf": token.value, "scope": "group", "target": "Platform"}
            forged = await client.post(
                "/settings/budgets", data={**form, "csrf": "forged", "amount": "5"}, headers=AUTH
            )
            assert forged.status == 403
            refused = await client.post(
                "/settings/budgets", data={**form, "amount": "-3"}, headers=AUTH
            )
            assert refused.status == 400
            assert "budget amount &#39;-3&#39; is negative" in await refused.text()
            with engine.connect() as conn:
                assert stored_budgets(conn) == []
            done = await client.post(
                "/settings/budgets",
                data={**form, "amount": "2,000"},
                headers=AUTH,
                allow_redirects=False,
            )
            assert done.status == 303
            assert done.headers["Location"] == "/settings?budget=saved#budgets"
            shown = await (await client.get("/settings?budget=saved", headers=AUTH)).text()
            assert "Budget saved." in shown and 'id="budget-group-grp_platform"' in shown
        with engine.connect() as conn:
            assert [(b.scope, b.key, b.amount_cents, b.set_by) for b in stored_budgets(conn)] == [
                ("group", PLATFORM, 200_000, "dashboard")
            ]
    finally:
        engine.dispose()


async def test_the_overview_page_shows_the_team_budget_as_soon_as_it_changes(
    sqlite_url: str,
) -> None:
    from tracker_core.storage import open_database

    engine = open_database(sqlite_url)
    seed(engine, datetime.now(UTC).date())
    try:
        async with running_daemon(daemon_settings(sqlite_url)) as client:
            before = await (await client.get("/")).text()
            assert 'id="cycle-budget"' not in before
            await client.put("/api/budgets", json={"scope": "team", "amount": 2000})
            shown = await (await client.get("/")).text()  # the kept page is not reused
            assert "82 % of the team's $2,000.00 budget" in shown
            await client.put("/api/budgets", json={"scope": "team", "amount": 1000})
            assert (
                'class="sub warn" id="cycle-budget">164 %' in await (await client.get("/")).text()
            )
    finally:
        engine.dispose()
