"""The systemd unit's command, run outside systemd as the unit would run it.

systemd is not PID 1 on the test machines, so the unit cannot be started here. What it would run
is: ``ExecStart`` with its ``Environment=``, as an unprivileged dynamic user, under its
``UMask=``, in its state directory, with ``MemoryDenyWriteExecute=yes``. These tests read those
lines from the unit file and run them: this checkout's ``cursor-tracker`` stands in for
``/opt/cursor-tracker``, a private directory for ``/var/lib/cursor-tracker``, and the kernel's
PR_SET_MDWE (the same refusal systemd applies) for ``MemoryDenyWriteExecute``. Checked so, the
hardening cannot keep the daemon from starting on CPython: its imports, both database drivers
(SQLite, and libpq for PostgreSQL), TLS and HTTP server all run without writable-and-executable
memory.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.recipes import (
    VENV,
    base_env,
    mdwe_prefix,
    owned_folder,
    read_service,
    relocate,
    service_environment,
    start_daemon,
    user_prefix,
)

INSTALLED = "/opt/cursor-tracker"
STATE = "/var/lib/cursor-tracker"
DYNAMIC_UID = 61234
"""An id in the range systemd hands out to ``DynamicUser=`` services (61184-65519)."""


@pytest.fixture
def notify_socket() -> Iterator[socket.socket]:
    """Where systemd listens for ``READY=1`` under ``Type=notify``."""
    with (
        tempfile.TemporaryDirectory(prefix="notify-") as folder,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "notify")
        sock.bind(path)
        os.chmod(path, 0o777)  # Any service user may write to systemd's socket.
        sock.settimeout(30)
        yield sock


@pytest.mark.parametrize(
    "dialect",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def test_the_units_command_starts_confined_and_stops_cleanly(
    notify_socket: socket.socket,
    dialect: str,
    request: pytest.FixtureRequest,
) -> None:
    service = read_service()
    assert service["DynamicUser"] == ["yes"]
    assert service["StateDirectory"] == ["cursor-tracker"]
    assert service["WorkingDirectory"] == [STATE]
    assert service["MemoryDenyWriteExecute"] == ["yes"]
    mdwe = mdwe_prefix()
    if mdwe is None:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+) to stand in for systemd's")
    [exec_start] = service["ExecStart"]
    command = [relocate(word, {INSTALLED: str(VENV)}) for word in shlex.split(exec_start)]
    [umask] = service["UMask"]
    [kind] = service["Type"]
    prefix = user_prefix(DYNAMIC_UID, DYNAMIC_UID)

    with owned_folder(DYNAMIC_UID, DYNAMIC_UID) as state:
        env = base_env(home=Path("/"))  # systemd gives a dynamic user "/" as its home.
        env.update(
            {k: relocate(v, {STATE: str(state)}) for k, v in service_environment(service).items()}
        )
        if dialect == "postgresql":
            # Set in /etc/cursor-tracker/env, which comes after the unit's own Environment=.
            env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        if kind == "notify":
            env["NOTIFY_SOCKET"] = notify_socket.getsockname()
        previous = os.umask(int(umask, 8))
        try:
            daemon = start_daemon([*mdwe, *prefix, *command, "--port", "0"], env=env, cwd=state)
        finally:
            os.umask(previous)
        try:
            assert "listening on http://127.0.0.1:" in daemon.stdout[0]
            if kind == "notify":
                assert notify_socket.recv(4096).split(b"\n")[0] == b"READY=1"
            url = f"http://127.0.0.1:{daemon.port}/healthz"
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert json.load(answer)["status"] in {"ok", "degraded"}
            if dialect == "sqlite":
                # The database is in the state directory, readable by the service's user only.
                database = state / "tracker.db"
                assert database.is_file()
                assert database.stat().st_mode & 0o777 == 0o600
        finally:
            code = daemon.stop()
        assert code == 0, daemon.output()
        if kind == "notify":
            assert notify_socket.recv(4096) == b"STOPPING=1"
