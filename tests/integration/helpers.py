"""Running the real ``cursor-tracker`` command against a simulator, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from tracker_core.storage import repo

KEY = "test-admin-key-0123456789"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def write_config(
    path: Path,
    *,
    api_url: str,
    db_url: str,
    cursor_rate_limits: bool = False,
    timeout_seconds: float = 2,
    **collector: object,
) -> Path:
    """A config file with fast retries, so fault tests finish in seconds, not minutes.

    The client's own rate limiter is lifted unless ``cursor_rate_limits``: at Cursor's 20 admin
    requests a minute every backfill would spend most of its time waiting, and only the test of
    the limiter itself needs to see that.
    """
    lines = [
        "[cursor]",
        f'api_url = "{api_url}"',
        f"timeout_seconds = {timeout_seconds}",
        "max_attempts = 12",
        "backoff_base_seconds = 0.05",
    ]
    if not cursor_rate_limits:
        lines += ["admin_requests_per_minute = 10000", "analytics_requests_per_minute = 10000"]
    lines += [
        "[database]",
        f'url = "{db_url}"',
        "[collector]",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in collector.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


OUTSIDE_SETTINGS = ("CURSOR_", "DATABASE_URL", "SLACK_", "RESEND_", "ALERT_EMAIL_", "DASHBOARD_")
"""Variables of the person running the tests that must not leak into the command under test."""


def cli_env(key: str = KEY, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE_SETTINGS)}
    env["CURSOR_ADMIN_API_KEY"] = key
    env.update(extra or {})
    return env


def start_cli(
    *args: str, config: Path, key: str = KEY, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker_core", *args, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(key, env),
    )


def run_cli(
    *args: str,
    config: Path,
    key: str = KEY,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> Run:
    process = start_cli(*args, config=config, key=key, env=env)
    stdout, stderr = process.communicate(timeout=timeout)
    return Run(process.returncode, stdout, stderr)


def totals(db_url: str) -> dict[str, Any]:
    """Everything a user would compare between two databases of the same organisation."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            counts = repo.table_counts(conn)
            events, cents = repo.usage_totals(conn)
    finally:
        engine.dispose()
    return {**counts, "events": events, "spend_cents": round(cents, 4)}
