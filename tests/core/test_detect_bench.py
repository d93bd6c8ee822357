"""The detection benchmark still runs end to end on a small team."""

from __future__ import annotations

from pathlib import Path

from tests.benches import load_bench


def test_small_detection_bench_reads_every_event_and_detects(tmp_path: Path) -> None:
    result = load_bench("detect").run(members=30, days=20, per_day=3, rounds=1, workdir=tmp_path)
    assert result["events"] == result["rows"] > 0
    assert result["read"] > 0 and result["detect"] > 0
