"""The ingest benchmark still runs and both of its paths store the same events."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_small_ingest_run_stores_every_event_both_ways(tmp_path: Path) -> None:
    bench = load_bench()
    result = bench.run(3_000, 1_000, tmp_path)
    assert result.storage_new == result.plain_new == 3_000
    assert result.storage_seconds > 0 and result.plain_seconds > 0


def test_generator_is_deterministic() -> None:
    bench = load_bench()
    first = next(bench.EventGenerator(50).batches(50))
    again = next(bench.EventGenerator(50).batches(50))
    assert first == again
    assert len({e.id for e in first}) == 50
