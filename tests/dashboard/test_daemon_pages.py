"""The pages as the daemon serves them: behind its login, under its headers, next to its API.

The daemon's factory mounts the pages with one call; these tests check what that call must
keep true: with DASHBOARD_PASSWORD set no page, asset or form answers without the login (and
no form changes anything), the pages keep their own Content-Security-Policy and the assets
their long cache under the daemon's headers, and the forms (HTML, not JSON) still work.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.dashboard.helpers import (
    CHROMIUM,
    FIXED_NOW,
    build_organisation,
    serving,
)
from tracker_core.config import DaemonSettings, DatabaseSettings, Settings
from tracker_core.daemon.app import make_app
from tracker_core.daemon.assets import LONG_CACHE
from tracker_core.daemon.pages import CSRF_COOKIE, PAGE_CSP
from tracker_core.service import Tracker, open_tracker

USER, PASSWORD = "finance", "dash-SECRET-pw-77"


async def no_wait(seconds: float) -> None:
    """The failed-login delay, skipped: these tests fail logins on purpose."""


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_organisation(f"sqlite:///{tmp_path_factory.mktemp('daemon') / 'tracker.db'}")


def guarded(database_url: str) -> Settings:
    daemon = DaemonSettings.model_validate(
        {"schedule": "", "dashboard_user": USER, "dashboard_password": PASSWORD}
    )
    return Settings(database=DatabaseSettings(url=database_url), daemon=daemon)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(guarded(database_url), clock=lambda: FIXED_NOW, sleep=no_wait, schedule=False)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def tracker(database_url: str) -> Iterator[Tracker]:
    with open_tracker(guarded(database_url), clock=lambda: FIXED_NOW) as tracker:
        yield tracker


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


LOGIN = basic(USER, PASSWORD)


async def test_no_page_asset_or_form_answers_without_the_login(
    client: TestClient[Any, Any], tracker: Tracker
) -> None:
    page = await client.get("/", headers=LOGIN)
    asset = re.search(r'href="(/static/[^"]+)"', await page.text())
    assert asset
    incident = tracker.incident_queue(status="open").incidents[0]
    email = incident.email
    reads = [
        "/",
        "/insights",
        f"/members/{email}",
        f"/users/{email}",
        "/incidents",
        f"/incidents/{incident.id}",
        f"/incidents/{incident.id}/resolve",
        "/settings",
        asset.group(1),
        "/favicon.ico",
    ]
    writes = [
        f"/incidents/{incident.id}/acknowledge",
        f"/incidents/{incident.id}/resolve",
        "/settings",
    ]
    before = tracker.detection_settings().settings
    for auth in (None, basic(USER, "wrong")):
        for path in reads:
            answer = await client.get(path, headers=auth, allow_redirects=False)
            assert answer.status == 401, path
            assert answer.headers["WWW-Authenticate"].startswith("Basic ")
        for path in writes:
            answer = await client.post(
                path, headers=auth, data={"csrf": "x", "zscore_multiplier": "9"}
            )
            assert answer.status == 401, path
    assert tracker.incident(incident.id).incident.status == "open"
    assert tracker.detection_settings().settings == before
    for path in reads:
        answer = await client.get(path, headers=LOGIN, allow_redirects=False)
        assert answer.status in (200, 204, 303, 308), path


async def test_pages_keep_their_policy_and_assets_their_cache_under_the_daemon(
    client: TestClient[Any, Any],
) -> None:
    page = await client.get("/", headers=LOGIN)
    assert page.headers["Content-Security-Policy"] == PAGE_CSP
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', await page.text()):
        answer = await client.get(asset, headers=LOGIN)
        assert answer.headers["Cache-Control"] == LONG_CACHE, asset
    # The API keeps the daemon's own headers.
    api = await client.get("/api/settings", headers=LOGIN)
    assert api.headers["Cache-Control"] == "no-store"
    assert "script-src" not in api.headers["Content-Security-Policy"]


async def test_the_forms_post_through_the_daemon(
    client: TestClient[Any, Any], tracker: Tracker
) -> None:
    incident = tracker.incident_queue(status="open").incidents[0].id
    await client.get("/incidents", headers=LOGIN)
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE].value
    answer = await client.post(
        f"/incidents/{incident}/acknowledge",
        headers=LOGIN,
        data={"csrf": token},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()
    assert tracker.incident(incident).incident.status == "acknowledged"
    # The API still wants JSON.
    refused = await client.put("/api/settings", headers=LOGIN, data={"spike_multiplier": "6"})
    assert refused.status == 415


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_browser_without_the_login_is_refused(database_url: str) -> None:
    app = make_app(guarded(database_url), clock=lambda: FIXED_NOW, sleep=no_wait, schedule=False)
    with serving(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        stranger = browser.new_context().new_page()
        statuses: list[int] = []
        stranger.on("response", lambda response: statuses.append(response.status))
        # A headless browser has no login prompt: the 401 ends the navigation.
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            stranger.goto(base + "/")
        assert statuses == [401]
        member = browser.new_context(http_credentials={"username": USER, "password": PASSWORD})
        page = member.new_page()
        answer = page.goto(base + "/")
        assert answer is not None and answer.status == 200
        assert page.locator("svg.pygal-chart").count() == 3
        browser.close()
