"""Who may call what: the dashboard login, the cron secret, the headers, and what is logged.

Every route is called with auth off and on (no credentials, a wrong password, a wrong user,
the right pair); POST /api/cron with no, wrong and right secret, with the secret in the query
string, and with CRON_SECRET unset. The log captured through all of it holds no secret.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import pytest

from tests.daemon.conftest import (
    AUTH,
    CRON,
    KEY,
    PASSWORD,
    USER,
    RecordingSleep,
    basic,
    daemon_settings,
    running_daemon,
)
from tracker_core.daemon.pages import is_page_route
from tracker_core.daemon.security import FAILED_LOGIN_DELAY_SECONDS, SECURITY_HEADERS

pytestmark = pytest.mark.usefixtures("_sqlite_only")


@pytest.fixture
def _sqlite_only() -> None:
    """Auth is the same whatever the database: these tests run on SQLite."""


def calls(incident_id: int, email: str = "{email}") -> list[tuple[str, str, Any]]:
    """One call per route (method, path, JSON body); kept complete by a test below."""
    listed = [
        ("GET", "/healthz", None),
        ("GET", "/metrics", None),
        ("GET", "/api/openapi.json", None),
        ("GET", "/api/stats?days=7", None),
        ("GET", "/api/forecast", None),
        ("GET", "/api/cycle-summary", None),
        ("GET", "/api/team-spend?days=7", None),
        ("GET", "/api/model-costs?days=7", None),
        ("GET", "/api/analytics?days=7", None),
        ("GET", "/api/users/{email}?days=7", None),
        ("GET", "/api/groups", None),
        ("PATCH", "/api/groups", {"action": "assign", "emails": [email], "to": "unassigned"}),
        ("GET", "/api/groups/history", None),
        ("POST", "/api/groups/import", {"csv": "Email,Department\nnobody@x.test,Eng\n"}),
        ("POST", "/api/groups/restore", {"csv": "email,group\nnobody@x.test,\n"}),
        ("GET", "/api/groups/export", None),
        ("GET", "/api/anomalies?days=30", None),
        ("GET", f"/api/incidents/{incident_id}", None),
        ("PATCH", f"/api/incidents/{incident_id}", {"action": "acknowledge"}),
        ("GET", "/api/settings", None),
        ("PUT", "/api/settings", {"zscore_multiplier": 3}),
        ("GET", "/api/budgets", None),
        ("PUT", "/api/budgets", {"scope": "team", "amount": 5000}),
    ]
    return [(method, path.replace("{email}", email), body) for method, path, body in listed]


async def first_incident(client: Any, auth: dict[str, str] | None = None) -> tuple[int, str]:
    """An incident's id and its member's email, to call the routes that take them."""
    answer = await client.get("/api/anomalies", headers=auth)
    assert answer.status == 200
    listed = (await answer.json())["incidents"]
    assert listed, "the simulated team has planted anomalies"
    return int(listed[0]["id"]), str(listed[0]["email"])


async def test_the_call_list_covers_every_route(sqlite_url: str) -> None:
    async with running_daemon(daemon_settings(sqlite_url)) as client:
        routes = {
            (route.method, route.resource.canonical)
            for route in client.server.app.router.routes()
            # The HTML pages have their own auth test (tests/dashboard/test_daemon_pages.py).
            if route.resource is not None and route.method != "HEAD" and not is_page_route(route)
        }
    called = {(method, path.split("?")[0].replace("/1", "/{id}")) for method, path, _ in calls(1)}
    assert routes - {("POST", "/api/cron")} == called


async def test_with_no_password_every_route_answers(sqlite_url: str, simulator: str) -> None:
    from tests.daemon.conftest import collect_and_detect

    settings = daemon_settings(sqlite_url, api_url=simulator)
    await asyncio.to_thread(collect_and_detect, settings)
    async with running_daemon(settings) as client:
        incident_id, email = await first_incident(client)
        for method, path, body in calls(incident_id, email):
            answer = await client.request(method, path, json=body)
            assert answer.status == 200, (method, path, await answer.text())


async def test_with_no_password_only_requests_to_a_loopback_name_are_answered(
    sqlite_url: str,
) -> None:
    """DNS rebinding: a web page whose name now points at 127.0.0.1 is, to the browser, the
    dashboard's own origin; its requests still say its name, and are refused."""
    async with running_daemon(daemon_settings(sqlite_url)) as client:
        port = client.port
        before = await (await client.get("/api/settings")).json()
        for host in (f"attacker.example:{port}", "127.0.0.1.attacker.example", "[bad"):
            answer = await client.get("/api/groups", headers={"Host": host})
            assert answer.status == 421, host
            assert "DASHBOARD_PASSWORD" in (await answer.json())["error"]
        answer = await client.put(
            "/api/settings",
            json={"zscore_multiplier": 9},
            headers={"Host": f"attacker.example:{port}", "Origin": "http://attacker.example"},
        )
        assert answer.status == 421
        assert await (await client.get("/api/settings")).json() == before
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
            assert (await client.get("/api/groups", headers={"Host": host})).status == 200
        # A health check may come by any name; it shows nothing.
        health = await client.get("/healthz", headers={"Host": "monitor.example"})
        assert health.status == 200
    with_password = daemon_settings(sqlite_url, password=PASSWORD)
    async with running_daemon(with_password, sleep=RecordingSleep()) as client:
        answer = await client.get("/api/groups", headers={**AUTH, "Host": "tracker.corp.example"})
        assert answer.status == 200  # served by name once a password guards it
    # A proxy in front, with a login of its own, serves it under the name alerts link to.
    proxied = daemon_settings(sqlite_url, dashboard_url="https://Tracker.corp.example/")
    async with running_daemon(proxied) as client:
        answer = await client.get("/api/groups", headers={"Host": "tracker.corp.example"})
        assert answer.status == 200
        answer = await client.get("/api/groups", headers={"Host": "evil.corp.example"})
        assert answer.status == 421


