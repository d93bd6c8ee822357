"""Shared by the alerting tests: the SDKs talk to local stand-ins, never through a proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerting.servers import FakeSlack, serve_slack

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack-sdk and requests pick proxies up from the environment; the stand-ins are on
    loopback."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server
