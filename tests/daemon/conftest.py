"""Shared by the daemon tests: settings, a daemon on a real loopback port, a collected team.

The daemon is built by the same factory the command uses and served by aiohttp's test server
on 127.0.0.1 (a real socket, real HTTP); failed-login delays go through a recording sleep so
no test waits for them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.integration.helpers import CopyOfTemplate
from tracker_core.collector import SilentProgress
from tracker_core.config import DaemonSettings, Settings, SlackSettings
from tracker_core.daemon.app import make_app, runner_options
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.simulator.scenario import Scenario

KEY = "daemon-test-KEY-0123456789"
PASSWORD = "dash-SECRET-pw-4242"
CRON = "cron-SECRET-7f3a9b"
USER = "ops"


def basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP basic auth."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic(USER, PASSWORD)

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack-sdk and requests pick proxies up from the environment; every server is local."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


def daemon_settings(
    db_url: str,
    *,
    api_url: str = "http://127.0.0.1:9",
    password: str | None = None,
    cron: str | None = None,
    slack: Any = None,
    **daemon: Any,
) -> Settings:
    """Settings of a daemon on ``db_url`` collecting from ``api_url`` at full speed."""
    base = simulator_settings(api_url, KEY, db_url, backfill_days=14, events_window_days=14)
    values: dict[str, Any] = {"schedule": "", **daemon}
    if password is not None:
        values["dashboard_password"] = password
        values["dashboard_user"] = USER
    if cron is not None:
        values["cron_secret"] = cron
    update: dict[str, Any] = {"daemon": DaemonSettings.model_validate(values)}
    if slack is not None:
        update["slack"] = SlackSettings.model_validate(
            {"bot_token": slack.secret, "channel_id": "C07ALERTS1", "api_url": slack.base_url}
        )
    return base.model_copy(update=update)


class RecordingSleep:
    """An async sleep that returns at once and remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@asynccontextmanager
async def running_daemon(settings: Settings, **options: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """The daemon's app on a free loopback port, with its access log, for the block."""
    options.setdefault("schedule", False)
    app = make_app(settings, **options)
    server = TestServer(app, host="127.0.0.1", port=0)
    # The command's runner options (its access log above all), as `serve` passes them.
    await server.start_server(**runner_options(settings))
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return generate_scenario(users=12, days=14, seed=5, now=datetime.now(UTC))


@pytest.fixture
def simulator(scenario: Scenario) -> Iterator[str]:
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


def collect_and_detect(settings: Settings) -> None:
    """What ``cursor-tracker cron`` does, so the database holds a team and its incidents."""
    with open_tracker(settings) as tracker:
        tracker.cron(SilentProgress())


@pytest.fixture
def collected(db_url: str, scenario: Scenario, copy_of_template: CopyOfTemplate) -> str:
    """A database (SQLite, then PostgreSQL) holding the simulated team and its incidents."""

    def fill(url: str) -> None:
        with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
            collect_and_detect(daemon_settings(url, api_url=api))

    copy_of_template("daemon-12x14-seed5", fill)
    return db_url


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