async def test_with_a_password_every_route_but_health_needs_it(
    sqlite_url: str, simulator: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.daemon.conftest import collect_and_detect

    caplog.set_level(logging.INFO)
    settings = daemon_settings(sqlite_url, api_url=simulator, password=PASSWORD, cron=CRON)
    await asyncio.to_thread(collect_and_detect, settings)
    sleep = RecordingSleep()
    async with running_daemon(settings, sleep=sleep) as client:
        incident_id, email = await first_incident(client, AUTH)
        failures = 0
        for method, path, body in calls(incident_id, email):
            public = path == "/healthz"
            for auth in (None, basic(USER, "wrong"), basic("admin", PASSWORD)):
                answer = await client.request(method, path, json=body, headers=auth)
                if public:
                    assert answer.status == 200
                    continue
                failures += 1
                assert answer.status == 401, (method, path, auth)
                assert answer.headers["WWW-Authenticate"].startswith("Basic ")
                assert "authentication required" in (await answer.json())["error"]
            answer = await client.request(method, path, json=body, headers=AUTH)
            assert answer.status == 200, (method, path, await answer.text())
        # A header that is not Basic, or not base64, is refused like a wrong password.
        for header in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
            answer = await client.get("/api/settings", headers={"Authorization": header})
            assert answer.status == 401
            failures += 1
    # Every failure waited before its answer (on the injected sleep, so the test did not).
    assert sleep.calls == [FAILED_LOGIN_DELAY_SECONDS] * failures
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failed) == failures
    assert all(PASSWORD not in line and "wrong" not in line.split("(")[0] for line in failed)


