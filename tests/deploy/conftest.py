"""Fixtures for running the deployment recipes' commands outside a container or systemd."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.recipes import as_user


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
