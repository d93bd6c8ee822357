"""Reading the deployment files the way Docker and systemd do, to run what they would run.

No container engine or systemd instance is available to the tests, so the tests take the
command lines and environment out of the Dockerfile and the unit file and run them here, with
a temporary directory standing in for ``/data`` or the state directory. Only the parts of each
format that the project's files use are understood; an instruction that would change what the
container runs and is not understood here (ENTRYPOINT, SHELL) fails the reading.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "cursor-tracker.service"
VENV = Path(sys.prefix)
"""The virtualenv running the tests: it stands in for the image's ``/opt/venv``."""

IMAGE_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""``$PATH`` as the official Python images set it, before the Dockerfile prepends to it."""

LISTENING = re.compile(r"listening on http://(?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+)")


@dataclass
class Image:
    """What the runtime (last) stage of the Dockerfile sets."""

    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    workdir: str = ""
    volumes: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuations joined and comment lines dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and current):
            continue  # Docker drops comment lines, even inside a continued instruction.
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _command(arguments: str) -> list[str]:
    """An exec-form (JSON) command as a list; the shell form through ``/bin/sh -c``."""
    if arguments.startswith("["):
        command = json.loads(arguments)
        assert isinstance(command, list)
        return [str(part) for part in command]
    return ["/bin/sh", "-c", arguments]


def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), value)


def read_image(path: Path = DOCKERFILE) -> Image:
    """The last stage's settings, as ``docker run`` of the built image would apply them."""
    image = Image()
    for instruction, arguments in _instructions(path.read_text(encoding="utf-8")):
        if instruction == "FROM":
            image = Image(env={"PATH": IMAGE_BASE_PATH})
        elif instruction == "ENV":
            words = shlex.split(arguments)
            if words and "=" not in words[0]:
                pairs = [(words[0], " ".join(words[1:]))]
            else:
                pairs = [tuple(word.split("=", 1)) for word in words]  # type: ignore[misc]
            for key, value in pairs:
                image.env[key] = _expand(value, image.env)
        elif instruction == "USER":
            image.user = arguments
        elif instruction == "WORKDIR":
            image.workdir = arguments
        elif instruction == "VOLUME":
            image.volumes = _command(arguments) if arguments.startswith("[") else arguments.split()
        elif instruction == "EXPOSE":
            image.expose = arguments.split()
        elif instruction == "HEALTHCHECK":
            check = re.fullmatch(r"(?:--\S+\s+)*CMD\s+(.+)", arguments)
            assert check is not None, f"HEALTHCHECK without CMD: {arguments}"
            image.healthcheck = _command(check.group(1).strip())
        elif instruction == "CMD":
            image.cmd = _command(arguments)
        elif instruction in {"ENTRYPOINT", "SHELL", "ONBUILD"}:
            raise AssertionError(f"{instruction} is not understood by these tests: teach them")
    return image


def read_service(path: Path = UNIT) -> dict[str, list[str]]:
    """The ``[Service]`` section: every key with its values in order (keys may repeat)."""
    section = ""
    service: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            service.setdefault(key.strip(), []).append(value.strip())
    return service


def service_environment(service: Mapping[str, list[str]]) -> dict[str, str]:
    """The variables ``Environment=`` lines set (quoted words kept whole, as systemd does)."""
    env: dict[str, str] = {}
    for line in service.get("Environment", []):
        for word in shlex.split(line):
            key, _, value = word.partition("=")
            env[key] = value
    return env


def relocate(value: str, moves: Mapping[str, str]) -> str:
    """``value`` with each path prefix in ``moves`` replaced by where it stands in the test."""
    for old, new in moves.items():
        value = value.replace(old, new)
    return value


def as_user(uid: int, gid: int) -> list[str] | None:
    """A prefix that runs a command as ``uid:gid``, from root, with no way back to root;
    ``None`` when this system has no tool for it.

    When that user cannot even start the tests' interpreter (pyenv keeps it under ``/root``,
    which no other user may enter) the prefix keeps one capability, reading and searching any
    directory. Writing is still limited to what the user owns, which is what running as the
    image's user is meant to prove: the daemon needs nothing but its data directory.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs"]
    if not _anyone_can_run(Path(os.path.realpath(sys.executable))):
        keep = "-all,+dac_read_search"
        prefix += [f"--inh-caps={keep}", f"--ambient-caps={keep}", f"--bounding-set={keep}"]
    return [*prefix, "--"]


def _anyone_can_run(program: Path) -> bool:
    """Whether a user with no rights of its own may reach and execute ``program``."""
    if not program.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in program.parents)


MDWE_WRAPPER = (
    "import ctypes, os, sys\n"
    "PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1\n"
    "if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0):\n"
    "    sys.exit(f'PR_SET_MDWE: {os.strerror(ctypes.get_errno())}')\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)
"""Runs ``argv[1:]`` with memory that is writable never made executable, for it and its children:
the kernel's own form of systemd's ``MemoryDenyWriteExecute=yes``."""


def mdwe_prefix() -> list[str] | None:
    """A prefix for :data:`MDWE_WRAPPER`; ``None`` when the kernel lacks PR_SET_MDWE (< 6.3)."""
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_WRAPPER, "/bin/true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return None
    return [sys.executable, "-c", MDWE_WRAPPER]


@dataclass
class Running:
    """A daemon started from a deployment recipe, and the address it said it listens on."""

    process: subprocess.Popen[str]
    port: int
    stdout: list[str]
    stderr: list[str]
    """Every line written so far, read by threads so that a full pipe never blocks the daemon."""

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as ``docker stop`` and ``systemctl stop`` send; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def _drain(stream: IO[str], lines: list[str], first: queue.Queue[str] | None) -> None:
    for line in stream:
        if first is not None and not lines:
            first.put(line)
        lines.append(line)
    if first is not None:
        first.put("")


def start_daemon(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 60
) -> Running:
    """Start ``command`` and wait for the first line of its output, ``listening on http://H:P``."""
    process = subprocess.Popen(
        list(command),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stdout: list[str] = []
    stderr: list[str] = []
    first: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, stdout, first), daemon=True).start()
    threading.Thread(target=_drain, args=(process.stderr, stderr, None), daemon=True).start()
    try:
        line = first.get(timeout=timeout)
    except queue.Empty:
        line = ""
    match = LISTENING.search(line)
    if match is None:
        process.kill()
        process.wait()
        raise AssertionError(
            f"the daemon did not say where it listens: {''.join(stdout + stderr)!r}"
        )
    return Running(process=process, port=int(match.group("port")), stdout=stdout, stderr=stderr)


def run_check(command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> int:
    """Run a health check as the container engine would: its exit status, 0 = healthy."""
    return subprocess.run(
        list(command), env=dict(env), cwd=cwd, capture_output=True, timeout=30, check=False
    ).returncode


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: nothing of the person running the tests leaks into the daemon."""
    env = {"HOME": str(home), "LANG": "C.UTF-8"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


@contextmanager
def owned_folder(uid: int, gid: int) -> Iterator[Path]:
    """A private directory owned by ``uid:gid``, outside pytest's root-only temporary tree."""
    folder = Path(tempfile.mkdtemp(prefix="tracker-deploy-"))
    try:
        if os.geteuid() == 0:
            os.chown(folder, uid, gid)
        folder.chmod(0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def user_prefix(uid: int, gid: int) -> list[str]:
    """How to run a command as ``uid:gid``: nothing to do unless the tests run as root."""
    if os.geteuid() != 0:
        return []
    prefix = as_user(uid, gid)
    if prefix is None:
        pytest.skip("running as root and setpriv (util-linux) is missing to drop to a user")
    return prefix
