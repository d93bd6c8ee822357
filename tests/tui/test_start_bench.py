"""The console start-up benchmark still runs end to end on a small team."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "tui_start.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tui_start", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_small_start_bench_paints_the_overview_cold_and_ready(tmp_path: Path) -> None:
    result = load_bench().run(members=20, days=10, rounds=1, workdir=tmp_path)
    assert result["events"] > 0
    assert result["minimal"] > 0 and result["ready"] > 0 and result["cold"] > 0