async def test_cron_secret_header_only_and_refused_while_unset(
    sqlite_url: str, simulator: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # CRON_SECRET unset: refused, whatever is sent (and no job runs).
    async with running_daemon(daemon_settings(sqlite_url)) as client:
        for headers in ({}, {"x-cron-secret": ""}, {"x-cron-secret": "anything"}):
            answer = await client.post("/api/cron", headers=headers)
            assert answer.status == 403
            assert "CRON_SECRET" in (await answer.json())["error"]
        health = await (await client.get("/healthz")).json()
        assert health["last_job"] is None

    # Set: the header must match; the login does not open it (it has its own secret).
    settings = daemon_settings(sqlite_url, api_url=simulator, password=PASSWORD, cron=CRON)
    async with running_daemon(settings, sleep=RecordingSleep()) as client:
        answer = await client.post("/api/cron", headers=AUTH)
        assert answer.status == 401
        assert await answer.json() == {
            "error": "missing the x-cron-secret header",
            "field": "x-cron-secret",
        }
        answer = await client.post("/api/cron", headers={"x-cron-secret": CRON + "x"})
        assert answer.status == 401 and (await answer.json())["field"] == "x-cron-secret"
        # The original tool took the secret from the query string: refused, even when right.
        answer = await client.post(f"/api/cron?secret={CRON}")
        assert answer.status == 400 and (await answer.json())["field"] == "secret"
        answer = await client.post(f"/api/cron?secret={CRON}", headers={"x-cron-secret": CRON})
        assert answer.status == 400
        # Nothing ran so far; the right header runs the job and answers `cron --json`.
        assert (await (await client.get("/healthz")).json())["last_job"] is None
        answer = await client.post("/api/cron", headers={"x-cron-secret": CRON})
        assert answer.status == 200
        result = await answer.json()
        assert set(result) == {"collect", "detect", "messages"} and result["collect"]["ok"] is True
        assert result["collect"]["members"] == 12
        health = await (await client.get("/healthz")).json()
        assert health["last_job"]["trigger"] == "api"
        assert health["last_job"]["status"] == "ok"
    assert_no_secret(caplog.text)


async def test_security_headers_on_answers_and_errors(sqlite_url: str) -> None:
    settings = daemon_settings(sqlite_url, password=PASSWORD)
    async with running_daemon(settings, sleep=RecordingSleep()) as client:
        for method, path, auth in (
            ("GET", "/healthz", None),
            ("GET", "/api/settings", AUTH),
            ("GET", "/api/settings", None),
            ("GET", "/nowhere", AUTH),
            ("DELETE", "/api/settings", AUTH),
        ):
            answer = await client.request(method, path, headers=auth)
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers.get(name) == value, (path, name)
            assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
            assert answer.headers["Cache-Control"] == "no-store"
            assert answer.content_type == "application/json"
        answer = await client.delete("/api/settings", headers=AUTH)
        assert answer.status == 405 and "PUT" in answer.headers["Allow"]
        assert "error" in await answer.json()


async def test_access_log_one_line_per_request_without_query_or_secrets(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tracker_core.daemon.access")
    settings = daemon_settings(sqlite_url, password=PASSWORD, cron=CRON)
    async with running_daemon(settings, sleep=RecordingSleep()) as client:
        await client.get(f"/api/settings?token={PASSWORD}", headers=AUTH)
        await client.get(f"/api/incidents/{PASSWORD}", headers=basic(USER, PASSWORD))
        await client.post("/api/cron", headers={"x-cron-secret": "wrong"})
        await client.get("/healthz")
    import json

    lines = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "tracker_core.daemon.access"
    ]
    assert [(line["method"], line["status"]) for line in lines] == [
        ("GET", 200),
        ("GET", 400),
        ("POST", 401),
        ("GET", 200),
    ]
    assert lines[0]["path"] == "/api/settings"  # no query string
    assert all({"path", "status", "duration_ms", "method"} <= line.keys() for line in lines)
    assert_no_secret(caplog.text)


async def test_a_refused_path_is_logged_without_secrets_on_one_line(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The failed-login warning names the path: a secret typed into it is masked there as in
    the access log, and a line break in it cannot start a forged line of the daemon's."""
    caplog.set_level(logging.INFO)
    settings = daemon_settings(sqlite_url, password=PASSWORD, cron=CRON)
    forged = "2026-11-30 07:30:00,000 INFO tracker_core.daemon.access: forged"
    async with running_daemon(settings, sleep=RecordingSleep()) as client:
        for path in (f"/{PASSWORD}", f"/{CRON}/z", f"/x%0A{forged}", f"/y%0D%E2%80%A8{forged}"):
            answer = await client.get(path.replace(" ", "%20"))
            assert answer.status == 401
    warnings = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(warnings) == 4
    assert all("\n" not in w and "\r" not in w and "\u2028" not in w for w in warnings)
    assert "/x\\n2026-11-30" in warnings[2]  # the break shown, escaped, within its line
    assert_no_secret(caplog.text)


class QueueingSleep:
    """A sleep of a hundredth of a second that counts how many run at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.running = 0
        self.most = 0

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1


async def test_guesses_from_one_client_wait_in_turn_however_many_connections(
    sqlite_url: str,
) -> None:
    """Eight parallel wrong passwords, then eight wrong cron secrets: each waits its second
    after the one before, never beside it; the right password does not wait at all."""
    sleep = QueueingSleep()
    settings = daemon_settings(sqlite_url, password=PASSWORD, cron=CRON)
    async with running_daemon(settings, sleep=sleep) as client:
        wrong = basic(USER, "guess")
        answers = await asyncio.gather(
            *(client.get("/api/settings", headers=wrong) for _ in range(8)),
            client.get("/api/settings", headers=AUTH),
        )
        assert [a.status for a in answers] == [401] * 8 + [200]
        assert (len(sleep.calls), sleep.most) == (8, 1)
        guesses = await asyncio.gather(
            *(client.post("/api/cron", headers={"x-cron-secret": f"g{n}"}) for n in range(8))
        )
        assert [a.status for a in guesses] == [401] * 8
        assert (len(sleep.calls), sleep.most) == (16, 1)
        assert set(sleep.calls) == {FAILED_LOGIN_DELAY_SECONDS}


def assert_no_secret(text: str) -> None:
    forms = [
        PASSWORD,
        CRON,
        KEY,
        base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        base64.b64encode(f"{USER}:wrong".encode()).decode(),
    ]
    for secret in forms:
        assert secret not in text


async def test_the_login_is_checked_before_the_body(sqlite_url: str) -> None:
    settings = daemon_settings(sqlite_url, password=PASSWORD, max_body_bytes=1024)
    async with running_daemon(settings, sleep=RecordingSleep()) as client:
        big = "x" * 4096
        answer = await client.put("/api/settings", data=big, headers={"Content-Type": "text/plain"})
        assert answer.status == 401
        answer = await client.put(
            "/api/settings", data=big, headers={"Content-Type": "text/plain", **AUTH}
        )
        assert answer.status == 413
