"""Running the real ``cursor-tracker`` command against a simulator, as a user would."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from tracker_core.storage import repo

KEY = "test-admin-key-0123456789"

UNREACHABLE = "http://127.0.0.1:9"
"""An API address nothing answers on: for configs of databases filled earlier."""

Fill = Callable[[str], None]
"""Fills the empty database at the URL it is given (typically: collect from a simulator)."""

CopyOfTemplate = Callable[[str, Fill], None]
"""The ``copy_of_template`` fixture: (key, fill) -> this test's database is a filled copy."""


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


OWN_PROCESS = frozenset({"daemon", "demo", "simulator", "tui"})
"""Commands that serve, hold a terminal or install signal handlers: always a real process."""


def run_cli(
    *args: str,
    config: Path,
    key: str = KEY,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``cursor-tracker ARGS --config CONFIG`` and return its exit code and output.

    A one-shot command runs inside this process (``main(argv)`` with the same environment,
    output and exit code a process would have): starting a Python process and importing the
    tracker costs about a second of CPU, and the suite runs a few hundred commands. Tests of
    what only a real process shows (signals, two processes at once, the installed script)
    use :func:`start_cli`.
    """
    if not in_own_process(args):
        return run_in_process([*args, "--config", str(config)], cli_env(key, env))
    process = start_cli(*args, config=config, key=key, env=env)
    stdout, stderr = process.communicate(timeout=timeout)
    return Run(process.returncode, stdout, stderr)


def in_own_process(argv: Sequence[str]) -> bool:
    """Whether ``cursor-tracker ARGV`` must run as a real process (see :data:`OWN_PROCESS`)."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    return command in OWN_PROCESS and "--help" not in argv and "-h" not in argv


def run_in_process(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """``main(argv)`` as a fresh process would run it: its own environment, working directory
    and rate limiters, stdout and stderr captured, warnings logged to stderr, an exit code."""
    from tracker_core.cli.main import main
    from tracker_core.cursor_api import ratelimit

    out, err = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    saved_limiters = dict(ratelimit._SHARED)
    ratelimit._SHARED.clear()
    # Python's last-resort handler prints warnings to stderr in a process with no logging
    # set up; here pytest's own handlers would swallow them.
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    saved_cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    root.addHandler(handler)
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(saved_cwd)
        root.removeHandler(handler)
        os.environ.clear()
        os.environ.update(saved_env)
        ratelimit._SHARED.clear()
        ratelimit._SHARED.update(saved_limiters)
    return Run(code, out.getvalue(), err.getvalue())


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


def collected_config(
    scenario: Any, key: str, db_url: str, where: Path, copy_of_template: CopyOfTemplate
) -> Path:
    """A config whose database (``db_url``, empty) holds ``scenario`` as ``collect`` leaves it,
    copied from the worker's template ``key`` (collected from a simulator on first use)."""

    def collect(url: str) -> None:
        from tracker_core.simulator import running_simulator

        with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
            config = write_config(where / "fill.toml", api_url=api, db_url=url, analytics=False)
            result = run_cli("collect", "--json", config=config)
        assert result.code == 0, result.stderr

    copy_of_template(key, collect)
    # The simulator is gone once the database is filled, as it was after the collection.
    return write_config(where / "c.toml", api_url=UNREACHABLE, db_url=db_url, analytics=False)
