"""The core's boundary, seen from a fresh interpreter: importing it loads no user interface."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import tracker_core

UI_MODULES = ("textual", "tracker_tui", "textual_plotext", "plotext")

PROBE = """
import importlib, json, pkgutil, sys
import tracker_core
names = [m.name for m in pkgutil.walk_packages(tracker_core.__path__, "tracker_core.")
         if ".migrations" not in m.name and not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"imported": names, "loaded": loaded}))
"""


def test_importing_every_core_module_loads_no_ui_toolkit() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected = {
        m.name
        for m in pkgutil.walk_packages(tracker_core.__path__, "tracker_core.")
        if ".migrations" not in m.name and not m.name.endswith("__main__")
    }
    # The probe really walked the whole core (a probe that imports nothing proves nothing).
    assert set(report["imported"]) == expected
    assert {
        "tracker_core.cli.main",
        "tracker_core.collector",
        "tracker_core.storage.db",
    } <= expected
    assert not set(report["loaded"]) & set(UI_MODULES), report["loaded"]
