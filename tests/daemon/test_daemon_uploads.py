"""An import carries a whole file, a company's People Directory export: it may be far larger
than any other request, and only the imports get that allowance."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from tests.daemon.conftest import daemon_settings, running_daemon

BODY_LIMIT = 1024
UPLOAD_LIMIT = 256 * 1024
JSON = {"Content-Type": "application/json"}


def directory(emails: list[str], size: int) -> str:
    """A People Directory export of ``size`` bytes or more: the team's members, then the rest
    of the company (people who never used Cursor), as HiBob exports everyone."""
    lines = ["Email,Department,Team,Display name,Job title,Site"]
    lines += [f"{email},Guild,Core,Member {n},Engineer,Lisbon" for n, email in enumerate(emails)]
    n = 0
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(f"person{n}@elsewhere.test,Sales,Field,Person {n},Account executive,Porto")
        n += 1
    return "\n".join(lines) + "\n"


async def chunked(body: bytes) -> AsyncIterator[bytes]:
    """The body without a Content-Length: only reading it can tell its size."""
    for start in range(0, len(body), 16 * 1024):
        yield body[start : start + 16 * 1024]


async def test_an_import_may_be_as_large_as_the_upload_limit_and_nothing_else_is(
    collected: str,
) -> None:
    settings = daemon_settings(collected, max_body_bytes=BODY_LIMIT, max_upload_bytes=UPLOAD_LIMIT)
    async with running_daemon(settings) as client:
        groups = await (await client.get("/api/groups")).json()
        emails = sorted(m["email"] for g in groups["groups"] for m in g["members"])
        emails += [m["email"] for m in groups.get("unassigned", [])]
        big = json.dumps({"csv": directory(emails, 200 * 1024), "apply": False})
        assert BODY_LIMIT * 100 < len(big) < UPLOAD_LIMIT

        answer = await client.post("/api/groups/import", data=big, headers=JSON)
        preview: dict[str, Any] = await answer.json()
        assert answer.status == 200, preview
        assert preview["matched"] == len(set(emails)) > 0

        # The same file sent without its length is read, up to the same limit.
        answer = await client.post("/api/groups/import", data=chunked(big.encode()), headers=JSON)
        assert answer.status == 200, await answer.text()

        too_big = json.dumps({"csv": directory(emails, UPLOAD_LIMIT + 1), "apply": False})
        for data in (too_big, chunked(too_big.encode())):
            answer = await client.post("/api/groups/import", data=data, headers=JSON)
            assert answer.status == 413
            assert f"at most {UPLOAD_LIMIT}" in (await answer.json())["error"]
        answer = await client.post("/api/groups/restore", data=too_big, headers=JSON)
        assert answer.status == 413

        # Every other route keeps the small limit, with a length or without.
        settings_body = json.dumps({"zscore_multiplier": 3.5, "padding": "x" * 2 * BODY_LIMIT})
        for data in (settings_body, chunked(settings_body.encode())):
            answer = await client.put("/api/settings", data=data, headers=JSON)
            assert answer.status == 413
            assert f"at most {BODY_LIMIT}" in (await answer.json())["error"]
        assert (await (await client.get("/api/groups")).json()) == groups  # nothing moved
