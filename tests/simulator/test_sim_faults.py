"""Misbehaviour on purpose: the real rate limits, injected faults, and running the server."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tracker_core.simulator import (
    Scenario,
    generate_scenario,
    make_simulator_app,
    running_simulator,
    save_scenario,
)
from tracker_core.simulator.scenario import DAY_MS

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
AUTH = {"Authorization": "Basic " + base64.b64encode(b"sim-key:").decode()}
RATE_LIMITED = {
    "error": "Too Many Requests",
    "message": "Rate limit exceeded. Please try again later.",
}

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate_scenario(users=10, days=10, seed=2, now=NOW)


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[TestClient[Any, Any]] = []

    async def make(scenario: Scenario, **options: Any) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(
            TestServer(make_simulator_app(scenario, **options))
        )
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


# -- rate limits


async def test_the_21st_admin_request_in_a_minute_is_refused(
    make_client: MakeClient, scenario: Scenario
) -> None:
    clock = FakeClock()
    client = await make_client(scenario, clock=clock)
    for n in range(20):
        clock.now = 1000.0 + n * 0.5
        path = "/teams/members" if n % 2 else "/teams/groups"
        assert (await client.get(path, headers=AUTH)).status == 200
    clock.now = 1010.2
    response = await client.get("/teams/members", headers=AUTH)
    assert response.status == 429
    assert await response.json() == RATE_LIMITED
    # The oldest admitted request (t=1000) leaves the window at t=1060: 49.8 s away.
    assert response.headers["Retry-After"] == "50"
    # The analytics API has its own budget.
    assert (await client.get("/analytics/team/dau", headers=AUTH)).status == 200
    clock.now = 1060.0
    assert (await client.get("/teams/members", headers=AUTH)).status == 200
    assert (await client.get("/teams/members", headers=AUTH)).status == 429
    stats = await (await client.get("/_simulator/stats")).json()
    assert (stats["rate_limited"], stats["faults"]) == (2, 0)


async def test_the_101st_analytics_request_in_a_minute_is_refused(
    make_client: MakeClient, scenario: Scenario
) -> None:
    clock = FakeClock()
    client = await make_client(scenario, clock=clock)
    for _ in range(100):
        assert (await client.get("/analytics/team/models", headers=AUTH)).status == 200
    response = await client.get("/analytics/team/models", headers=AUTH)
    assert response.status == 429
    assert response.headers["Retry-After"] == "60"
    # An unchanged answer revalidated with its ETag costs nothing, as Cursor documents.
    clock.now += 61
    first = await client.get("/analytics/team/models", headers=AUTH)
    for _ in range(120):
        again = await client.get(
            "/analytics/team/models", headers={**AUTH, "If-None-Match": first.headers["ETag"]}
        )
        assert again.status == 304


async def test_rate_limits_can_be_switched_off(make_client: MakeClient, scenario: Scenario) -> None:
    client = await make_client(scenario, rate_limits=False)
    for _ in range(30):
        assert (await client.get("/teams/members", headers=AUTH)).status == 200


# -- faults


async def test_faults_cover_every_kind_and_never_change_the_data(
    make_client: MakeClient, scenario: Scenario
) -> None:
    body = {"startDate": NOW_MS - 5 * DAY_MS, "endDate": NOW_MS, "pageSize": 200, "page": 2}
    clean = await make_client(scenario, rate_limits=False)
    reference = await clean.post("/teams/filtered-usage-events", json=body, headers=AUTH)
    reference_raw = await reference.read()
    faulty = await make_client(
        scenario, rate_limits=False, fault_rate=1.0, seed=3, slow_seconds=0.01
    )
    seen_statuses: set[int] = set()
    retry_forms: set[str] = set()
    truncated = complete = 0
    for _ in range(60):
        response = await faulty.post("/teams/filtered-usage-events", json=body, headers=AUTH)
        raw = await response.read()
        seen_statuses.add(response.status)
        if response.status >= 500:
            answer = json.loads(raw)
            assert answer["error"] in {
                "Internal Server Error",
                "Bad Gateway",
                "Service Unavailable",
            }
        elif response.status == 429:
            assert json.loads(raw) == RATE_LIMITED
            retry = response.headers["Retry-After"]
            if retry.isdigit():
                retry_forms.add("seconds")
            else:
                ahead = parsedate_to_datetime(retry) - datetime.now(UTC)
                assert 0 < ahead.total_seconds() <= 3
                retry_forms.add("date")
        else:
            assert response.status == 200
            assert response.headers["Content-Length"] == str(len(raw))
            if raw == reference_raw:
                complete += 1
            else:
                truncated += 1
                assert reference_raw.startswith(raw)
                assert len(raw) == len(reference_raw) // 2
                with pytest.raises(json.JSONDecodeError):
                    json.loads(raw)
    assert {500, 502, 503, 429, 200} <= seen_statuses
    assert retry_forms == {"seconds", "date"}
    assert truncated and complete
    stats = await (await faulty.get("/_simulator/stats")).json()
    assert stats["faults"] == 60
    assert set(stats["faults_by_kind"]) == {"server_error", "rate_limit", "slow", "truncated"}
    assert stats["faults_by_kind"]["slow"] == complete
    assert stats["rate_limited"] == 0


async def test_a_retried_request_gets_the_same_items(
    make_client: MakeClient, scenario: Scenario
) -> None:
    body = {"startDate": NOW_MS - 2 * DAY_MS, "endDate": NOW_MS, "pageSize": 50}
    clean = await make_client(scenario, rate_limits=False)
    expected = await (
        await clean.post("/teams/filtered-usage-events", json=body, headers=AUTH)
    ).json()
    faulty = await make_client(scenario, rate_limits=False, fault_rate=0.6, seed=9, slow_seconds=0)
    answers = []
    for _ in range(5):
        for _attempt in range(50):
            response = await faulty.post("/teams/filtered-usage-events", json=body, headers=AUTH)
            if response.status != 200:
                continue
            try:
                answers.append(await response.json())
            except json.JSONDecodeError:
                continue
            break
    assert len(answers) == 5
    assert all(answer == expected for answer in answers)


async def test_latency_delays_answers(make_client: MakeClient, scenario: Scenario) -> None:
    client = await make_client(scenario, rate_limits=False, latency=0.2)
    loop_time = asyncio.get_running_loop().time
    started = loop_time()
    assert (await client.get("/teams/members", headers=AUTH)).status == 200
    assert loop_time() - started >= 0.2


def test_bad_options_are_refused(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        make_simulator_app(scenario, fault_rate=1.5)
    with pytest.raises(ValueError, match="api_key"):
        make_simulator_app(scenario, api_key="")


# -- running it


def get_json(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_running_simulator_in_a_thread(scenario: Scenario) -> None:
    with running_simulator(scenario, api_key="thread-key", rate_limits=False) as url:
        assert url.startswith("http://127.0.0.1:")
        key = {"Authorization": "Basic " + base64.b64encode(b"thread-key:").decode()}
        status, answer = get_json(f"{url}/teams/members", key)
        assert status == 200
        assert answer == {"teamMembers": scenario.members}
        status, answer = get_json(f"{url}/teams/members", AUTH)
        assert status == 401
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/_simulator/stats", timeout=2)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_port_and_stops_cleanly_on_a_signal(
    tmp_path: Path, scenario: Scenario, signum: int
) -> None:
    path = tmp_path / "team.json"
    save_scenario(scenario, path)
    script = (
        "import asyncio, sys\n"
        "from tracker_core.simulator import load_scenario, serve\n"
        "asyncio.run(serve(load_scenario(sys.argv[1]), '127.0.0.1', 0, rate_limits=False))\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        port = int(first.rsplit(":", 1)[1])
        assert port > 0
        status, answer = get_json(f"http://127.0.0.1:{port}/teams/members", AUTH)
        assert status == 200 and answer["teamMembers"] == scenario.members
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip() == "stopped"
