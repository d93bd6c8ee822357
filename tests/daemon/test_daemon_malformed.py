"""Malformed requests get a 4xx that names the problem, never a 500, and change nothing.

Each of these once reached the daemon's last-resort handler ("internal error") because a
decoder or a conversion below the routes raised something other than what they expected.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.daemon.conftest import daemon_settings, running_daemon

JSON = "application/json"


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "words"),
    [
        ("PUT", "/api/settings", b'{"zscore_multiplier": "\xff"}', JSON, "not UTF-8"),
        ("PUT", "/api/settings", b'{"zscore_multiplier": 4}', f"{JSON}; charset=bogus", "charset"),
        ("PUT", "/api/settings", b"[" * 30_000, JSON, "nested too deeply"),
        ("PUT", "/api/settings", b'{"zscore_multiplier": ' + b"9" * 5000 + b"}", JSON, "JSON"),
        ("POST", "/api/groups/import", b'{"csv": "a\\ud800b"}', JSON, "no character"),
        ("POST", "/api/groups/restore", b'{"csv": "\\udfff"}', JSON, "no character"),
    ],
)
async def test_a_malformed_api_body_is_a_400_naming_it(
    collected: str,
    captured_logs: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    words: str,
) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        before = await (await client.get("/api/settings")).json()
        answer = await client.request(
            method, path, data=body, headers={"Content-Type": content_type}
        )
        refusal: dict[str, Any] = await answer.json()
        assert answer.status == 400, refusal
        assert words in refusal["error"] and refusal["field"] in ("body", "csv")
        assert await (await client.get("/api/settings")).json() == before
    assert "unhandled error" not in captured_logs.text


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/?days=%C2%B2", 400, "days must be a whole number"),  # "²": a digit to isdigit()
        ("/?page=%C2%B2", 400, "page must be a whole number"),
        ("/?days=99999999999999999999", 400, "days must be a whole number"),
        ("/incidents/99999999999999999999999", 404, "no incident #99999999999999999999999"),
        ("/incidents/99999999999999999999999/resolve", 404, "no incident"),
    ],
)
async def test_a_malformed_page_address_is_a_page_naming_it(
    collected: str, captured_logs: pytest.LogCaptureFixture, path: str, status: int, words: str
) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        answer = await client.get(path)
        page = await answer.text()
        assert answer.status == status, page
        assert answer.content_type == "text/html" and words in page
    assert "unhandled error" not in captured_logs.text


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded; charset=bogus", "application/x-www-form-urlencoded"],
)
async def test_a_form_that_cannot_be_read_is_refused_as_such(
    collected: str, captured_logs: pytest.LogCaptureFixture, content_type: str
) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        before = await (await client.get("/api/groups")).json()
        answer = await client.post(
            "/settings/groups",
            data=b"action=create&name=%FF%FE&csrf=x",
            headers={"Content-Type": content_type},
        )
        page = await answer.text()
        assert answer.status in (400, 403), page  # unreadable, or readable but tokenless
        assert answer.content_type == "text/html"
        assert await (await client.get("/api/groups")).json() == before
    assert "unhandled error" not in captured_logs.text


async def test_the_old_member_link_keeps_its_query_as_values(collected: str) -> None:
    async with running_daemon(daemon_settings(collected)) as client:
        answer = await client.get(
            "/users/ana@example.test?days=7&note=a%26b%0d%0aSet-Cookie:%20z=1",
            allow_redirects=False,
        )
        assert answer.status == 308
        location = answer.headers["Location"]
        assert "\r" not in location and "\n" not in location and "z" not in answer.cookies
        assert location == "/members/ana@example.test?days=7&note=a%26b%0D%0ASet-Cookie%3A+z%3D1"
