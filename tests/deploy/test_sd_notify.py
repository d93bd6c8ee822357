"""sd_notify: what systemd receives on $NOTIFY_SOCKET, over a real Unix datagram socket."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker_core.daemon import notify


@pytest.fixture
def manager() -> Iterator[socket.socket]:
    """A socket standing where systemd's would, bound to a path as systemd binds its own.

    In a short directory of its own: a socket path may not exceed 107 bytes, which pytest's
    per-test directories can.
    """
    with (
        tempfile.TemporaryDirectory(prefix="notify-") as folder,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        sock.bind(os.path.join(folder, "sock"))
        sock.settimeout(5)
        yield sock


def test_ready_and_stopping_reach_the_service_manager(manager: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": manager.getsockname()}

    assert notify.ready("listening on http://127.0.0.1:8080", environ=env)
    assert manager.recv(4096) == b"READY=1\nSTATUS=listening on http://127.0.0.1:8080"
    assert notify.stopping(environ=env)
    assert manager.recv(4096) == b"STOPPING=1"


def test_an_abstract_socket_is_reached_too() -> None:
    name = f"cursor-tracker-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)

        assert notify.ready(environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"READY=1"


def test_a_status_cannot_smuggle_another_assignment(manager: socket.socket) -> None:
    # A line break in the status would otherwise be read by systemd as a second assignment.
    assert notify.ready("up\nMAINPID=1", environ={"NOTIFY_SOCKET": manager.getsockname()})
    assert manager.recv(4096) == b"READY=1\nSTATUS=upMAINPID=1"


@pytest.mark.parametrize("value", ["", "relative/path", "vsock:2:1234", "@"])
def test_outside_systemd_nothing_is_sent(value: str) -> None:
    assert notify.ready(environ={"NOTIFY_SOCKET": value}) is False
    assert notify.stopping(environ={}) is False


def test_a_socket_that_is_gone_is_reported_not_raised(tmp_path: Path) -> None:
    assert notify.ready(environ={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_by_default_the_process_environment_is_read(
    manager: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", manager.getsockname())
    assert notify.ready()
    assert manager.recv(4096) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify.ready()
