"""Text from outside (member names, API errors) prints as written, never as Rich markup."""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from tests.cursor_api.servers import Seen, always, error, serve
from tests.integration.helpers import KEY, cli_env, run_cli, write_config
from tracker_core.simulator import running_simulator, scenario_from_dict

NAMES = ["Mallory [/]", "Trent [ext]", "Eve [link=https://evil.example]click[/link]", ":smile:"]


def _scenario() -> dict[str, object]:
    now = datetime.now(UTC)
    members = [
        {"id": n, "name": name, "email": f"m{n}@example.com", "role": "member"}
        for n, name in enumerate(NAMES, start=1)
    ]
    events = [
        {
            "timestamp": str(int((now - timedelta(hours=n)).timestamp() * 1000)),
            "userEmail": f"m{n}@example.com",
            "model": "claude-[b]bold[/b]",
            "kind": "Usage-based",
            "maxMode": False,
            "requestsCosts": 1,
            "isTokenBasedCall": True,
            "tokenUsage": {"inputTokens": 10, "outputTokens": 5, "totalCents": 2.5 * n},
            "chargedCents": 2.5 * n,
        }
        for n in range(1, len(NAMES) + 1)
    ]
    return {"teamMembers": members, "usageEvents": events}


def test_member_names_and_models_print_literally_in_stats(tmp_path: Path, sqlite_url: str) -> None:
    scenario = scenario_from_dict(_scenario())
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        config = write_config(tmp_path / "c.toml", api_url=url, db_url=sqlite_url)
        collected = run_cli("collect", config=config)
    assert collected.code == 0, collected.stderr

    result = run_cli("stats", "--days", "7", config=config, env={"COLUMNS": "300"})

    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in NAMES:
        assert name in result.stdout
    assert "claude-[b]bold[/b]" in result.stdout
    assert "\x1b]8;" not in result.stdout  # no terminal hyperlink escape


async def test_an_api_error_holding_markup_prints_literally_in_the_collect_summary(
    tmp_path: Path, sqlite_url: str
) -> None:
    message = "quota [/] exceeded for [link=https://evil.example]team[/link]"
    failing = always(lambda: error(400, message))
    paths = ["/teams/members", "/teams/spend", "/teams/groups", "/teams/daily-usage-data"]
    routes = {(method, path): failing for path in paths for method in ("GET", "POST")}
    async with serve(routes) as (url, _):
        config = write_config(tmp_path / "c.toml", api_url=url, db_url=sqlite_url)
        stdout, stderr, code = await _collect(config)

    assert code == 1, stderr
    assert "Traceback" not in stderr
    assert message in stdout


def test_a_one_letter_database_password_leaves_the_message_readable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = cli_env(extra={"DATABASE_URL": f"postgresql://tracker:e@127.0.0.1:{port}/tracker"})
    result = subprocess.run(
        [sys.executable, "-m", "tracker_core", "stats"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"postgresql+psycopg://tracker:***@127.0.0.1:{port}/tracker" in result.stderr
    assert "connection failed" in result.stderr
    assert "Connection refused" in result.stderr


async def test_an_upstream_body_echoing_the_basic_auth_header_does_not_reveal_the_key(
    tmp_path: Path, sqlite_url: str
) -> None:
    async def echo(seen: Seen) -> web.StreamResponse:
        return error(400, f"bad request; you sent Authorization {seen.headers['Authorization']}")

    encoded = base64.b64encode(f"{KEY}:".encode()).decode()
    paths = ["/teams/members", "/teams/spend", "/teams/groups", "/teams/daily-usage-data"]
    routes = {(method, path): echo for path in paths for method in ("GET", "POST")}
    async with serve(routes) as (url, recorder):
        config = write_config(tmp_path / "c.toml", api_url=url, db_url=sqlite_url)
        stdout, stderr, code = await _collect(config)

    assert recorder.seen  # the server did echo the header back
    assert code == 1
    for shown in (stdout, stderr):
        assert KEY not in shown
        assert encoded.rstrip("=") not in shown
    assert "bad request; you sent Authorization" in stderr


async def _collect(config: Path) -> tuple[str, str, int]:
    """``collect`` as a subprocess, awaited, so a server in this event loop can answer it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker_core",
        "collect",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(extra={"COLUMNS": "300"}),
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode(), err.decode(), process.returncode or 0
