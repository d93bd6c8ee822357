"""The container's command and health check, run outside a container.

No container engine can be reached from the test machines, so the image is never built here.
What it would run is: the Dockerfile's ``CMD`` and ``HEALTHCHECK``, with its ``ENV``, as its
``USER``, in its ``WORKDIR``, with its data at ``/data``. These tests read those lines from the
Dockerfile itself and run them, with this checkout's virtualenv standing in for ``/opt/venv`` and
a private directory owned by the image's uid standing in for the ``/data`` volume.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.conftest import owned_folder, user_prefix
from tests.deploy.recipes import (
    VENV,
    Image,
    base_env,
    read_image,
    relocate,
    run_check,
    start_daemon,
)

PASSWORD = "dashboard-password-for-the-image-test"


@dataclass
class Container:
    """The image's settings and what stands in for the container around them."""

    image: Image
    data: Path
    env: dict[str, str]
    prefix: list[str]
    """Runs a command as the image's user."""

    def healthcheck(self, port: int) -> list[str]:
        """The HEALTHCHECK command, aimed at ``port`` instead of the exposed one."""
        [exposed] = self.image.expose
        target = f"127.0.0.1:{exposed}/healthz"
        assert sum(target in word for word in self.image.healthcheck) == 1
        return [
            *self.prefix,
            *(w.replace(target, f"127.0.0.1:{port}/healthz") for w in self.image.healthcheck),
        ]


@pytest.fixture
def container() -> Iterator[Container]:
    image = read_image()
    uid, _, gid = image.user.partition(":")
    assert uid.isdigit() and int(uid) != 0, (
        f"the image must run as a numeric non-root uid: {image.user}"
    )
    assert image.volumes == ["/data"] and image.workdir == "/data"
    prefix = user_prefix(int(uid), int(gid or uid))
    with owned_folder(int(uid), int(gid or uid)) as data:
        moves = {"/opt/venv": str(VENV), "/data": str(data)}
        env = base_env(home=data)  # /data is the user's home in /etc/passwd.
        env.update({key: relocate(value, moves) for key, value in image.env.items()})
        yield Container(image=image, data=data, env=env, prefix=prefix)


class _StandIn(BaseHTTPRequestHandler):
    """Answers ``/healthz`` the way the daemon's contract says, with a status set by the test."""

    status = 200

    def do_GET(self) -> None:
        body = b'{"status": "ok", "last_collection": null, "last_job": null}'
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (404, False)])
def test_the_health_check_follows_the_status_of_healthz(
    container: Container, status: int, healthy: bool
) -> None:
    handler = type("Handler", (_StandIn,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        code = run_check(container.healthcheck(port), env=container.env, cwd=container.data)
    finally:
        server.shutdown()
        server.server_close()

    assert (code == 0) is healthy
    if not healthy:
        # Nothing listens there any more: the check fails instead of hanging.
        assert run_check(container.healthcheck(port), env=container.env, cwd=container.data) != 0


def test_the_image_command_serves_and_its_health_check_follows_it(
    container: Container, daemon_command: None
) -> None:
    env = {**container.env, "DASHBOARD_PASSWORD": PASSWORD}
    daemon = start_daemon(
        [*container.prefix, *container.image.cmd, "--port", "0"], env=env, cwd=container.data
    )
    try:
        assert "listening on http://0.0.0.0:" in daemon.stdout[0]
        assert run_check(container.healthcheck(daemon.port), env=env, cwd=container.data) == 0
        # The database is on the volume, owned by the image's user.
        database = container.data / "tracker.db"
        assert database.is_file()
        assert database.stat().st_uid == container.data.stat().st_uid
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output()
    assert run_check(container.healthcheck(daemon.port), env=env, cwd=container.data) != 0
    assert PASSWORD not in daemon.output()


def test_the_image_command_without_a_dashboard_password_refuses_to_start(
    container: Container, daemon_command: None
) -> None:
    result = subprocess.run(
        [*container.prefix, *container.image.cmd, "--port", "0"],
        env=container.env,
        cwd=container.data,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DASHBOARD_PASSWORD" in result.stderr
    assert "listening" not in result.stdout
