"""The simulator's HTTP face: shapes, pagination, filtering, auth and request errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tracker_core.simulator import Scenario, generate_scenario, make_simulator_app
from tracker_core.simulator.scenario import DAY_MS

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def basic(user: str, password: str = "") -> dict[str, str]:
    """Cursor's Basic scheme: the key as user name, an empty password."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic("sim-key")

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate_scenario(users=12, days=20, seed=11, now=NOW)


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[TestClient[Any, Any]] = []

    async def make(scenario: Scenario, **options: Any) -> TestClient[Any, Any]:
        options.setdefault("rate_limits", False)
        client: TestClient[Any, Any] = TestClient(
            TestServer(make_simulator_app(scenario, **options))
        )
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: MakeClient, scenario: Scenario) -> TestClient[Any, Any]:
    return await make_client(scenario)


async def post(client: TestClient[Any, Any], path: str, body: object) -> tuple[int, Any]:
    response = await client.post(path, json=body, headers=AUTH)
    return response.status, await response.json()


async def all_event_pages(
    client: TestClient[Any, Any], body: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    page, total = 1, -1
    while True:
        status, answer = await post(client, "/teams/filtered-usage-events", {**body, "page": page})
        assert status == 200
        total = answer["totalUsageEventsCount"]
        assert answer["pagination"]["currentPage"] == page
        events.extend(answer["usageEvents"])
        if not answer["pagination"]["hasNextPage"]:
            assert page == max(1, answer["pagination"]["numPages"])
            return events, total
        page += 1


def events_between(scenario: Scenario, start: int, end: int, email: str | None = None) -> int:
    return sum(
        1
        for event in scenario.events
        if start <= int(event["timestamp"]) <= end
        and (email is None or event["userEmail"] == email)
    )


# -- usage events


async def test_pages_cover_every_event_exactly_once(
    client: TestClient[Any, Any], scenario: Scenario
) -> None:
    start, end = NOW_MS - 30 * DAY_MS, NOW_MS
    events, total = await all_event_pages(
        client, {"startDate": start, "endDate": end, "pageSize": 250}
    )
    expected = events_between(scenario, start, end)
    assert total == expected == len(events) > 1000
    identities = {(e["userEmail"], e["timestamp"]) for e in events}
    assert len(identities) == len(events)
    stamps = [int(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    served = sorted(events, key=lambda e: (int(e["timestamp"]), e["userEmail"]))
    stored = sorted(scenario.events, key=lambda e: (int(e["timestamp"]), e["userEmail"]))
    assert served == [e for e in stored if start <= int(e["timestamp"]) <= end]


async def test_event_pagination_fields_and_page_size_clamp(client: TestClient[Any, Any]) -> None:
    body = {"startDate": NOW_MS - 3 * DAY_MS, "endDate": NOW_MS}
    status, first = await post(client, "/teams/filtered-usage-events", body)
    assert status == 200
    assert first["pagination"]["pageSize"] == 10
    assert first["pagination"]["hasPreviousPage"] is False
    assert len(first["usageEvents"]) == 10
    assert first["period"] == {"startDate": body["startDate"], "endDate": body["endDate"]}
    total = first["totalUsageEventsCount"]
    status, big = await post(client, "/teams/filtered-usage-events", {**body, "pageSize": 50_000})
    assert big["pagination"]["pageSize"] == 1000
    assert big["pagination"]["numPages"] == -(-total // 1000)
    last = first["pagination"]["numPages"]
    status, tail = await post(client, "/teams/filtered-usage-events", {**body, "page": last})
    assert tail["pagination"]["hasNextPage"] is False
    assert tail["pagination"]["hasPreviousPage"] is True
    assert len(tail["usageEvents"]) == total - 10 * (last - 1)
    status, beyond = await post(client, "/teams/filtered-usage-events", {**body, "page": last + 1})
    assert beyond["usageEvents"] == []


async def test_date_filter_is_inclusive_at_both_ends(
    client: TestClient[Any, Any], scenario: Scenario
) -> None:
    stamps = scenario.events.timestamps
    start, end = stamps[len(stamps) // 3], stamps[len(stamps) // 3 + 40]
    events, total = await all_event_pages(
        client, {"startDate": start, "endDate": end, "pageSize": 1000}
    )
    served = {int(e["timestamp"]) for e in events}
    assert start in served and end in served
    assert all(start <= stamp <= end for stamp in served)
    assert total == events_between(scenario, start, end)
    events, total = await all_event_pages(client, {"startDate": start + 1, "endDate": end - 1})
    assert start not in {int(e["timestamp"]) for e in events}


async def test_filter_by_email_and_by_user_id(
    client: TestClient[Any, Any], scenario: Scenario
) -> None:
    member = scenario.members[3]
    start, end = NOW_MS - 14 * DAY_MS, NOW_MS
    body = {"startDate": start, "endDate": end, "pageSize": 1000}
    by_email, total = await all_event_pages(client, {**body, "email": member["email"]})
    assert total == events_between(scenario, start, end, member["email"]) > 0
    assert {e["userEmail"] for e in by_email} == {member["email"]}
    by_id, _ = await all_event_pages(client, {**body, "userId": member["id"]})
    assert by_id == by_email
    status, answer = await post(
        client, "/teams/filtered-usage-events", {**body, "email": "nobody@example.test"}
    )
    assert status == 400
    assert answer == {"error": "Bad Request", "message": "Some users are not in the team"}


async def test_events_default_to_the_last_week(
    client: TestClient[Any, Any], scenario: Scenario
) -> None:
    status, answer = await post(client, "/teams/filtered-usage-events", {})
    assert status == 200
    assert answer["period"] == {"startDate": NOW_MS - 7 * DAY_MS, "endDate": NOW_MS}


# -- request errors


@pytest.mark.parametrize("path", ["/teams/daily-usage-data", "/teams/filtered-usage-events"])
async def test_a_31_day_range_is_refused(client: TestClient[Any, Any], path: str) -> None:
    start = NOW_MS - 31 * DAY_MS
    status, answer = await post(client, path, {"startDate": start, "endDate": NOW_MS})
    assert status == 400
    assert answer == {"error": "Bad Request", "message": "Date range cannot exceed 30 days"}
    status, _ = await post(client, path, {"startDate": start + DAY_MS, "endDate": NOW_MS})
    assert status == 200


async def test_a_31_day_analytics_range_is_refused(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        "/analytics/team/dau",
        params={"startDate": "2025-02-01", "endDate": "2025-03-04"},
        headers=AUTH,
    )
    assert response.status == 400
    assert await response.json() == {
        "error": "Bad Request",
        "message": "Date range cannot exceed 30 days",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "Request body must be a JSON object"),
        (b"{not json", "Request body is not valid JSON"),
        (b"[1, 2]", "Request body must be a JSON object"),
        (b'{"endDate": 1741000000000}', "startDate is required (epoch milliseconds)"),
        (b'{"startDate": "soon", "endDate": 1}', "startDate must be epoch milliseconds"),
        (b'{"startDate": 5, "endDate": 1}', "startDate must not be after endDate"),
        (b'{"startDate": 1, "endDate": 5, "page": 0}', "page must be a positive integer"),
    ],
)
async def test_bad_bodies_get_the_error_envelope(
    client: TestClient[Any, Any], raw: bytes, message: str
) -> None:
    response = await client.post(
        "/teams/daily-usage-data",
        data=raw,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert await response.json() == {"error": "Bad Request", "message": message}


async def test_unknown_paths_and_methods(client: TestClient[Any, Any]) -> None:
    response = await client.get("/teams/nothing-here", headers=AUTH)
    assert response.status == 404
    assert await response.json() == {"error": "Not Found", "message": "Resource not found"}
    response = await client.get("/analytics/team/leaderboard", headers=AUTH)
    assert response.status == 404
    response = await client.get("/teams/spend", headers=AUTH)
    assert response.status == 405
    assert (await response.json())["error"] == "Method Not Allowed"


# -- authentication


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("wrong-key"),
        basic("sim-key", "secret"),
        {"Authorization": "Bearer sim-key"},
        {"Authorization": "Basic !!!"},
    ],
)
async def test_admin_api_rejects_a_wrong_key(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    response = await client.get("/teams/members", headers=headers)
    assert response.status == 401
    assert await response.json() == {"error": "Unauthorized", "message": "Invalid API key"}


async def test_analytics_keys(make_client: MakeClient, scenario: Scenario) -> None:
    shared = await make_client(scenario)
    for headers in ({"Authorization": "Bearer sim-key"}, AUTH):
        response = await shared.get("/analytics/team/dau", headers=headers)
        assert response.status == 200
    separate = await make_client(scenario, analytics_api_key="analytics-key")
    response = await separate.get("/analytics/team/dau", headers=AUTH)
    assert response.status == 401
    response = await separate.get(
        "/analytics/team/dau", headers={"Authorization": "Bearer analytics-key"}
    )
    assert response.status == 200
    response = await separate.get("/teams/members", headers=basic("analytics-key"))
    assert response.status == 401


# -- the other admin endpoints


async def test_members(client: TestClient[Any, Any], scenario: Scenario) -> None:
    response = await client.get("/teams/members", headers=AUTH)
    answer = await response.json()
    assert answer == {"teamMembers": scenario.members}
    assert {m["role"] for m in answer["teamMembers"]} == {"owner", "member"}
    assert any(m["isRemoved"] for m in answer["teamMembers"])


async def test_daily_usage_modes(client: TestClient[Any, Any], scenario: Scenario) -> None:
    start = NOW_MS - 6 * DAY_MS
    body = {"startDate": start, "endDate": NOW_MS}
    status, active = await post(client, "/teams/daily-usage-data", body)
    assert status == 200
    assert "pagination" not in active
    assert active["data"] and all(row["isActive"] for row in active["data"])
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        status, answer = await post(
            client, "/teams/daily-usage-data", {**body, "page": page, "pageSize": 5}
        )
        rows.extend(answer["data"])
        pagination = answer["pagination"]
        assert pagination["totalUsers"] == len(scenario.members)
        assert pagination["totalPages"] == -(-len(scenario.members) // 5)
        if not pagination["hasNextPage"]:
            break
        page += 1
    assert len(rows) == len(scenario.members) * 7
    paged_active = {(r["email"], r["day"]) for r in rows if r["isActive"]}
    assert paged_active == {(r["email"], r["day"]) for r in active["data"]}


async def test_spend_pages_and_sorting(client: TestClient[Any, Any], scenario: Scenario) -> None:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        status, answer = await post(client, "/teams/spend", {"page": page, "pageSize": 5})
        assert status == 200
        rows.extend(answer["teamMemberSpend"])
        if page >= answer["totalPages"]:
            break
        page += 1
    assert answer["totalMembers"] == len(rows)
    assert answer["subscriptionCycleStart"] == int(
        datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000
    )
    cycle_start = answer["subscriptionCycleStart"]
    charged: dict[str, float] = {}
    for event in scenario.events:
        if int(event["timestamp"]) >= cycle_start:
            charged[event["userEmail"]] = charged.get(event["userEmail"], 0) + event["chargedCents"]
    for row in rows:
        assert row["spendCents"] == pytest.approx(charged.get(row["email"], 0), abs=0.01)
    status, by_amount = await post(
        client, "/teams/spend", {"sortBy": "amount", "sortDirection": "desc", "pageSize": 100}
    )
    amounts = [row["spendCents"] for row in by_amount["teamMemberSpend"]]
    assert amounts == sorted(amounts, reverse=True)
    whale = next(a for a in scenario.planted_anomalies if a["kind"] == "cycle_outlier")
    assert by_amount["teamMemberSpend"][0]["email"] == whale["email"]
    name = scenario.members[2]["name"]
    status, found = await post(client, "/teams/spend", {"searchTerm": name.upper()})
    assert [row["name"] for row in found["teamMemberSpend"]] == [name]
    status, _ = await post(client, "/teams/spend", {"sortBy": "height"})
    assert status == 400


async def test_groups(client: TestClient[Any, Any], scenario: Scenario) -> None:
    response = await client.get("/teams/groups", headers=AUTH)
    answer = await response.json()
    assert answer == scenario.groups
    assert answer["groups"] and all(g["type"] == "BILLING" for g in answer["groups"])
    assert any(" > " in g["name"] for g in answer["groups"])
    seated = [m["email"] for g in answer["groups"] for m in g["currentMembers"]]
    seated += [m["email"] for m in answer["unassignedGroup"]["currentMembers"]]
    current = [m["email"] for m in scenario.members if not m["isRemoved"]]
    assert sorted(seated) == sorted(current)
    response = await client.get("/teams/groups", params={"billingCycle": "March"}, headers=AUTH)
    assert response.status == 400


# -- analytics


async def test_analytics_envelope_and_dates(
    client: TestClient[Any, Any], scenario: Scenario
) -> None:
    response = await client.get(
        "/analytics/team/top-file-extensions",
        params={"startDate": "7d", "endDate": "today"},
        headers=AUTH,
    )
    answer = await response.json()
    assert answer["params"] == {
        "metric": "top-files",
        "teamId": scenario.team_id,
        "startDate": "2025-03-05",
        "endDate": "2025-03-12",
    }
    assert answer["data"]
    assert all("2025-03-05" <= row["event_date"] <= "2025-03-12" for row in answer["data"])
    assert response.headers["Cache-Control"] == "public, max-age=900"
    for metric in (
        "dau",
        "models",
        "agent-edits",
        "tabs",
        "mcp",
        "client-versions",
        "commands",
        "plans",
    ):
        response = await client.get(
            f"/analytics/team/{metric}",
            params={"startDate": "2025-03-10", "endDate": "2025-03-11T18:00:00Z"},
            headers=AUTH,
        )
        answer = await response.json()
        assert answer["params"]["metric"] == metric
        assert answer["data"], metric
        key = "date" if metric in ("dau", "models") else "event_date"
        assert {row[key] for row in answer["data"]} <= {"2025-03-10", "2025-03-11"}
    response = await client.get("/analytics/team/dau", params={"startDate": "soon"}, headers=AUTH)
    assert response.status == 400


async def test_analytics_default_window_and_etag(client: TestClient[Any, Any]) -> None:
    response = await client.get("/analytics/team/dau", headers=AUTH)
    answer = await response.json()
    assert (answer["params"]["startDate"], answer["params"]["endDate"]) == (
        "2025-03-05",
        "2025-03-12",
    )
    etag = response.headers["ETag"]
    again = await client.get("/analytics/team/dau", headers={**AUTH, "If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""


async def test_introspection(client: TestClient[Any, Any], scenario: Scenario) -> None:
    await client.get("/teams/members", headers=AUTH)
    await client.get("/teams/members")
    stats = await (await client.get("/_simulator/stats")).json()
    assert stats["requests"] == 2
    assert stats["by_path"] == {"/teams/members": 2}
    assert (stats["rate_limited"], stats["faults"]) == (0, 0)
    summary = await (await client.get("/_simulator/scenario")).json()
    assert summary["members"] == len(scenario.members)
    assert summary["usageEvents"] == len(scenario.events)
    assert summary["plantedAnomalies"] == scenario.planted_anomalies
    assert summary["normalMembers"] == scenario.normal_members
