"""A throw-away PostgreSQL server for the test suite.

Every test that takes the ``postgresql`` parameter runs against a real server, started here from
Debian's server binaries in a temporary directory, tuned for speed over durability, and wiped
at the end. Each pytest-xdist worker starts its own server on its own port, so workers never
share state. PostgreSQL refuses to run as root; as root the data directory is handed to the
``postgres`` system user and the server binaries run as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "32MB",
    "max_connections": "60",
    "log_min_messages": "warning",
}
"""Durability is worthless for a database that lives as long as a test run."""

_START_ATTEMPTS = 3
_RAM_DISK = Path("/dev/shm")
_RAM_DISK_MIN_FREE = 1 << 30


def _scratch_parent() -> str | None:
    """A RAM disk when there is room on one: CREATE DATABASE is ten times faster there."""
    try:
        if (
            _RAM_DISK.is_dir()
            and os.access(_RAM_DISK, os.W_OK | os.X_OK)
            and shutil.disk_usage(_RAM_DISK).free >= _RAM_DISK_MIN_FREE
        ):
            return str(_RAM_DISK)
    except OSError:
        pass
    return None


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin", path)
    return tuple(int(part) for part in match.group(1).split(".")) if match else (0,)


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: the newest Debian install, else PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in "
        "/usr/lib/postgresql/*/bin or on PATH; the PostgreSQL tests need them: "
        "run `make postgres-binaries` (Debian package `postgresql`)"
    )


def _postgres_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "PostgreSQL will not run as root and there is no `postgres` user to run it as; "
            "Debian's postgresql package creates one (run `make postgres-binaries`)"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running throw-away server; ``base_url`` ends in ``/`` so a database name can follow."""

    bindir: Path
    root: Path
    port: int
    as_postgres_user: bool

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/"

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb a fresh cluster and start it on a free port (retrying if a port was taken)."""
        bindir = find_bindir()
        as_postgres_user = os.geteuid() == 0
        root = Path(tempfile.mkdtemp(prefix="tracker-pg-", dir=_scratch_parent()))
        if as_postgres_user:
            account = _postgres_account()
            os.chown(root, account.pw_uid, account.pw_gid)
        server = cls(bindir=bindir, root=root, port=0, as_postgres_user=as_postgres_user)
        try:
            server._initdb()
            last_error = ""
            for _ in range(_START_ATTEMPTS):
                server.port = _free_port()
                server._write_settings()
                result = server._run(
                    "pg_ctl",
                    "-D",
                    str(server.datadir),
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                if result.returncode == 0:
                    return server
                last_error = result.stdout + result.stderr + server._log_tail()
            raise RuntimeError(f"PostgreSQL test server did not start:\n{last_error}")
        except BaseException:
            server.stop()
            raise

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        if not self.as_postgres_user:
            return command
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *command]
        return ["su", "postgres", "-c", shlex.join(command)]

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for name in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            env.pop(name, None)
        return subprocess.run(
            self._command(program, *args),
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=120,
            check=False,
        )

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _write_settings(self) -> None:
        settings = {
            **SERVER_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
        }
        # postgresql.auto.conf is read last, so rewriting it on a retry replaces the port.
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        auto_conf = self.datadir / "postgresql.auto.conf"
        auto_conf.write_text(text)
        if self.as_postgres_user:
            account = _postgres_account()
            os.chown(auto_conf, account.pw_uid, account.pw_gid)

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        try:
            return "\n".join(log.read_text().splitlines()[-20:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete it."""
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
            for _ in range(50):
                if not (self.datadir / "postmaster.pid").exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
