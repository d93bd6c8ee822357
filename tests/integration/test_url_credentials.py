"""Credentials written into a configured URL (a proxy's ``user:password@``) are secrets like
any key: no command prints them, on success or failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.cursor_fake import Answers, fake_cursor
from tests.integration.helpers import Run, run_cli, write_config
from tests.integration.test_implausible_values import event


@pytest.mark.parametrize("password", ["Zq9-proxy-pass", "p%40ss%2Fw0rd"])
def test_a_password_in_the_api_url_is_never_printed(
    db_url: str, tmp_path: Path, password: str
) -> None:
    answers = Answers(
        members=[{"id": 1, "email": "ann@x.test", "name": "Ann", "role": "member"}],
        events=[event("ann@x.test")],
    )

    async def run() -> tuple[Run, Run]:
        async with fake_cursor(answers) as url:
            with_login = url.replace("http://", f"http://proxyuser:{password}@")
            # Members are read again on the second run, so its refusal is met at once.
            config = write_config(
                tmp_path / "c.toml",
                api_url=with_login,
                db_url=db_url,
                snapshot_every_hours=0,
                spend_every_hours=0,
            )
            ok = await asyncio.to_thread(run_cli, "collect", config=config)
            answers.refusals["/teams/members"] = (401, f"bad login for {with_login}")
            refused = await asyncio.to_thread(run_cli, "collect", config=config)
        return ok, refused

    ok, refused = asyncio.run(run())
    assert ok.code == 0, ok.stderr
    assert "Collection finished from http://proxyuser:***@127.0.0.1:" in ok.stdout
    assert refused.code == 1
    assert "Collection stopped from http://proxyuser:***@" in refused.stdout
    for output in (ok.stdout, ok.stderr, refused.stdout, refused.stderr):
        assert password not in output
        assert "p@ss/w0rd" not in output
