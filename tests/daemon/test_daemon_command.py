"""``cursor-tracker daemon`` as a process: its first line, its refusal to listen openly without
a password, and a SIGTERM that arrives in the middle of a job."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.daemon.conftest import CRON, KEY
from tests.integration.helpers import cli_env, run_cli, write_config
from tracker_core.collector import LEASE_NAME, STOPPED
from tracker_core.daemon.jobs import JOB_LEASE
from tracker_core.simulator import running_simulator
from tracker_core.simulator.scenario import Scenario
from tracker_core.storage import lease, open_database, tables

GRACE = 1.0
LISTENING = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")


def config(tmp_path: Path, api_url: str, db_url: str, **daemon: Any) -> Path:
    path = write_config(tmp_path / "config.toml", api_url=api_url, db_url=db_url)
    values = {"schedule": "", "grace_seconds": GRACE, **daemon}
    lines = ["[daemon]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    with path.open("a") as file:
        file.write("\n".join(lines) + "\n")
    return path


def start_daemon(
    path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker_core", "daemon", "--config", str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(KEY, env),
    )


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().rstrip("\n")


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    call = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def stopped(request: pytest.FixtureRequest) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes to kill if a test fails before stopping them itself."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_without_a_password_only_loopback_is_allowed(tmp_path: Path, sqlite_url: str) -> None:
    path = config(tmp_path, "http://127.0.0.1:9", sqlite_url)
    result = run_cli("daemon", "--host", "0.0.0.0", "--port", "0", config=path, timeout=60)
    assert result.code == 2
    assert "DASHBOARD_PASSWORD" in result.stderr and "0.0.0.0" in result.stderr
    assert result.stdout == ""
    # The configured host is held to the same rule.
    path = config(tmp_path, "http://127.0.0.1:9", sqlite_url, host="192.0.2.1")
    result = run_cli("daemon", config=path, timeout=60)
    assert result.code == 2 and "DASHBOARD_PASSWORD" in result.stderr


def test_port_in_use_is_a_usage_error(tmp_path: Path, sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = config(tmp_path, "http://127.0.0.1:9", sqlite_url)
        result = run_cli("daemon", "--port", str(port), config=path, timeout=60)
    assert result.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "in use" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_first_line_names_the_port_and_a_signal_exits_0(
    tmp_path: Path, sqlite_url: str, stopped: list[subprocess.Popen[str]], signum: int
) -> None:
    path = config(tmp_path, "http://127.0.0.1:9", sqlite_url)
    process = start_daemon(path, "--port", "0", "--no-schedule")
    stopped.append(process)
    line = first_line(process)
    match = LISTENING.match(line)
    assert match is not None, line
    port = int(match.group(1))
    assert port != 0
    status, health = request(f"http://127.0.0.1:{port}/healthz")
    assert status == 200 and health["status"] == "ok"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "GET /healthz" not in stderr  # the access log is structured, not aiohttp's
    assert '"path": "/healthz"' in stderr


@pytest.mark.slow
def test_sigterm_during_a_job_exits_within_the_grace_time_leaving_a_consistent_database(
    tmp_path: Path, sqlite_url: str, scenario: Scenario, stopped: list[subprocess.Popen[str]]
) -> None:
    # Each request takes a second: the collection (31 requests) would run on for half a minute.
    with running_simulator(scenario, api_key=KEY, rate_limits=False, latency=1.0) as api:
        path = config(tmp_path, api, sqlite_url)
        process = start_daemon(path, "--port", "0", "--no-schedule", env={"CRON_SECRET": CRON})
        stopped.append(process)
        match = LISTENING.match(first_line(process))
        assert match is not None
        base = f"http://127.0.0.1:{match.group(1)}"
        answers: list[Any] = []
        caller = threading.Thread(
            target=lambda: answers.append(
                request(f"{base}/api/cron", "POST", {"x-cron-secret": CRON})
            )
        )
        caller.start()
        engine = open_database(sqlite_url)
        try:
            deadline = time.monotonic() + 30
            while lease.current_holder(engine, LEASE_NAME) is None:
                assert time.monotonic() < deadline, "the collection never started"
                time.sleep(0.05)
            time.sleep(0.5)  # well inside the collection
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
            took = time.monotonic() - signalled
            caller.join(timeout=10)
            assert process.returncode == 0, stderr
            # The grace time, then the cancellation lands at the next request (a second away);
            # the rest is a loaded machine's process exit, well short of the half minute left.
            assert took < GRACE + 8, took
            assert "cancelling it" in stderr
            # The caller heard that its job was stopped (or lost the connection with it).
            assert not answers or answers[0][0] == 503

            with engine.connect() as conn:
                runs = conn.execute(select(tables.collection_runs)).all()
            assert [run.status for run in runs] == ["partial"]
            assert STOPPED in (runs[0].error or "")
            assert lease.current_holder(engine, LEASE_NAME) is None
            assert lease.current_holder(engine, JOB_LEASE) is None
        finally:
            engine.dispose()

    # The next collection (from the same organisation, served without the delay) needs no
    # wait for a lease and completes where the stopped one left off.
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
        (tmp_path / "again").mkdir()
        again = config(tmp_path / "again", api, sqlite_url)
        started = time.monotonic()
        result = run_cli("collect", "--json", config=again, key=KEY, timeout=120)
        assert result.code == 0, result.stderr
        assert result.json()["ok"] is True
        assert time.monotonic() - started < 30
