"""How a person runs this tracker again from a shell: what the commands it prints start with.

``make demo`` installs the tracker into ``.venv`` without putting ``.venv/bin`` on anyone's
PATH, so a printed ``cursor-tracker stats`` would be "command not found" for the very person
it was printed for. The bare name is printed only when it is this same program on the PATH.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

NAME = "cursor-tracker"


def invoked_as(
    argv0: str | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    executable: str | None = None,
) -> str:
    """The shell words that run this tracker: ``cursor-tracker`` when the PATH finds this
    same program, else its absolute path, else ``python -m tracker_core`` with this
    interpreter (a run by ``python -m`` where no script was installed beside it)."""
    ran = Path(sys.argv[0] if argv0 is None else argv0)
    python = Path(sys.executable if executable is None else executable)
    script = ran if ran.name == NAME else python.parent / NAME
    found = which(NAME)
    if script.is_file():
        if found is not None and _same_file(found, script):
            return NAME
        return shlex.quote(str(script.absolute()))
    if found is not None and ran.name == NAME:
        return NAME  # run by its bare name from somewhere the PATH alone knows
    return f"{shlex.quote(str(python))} -m tracker_core"


def _same_file(one: str, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
