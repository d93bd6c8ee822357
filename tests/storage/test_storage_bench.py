"""The ingest benchmark still runs and both of its paths store the same events."""

from __future__ import annotations

from pathlib import Path

from tests.benches import load_bench


def test_small_ingest_run_stores_every_event_both_ways(tmp_path: Path) -> None:
    bench = load_bench("ingest")
    result = bench.run(3_000, 1_000, tmp_path)
    assert result.storage_new == result.plain_new == 3_000
    assert result.storage_seconds > 0 and result.plain_seconds > 0


def test_generator_is_deterministic() -> None:
    bench = load_bench("ingest")
    first = next(bench.EventGenerator(50).batches(50))
    again = next(bench.EventGenerator(50).batches(50))
    assert first == again
    assert len({e.id for e in first}) == 50
