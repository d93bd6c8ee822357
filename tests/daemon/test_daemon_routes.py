"""The JSON API against a collected team, on SQLite and PostgreSQL: the same objects as the
command line, input refused with a message naming the field and nothing changed, the metrics
and the OpenAPI document true to the running daemon."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.daemon.conftest import daemon_settings, running_daemon
from tests.integration.helpers import cli_env, run_in_process
from tracker_core.daemon.openapi import document
from tracker_core.daemon.pages import is_page_route
from tracker_core.formatting import money


def cli_json(db_url: str, *args: str) -> Any:
    """``cursor-tracker ARGS --json`` on the same database, as a person would run it (in this
    process, as ``run_cli`` runs every one-shot command: a process would cost a second)."""
    env = cli_env(extra={"DATABASE_URL": db_url})
    result = run_in_process([*args, "--json"], env, cwd=Path(os.environ.get("TMPDIR", "/tmp")))
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


async def test_stats_equals_the_command_line(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        for days in (30, 7):
            answer = await client.get(f"/api/stats?days={days}")
            assert answer.status == 200
            served = await answer.json()
            assert served == await asyncio.to_thread(
                cli_json, collected, "stats", "--days", str(days)
            )
            assert served["days"] == days and served["members"] >= 10
        # The default window is the command's: 30 days.
        assert (await (await client.get("/api/stats")).json())["days"] == 30
        spend = await (await client.get("/api/team-spend?days=7")).json()
        assert spend == [{"day": d["day"], "spend": d["spend"]} for d in served["daily"]]


async def test_anomalies_and_incidents_equal_the_command_line(collected: str) -> None:
    listed = await asyncio.to_thread(cli_json, collected, "incidents", "list")
    assert listed["incidents"], "the simulated team has planted anomalies"
    async with running_daemon(daemon_settings(collected)) as client:
        assert await (await client.get("/api/anomalies")).json() == listed
        first = listed["incidents"][0]
        answer = await client.get(f"/api/incidents/{first['id']}")
        assert answer.status == 200 and await answer.json() == first
        resolved = await (await client.get("/api/anomalies?status=resolved&days=7")).json()
        assert resolved["incidents"] == [] and resolved["response_times"]["days"] == 7


async def test_incident_acknowledge_then_resolve(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        queue = await (await client.get("/api/anomalies?status=active")).json()
        incident_id = queue["incidents"][0]["id"]
        path = f"/api/incidents/{incident_id}"
        answer = await client.patch(path, json={"action": "acknowledge"})
        assert answer.status == 200
        body = await answer.json()
        assert (body["status"], body["already"]) == ("acknowledged", False)
        # The answer is the incident as GET shows it, alert fates included.
        shown = await (await client.get(path)).json()
        assert body == {**shown, "already": False} and "alerts" in body
        body = await (await client.patch(path, json={"action": "acknowledge"})).json()
        assert (body["status"], body["already"]) == ("acknowledged", True)
        body = await (await client.patch(path, json={"action": "resolve"})).json()
        assert (body["status"], body["already"]) == ("resolved", False)
        # Acknowledging a resolved incident is refused, as `incidents ack` refuses it.
        answer = await client.patch(path, json={"action": "acknowledge"})
        assert answer.status == 409
        assert await answer.json() == {
            "error": f"incident #{incident_id} is already resolved",
            "field": "action",
        }
    listed = await asyncio.to_thread(cli_json, collected, "incidents", "list")
    assert next(i for i in listed["incidents"] if i["id"] == incident_id)["status"] == "resolved"


async def test_bad_input_on_writing_routes_changes_nothing(collected: str) -> None:
    settings = daemon_settings(collected, max_body_bytes=1024)
    async with running_daemon(settings) as client:
        queue_before = await (await client.get("/api/anomalies")).json()
        settings_before = await (await client.get("/api/settings")).json()
        incident_id = queue_before["incidents"][0]["id"]
        path = f"/api/incidents/{incident_id}"
        json_headers = {"Content-Type": "application/json"}
        refused: list[tuple[str, str, Any, dict[str, str], int, str | None]] = [
            # PATCH /api/incidents/{id}
            ("PATCH", path, "{not json", json_headers, 400, "body"),
            ("PATCH", path, "", json_headers, 400, "body"),
            ("PATCH", path, '["resolve"]', json_headers, 400, "body"),
            ("PATCH", path, "{}", json_headers, 400, "action"),
            ("PATCH", path, '{"action": 5}', json_headers, 400, "action"),
            ("PATCH", path, '{"action": "delete"}', json_headers, 400, "action"),
            ("PATCH", "/api/incidents/999999", '{"action": "resolve"}', json_headers, 404, "id"),
            ("PATCH", "/api/incidents/abc", '{"action": "resolve"}', json_headers, 400, "id"),
            ("PATCH", "/api/incidents/0", '{"action": "resolve"}', json_headers, 400, "id"),
            ("PATCH", path, "action=resolve", {"Content-Type": "text/plain"}, 415, None),
            (
                "PATCH",
                path,
                json.dumps({"action": "resolve", "x": "a" * 2000}),
                json_headers,
                413,
                None,
            ),
            # PUT /api/settings
            ("PUT", "/api/settings", "{", json_headers, 400, "body"),
            ("PUT", "/api/settings", "[]", json_headers, 400, "body"),
            ("PUT", "/api/settings", "{}", json_headers, 400, "body"),
            ("PUT", "/api/settings", '{"nope": 1}', json_headers, 400, "nope"),
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": [3]}',
                json_headers,
                400,
                "zscore_multiplier",
            ),
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": null}',
                json_headers,
                400,
                "zscore_multiplier",
            ),
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": true}',
                json_headers,
                400,
                "zscore_multiplier",
            ),
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": "abc"}',
                json_headers,
                400,
                "zscore_multiplier",
            ),
            # One good value and one out of range: neither is stored.
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": 3, "spike_lookback_days": 91}',
                json_headers,
                400,
                "spike_lookback_days",
            ),
            (
                "PUT",
                "/api/settings",
                '{"min_daily_requests": 1.5}',
                json_headers,
                400,
                "min_daily_requests",
            ),
            (
                "PUT",
                "/api/settings",
                '{"zscore_multiplier": 3}',
                {"Content-Type": "text/json"},
                415,
                None,
            ),
            (
                "PUT",
                "/api/settings",
                json.dumps({"zscore_multiplier": "9" * 2000}),
                json_headers,
                413,
                None,
            ),
        ]
        for method, where, body, headers, status, field in refused:
            answer = await client.request(method, where, data=body, headers=headers)
            assert answer.status == status, (where, body[:60], await answer.text())
            error = await answer.json()
            assert isinstance(error["error"], str) and error["error"]
            assert error.get("field") == field, (where, body[:60], error)
            if field not in (None, "body", "id"):
                assert field in error["error"]  # the message names it too
        assert await (await client.get("/api/anomalies")).json() == queue_before
        assert await (await client.get("/api/settings")).json() == settings_before
    assert await asyncio.to_thread(cli_json, collected, "settings", "show") == settings_before


async def test_settings_put_changes_only_the_keys_sent(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        before = await (await client.get("/api/settings")).json()
        answer = await client.put(
            "/api/settings", json={"zscore_multiplier": 3.5, "min_daily_spend": "$75"}
        )
        assert answer.status == 200
        after = await answer.json()
    assert after == {**before, "zscore_multiplier": 3.5, "min_daily_spend": 75.0}
    assert await asyncio.to_thread(cli_json, collected, "settings", "show") == after


async def test_query_parameters_are_checked(sqlite_url: str) -> None:
    async with running_daemon(daemon_settings(sqlite_url)) as client:
        for path, field in (
            ("/api/stats?days=0", "days"),
            ("/api/stats?days=abc", "days"),
            ("/api/stats?days=3661", "days"),
            ("/api/stats?days=1_0", "days"),
            ("/api/stats?days=%207", "days"),
            ("/api/team-spend?days=-1", "days"),
            ("/api/anomalies?status=closed", "status"),
            ("/api/incidents/1.5", "id"),
        ):
            answer = await client.get(path)
            assert answer.status == 400, path
            assert (await answer.json())["field"] == field
        # A database nothing was collected into says so, rather than reporting $0.
        answer = await client.get("/api/stats")
        assert answer.status == 404
        assert "nothing has been collected" in (await answer.json())["error"]
        answer = await client.get("/api/incidents/42")
        assert answer.status == 404 and (await answer.json())["field"] == "id"


async def test_metrics_parse_and_follow_the_data(collected: str) -> None:
    listed = await asyncio.to_thread(cli_json, collected, "incidents", "list", "--status", "active")
    critical = sum(1 for i in listed["incidents"] if i["severity"] == "critical")
    warning = sum(1 for i in listed["incidents"] if i["severity"] == "warning")
    async with running_daemon(daemon_settings(collected)) as client:
        stats = await (await client.get("/api/stats?days=1")).json()
        await client.get("/api/stats?days=0")
        answer = await client.get("/metrics")
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = await answer.text()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    assert samples[("cursor_tracker_team_spend_today_dollars", ())] == pytest.approx(
        stats["total_spend"], abs=0.005
    )
    assert samples[("cursor_tracker_team_spend_cycle_dollars", ())] == pytest.approx(
        stats["cycle"]["spend"], abs=0.005
    )
    assert samples[("cursor_tracker_open_incidents", (("severity", "critical"),))] == critical
    assert samples[("cursor_tracker_open_incidents", (("severity", "warning"),))] == warning
    assert 0 <= samples[("cursor_tracker_seconds_since_last_collection", ())] < 600
    assert samples[("cursor_tracker_alert_outbox_backlog", ())] >= 0
    requests = "cursor_tracker_http_requests_total"
    assert samples[(requests, (("route", "/api/stats"), ("status", "200")))] == 1
    assert samples[(requests, (("route", "/api/stats"), ("status", "400")))] == 1
    for name in ("cursor_tracker_job_duration_seconds", "cursor_tracker_collection_errors"):
        assert name in families


async def test_openapi_document_matches_the_live_routes(sqlite_url: str) -> None:
    async with running_daemon(daemon_settings(sqlite_url)) as client:
        served = await (await client.get("/api/openapi.json")).json()
        live = {
            (route.method.lower(), route.resource.canonical)
            for route in client.server.app.router.routes()
            # The document describes the JSON API; the HTML pages are README's.
            if route.resource is not None and route.method != "HEAD" and not is_page_route(route)
        }
        documented = {(method, path) for path, item in served["paths"].items() for method in item}
        assert served == document()
        assert served["openapi"].startswith("3.1")
        assert documented == live
        # Every documented path parameter is a parameter of the live route, and back.
        for path, item in served["paths"].items():
            in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            for operation in item.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == in_path, path
                assert "200" in operation["responses"]


async def test_health_is_503_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    async with running_daemon(daemon_settings(f"sqlite:///{database}")) as client:
        answer = await client.get("/healthz")
        assert answer.status == 200
        assert (await answer.json())["status"] == "ok"
        # Another program damages the schema under the running daemon.
        engine = create_engine(f"sqlite:///{database}")
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE collection_runs"))
        engine.dispose()
        answer = await client.get("/healthz")
        assert answer.status == 503
        body = await answer.json()
        assert body["status"] == "unavailable" and "cannot be read" in body["error"]


async def test_member_model_costs_analytics_and_groups_agree_with_stats(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        stats = await (await client.get("/api/stats?days=14")).json()
        spender = stats["users"][0]
        answer = await client.get(f"/api/users/{quote(spender['email'])}?days=14")
        assert answer.status == 200
        member = await answer.json()
        assert (member["email"], member["days"]) == (spender["email"], 14)
        assert member["spend"] == pytest.approx(spender["spend"], abs=0.01)
        assert member["requests"] == spender["requests"]
        assert isinstance(member["incidents"], list)

        models = await (await client.get("/api/model-costs?days=14")).json()
        assert {"model", "users", "requests", "spend"} <= set(models[0])
        assert sum(m["spend"] for m in models) == pytest.approx(stats["total_spend"], abs=0.05)
        assert [m["spend"] for m in models] == sorted((m["spend"] for m in models), reverse=True)

        insights = await (await client.get("/api/analytics?days=14")).json()
        assert insights["days"] == 14 and insights["has_analytics"] is True

        groups = (await (await client.get("/api/groups")).json())["groups"]
        assert groups and all("members" in g and "member_count" in g for g in groups)
        group = max(groups, key=lambda g: g["member_count"])
        by_id = await (await client.get(f"/api/stats?days=14&group={quote(group['id'])}")).json()
        by_name = await client.get(f"/api/stats?days=14&group={quote(group['name'])}")
        assert await by_name.json() == by_id
        assert {u["email"] for u in by_id["users"]} <= {m["email"] for m in group["members"]}
        assert by_id["total_spend"] <= stats["total_spend"]

        for path, field in (
            ("/api/users/nobody%40example.test", "email"),
            ("/api/stats?group=no-such-group", "group"),
        ):
            answer = await client.get(path)
            assert answer.status == 404, path
            assert (await answer.json())["field"] == field


async def test_the_cycle_summary_equals_the_command_line(collected: str) -> None:
    """``summary --json`` and ``GET /api/cycle-summary`` are one object; the text says the
    cycle's spend and its top spender as the cycle's last-days message does."""
    async with running_daemon(daemon_settings(collected)) as client:
        answer = await client.get("/api/cycle-summary")
        assert answer.status == 200
        served = await answer.json()
    assert served == await asyncio.to_thread(cli_json, collected, "summary")
    assert served["seats"]["total"] >= served["seats"]["active"] > 0
    top = served["top_spenders"][0]
    env = cli_env(extra={"DATABASE_URL": collected})
    text = run_in_process(["summary"], env).stdout
    assert text.startswith("Cursor Cycle Summary — Ending " + served["cycle_end"])
    assert f"Cycle Spend: {money(served['spend'] * 100)}" in text
    assert f"1. {top['name']} <{top['email']}>: {money(top['spend'] * 100)}" in text


async def test_the_cycle_summary_of_an_empty_database_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    async with running_daemon(daemon_settings(url)) as client:
        answer = await client.get("/api/cycle-summary")
        assert answer.status == 404
        assert "nothing has been collected" in (await answer.json())["error"]
    run = run_in_process(["summary"], cli_env(extra={"DATABASE_URL": url}))
    assert run.code == 1 and "nothing has been collected" in run.stderr
