"""Text from outside (member names, API errors) prints as written, never as Rich markup."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cursor_api.servers import always, error, serve
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
    stdout, stderr = out.decode(), err.decode()

    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert message in stdout
