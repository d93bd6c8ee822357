"""Installing the project: the build says nothing alarming and the wheel carries its licence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_building_prints_no_deprecation_banner_and_declares_the_licence(tmp_path: Path) -> None:
    # A copy of the sources: building in place would leave build/ in the working tree.
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
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = build.stdout + build.stderr
    if build.returncode != 0 and "setuptools" in output and "No matching" in output:
        pytest.skip("no package index reachable to fetch the build backend")
    assert build.returncode == 0, output
    assert "deprecated" not in output.lower()
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        assert "License-Expression: MIT" in archive.read(metadata).decode()
        # The daemon's dashboard serves these from the installed package.
        names = set(archive.namelist())
        for page in ("layout", "overview", "insights", "member", "incidents", "settings"):
            assert f"tracker_core/daemon/templates/{page}.html" in names
        assert {
            "tracker_core/daemon/static/style.css",
            "tracker_core/daemon/static/app.js",
        } <= names
