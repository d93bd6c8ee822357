"""The detection benchmark still runs end to end on a small team."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "detect.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_detect", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_small_detection_bench_reads_every_event_and_detects(tmp_path: Path) -> None:
    result = load_bench().run(members=30, days=20, per_day=3, rounds=1, workdir=tmp_path)
    assert result["events"] == result["rows"] > 0
    assert result["read"] > 0 and result["detect"] > 0
