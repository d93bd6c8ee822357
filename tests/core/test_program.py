"""What the commands the tracker prints start with: words a shell will find."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from tracker_core.cli.program import invoked_as


def installed(root: Path) -> tuple[Path, Path]:
    """A virtual environment's interpreter and the tracker's script beside it."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python, script = bin_dir / "python", bin_dir / "cursor-tracker"
    python.write_text("")
    script.write_text("#!/bin/sh\n")
    return python, script


def test_the_bare_name_only_when_the_path_finds_this_same_program(tmp_path: Path) -> None:
    python, script = installed(tmp_path)
    other = tmp_path / "elsewhere" / "cursor-tracker"  # another install, first on the PATH
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")

    def finds(path: Path | None) -> Callable[[str], str | None]:
        return lambda name: None if path is None else str(path)

    run = {"argv0": str(script), "executable": str(python)}
    assert invoked_as(**run, which=finds(script)) == "cursor-tracker"
    # `make demo` leaves .venv/bin off the PATH: the script's own path, absolute.
    assert invoked_as(**run, which=finds(None)) == str(script)
    assert invoked_as(**run, which=finds(other)) == str(script)


def test_a_run_by_python_m_names_the_script_beside_its_interpreter(tmp_path: Path) -> None:
    python, script = installed(tmp_path)
    module = str(tmp_path / "tracker_core" / "__main__.py")
    assert invoked_as(module, which=lambda name: str(script), executable=str(python)) == (
        "cursor-tracker"
    )
    assert invoked_as(module, which=lambda name: None, executable=str(python)) == str(script)
    bare = tmp_path / "bare" / "python3"  # no script installed beside this one
    words = invoked_as(module, which=lambda name: None, executable=str(bare))
    assert shlex.split(words) == [str(bare), "-m", "tracker_core"]


def test_a_path_with_spaces_is_quoted_for_the_shell(tmp_path: Path) -> None:
    python, script = installed(tmp_path / "my projects")
    words = invoked_as(str(script), which=lambda name: None, executable=str(python))
    assert shlex.split(words) == [str(script)]
    assert invoked_as(str(script), which=lambda name: None, executable=sys.executable) == words
