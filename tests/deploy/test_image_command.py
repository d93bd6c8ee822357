"""The container's command and health check, run outside a container.

No container engine can be reached from the test machines, so the image is never built here.
What it would run is: the Dockerfile's ``CMD`` and ``HEALTHCHECK``, with its ``ENV``, as its
``USER``, in its ``WORKDIR``, with its data at ``/data``. These tests read those lines from the
Dockerfile itself and run them, with this checkout's virtualenv standing in for ``/opt/venv`` and
a private directory owned by the image's uid standing in for the ``/data`` volume.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.recipes import (
    ROOT,
    VENV,
    Image,
    base_env,
    owned_folder,
    read_image,
    relocate,
    run_check,
    start_daemon,
    user_prefix,
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


@pytest.fixture
def installed_wheel(tmp_path: Path) -> Iterator[Path]:
    """The project built into a wheel and unpacked, as the image's builder stage installs it.

    The image holds an installed wheel, not this checkout: a file the daemon needs but the
    wheel leaves out (a migration, a template) would pass every other test and break the image.
    """
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("tracker_core", "tracker_tui"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = build.stdout + build.stderr
    if build.returncode != 0 and "setuptools" in output and "No matching" in output:
        pytest.skip("no package index reachable to fetch the build backend")
    assert build.returncode == 0, output
    [wheel] = wheels.glob("*.whl")
    site = Path(tempfile.mkdtemp(prefix="tracker-site-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        for folder, _, _ in os.walk(site):
            os.chmod(folder, 0o755)  # Readable by the image's user, as /opt/venv is.
        yield site
    finally:
        shutil.rmtree(site, ignore_errors=True)


@pytest.mark.slow
def test_the_image_command_from_the_wheel_serves_and_its_health_check_follows_it(
    container: Container, installed_wheel: Path
) -> None:
    # The wheel's packages stand in for the image's site-packages, ahead of this checkout.
    env = {**container.env, "PYTHONPATH": str(installed_wheel)}
    where = subprocess.run(
        [*container.prefix, "python", "-c", "import tracker_core; print(tracker_core.__file__)"],
        env=env,
        cwd=container.data,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(installed_wheel)), where.stdout
    command = [*container.prefix, *container.image.cmd, "--port", "0"]

    # Without DASHBOARD_PASSWORD the image's command refuses to listen on 0.0.0.0.
    refused = subprocess.run(
        command, env=env, cwd=container.data, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "DASHBOARD_PASSWORD" in refused.stderr
    assert "listening" not in refused.stdout

    env["DASHBOARD_PASSWORD"] = PASSWORD
    daemon = start_daemon(command, env=env, cwd=container.data)
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
