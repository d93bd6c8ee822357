"""The console start-up benchmark still runs end to end on a small team."""

from __future__ import annotations

from pathlib import Path

from tests.benches import load_bench


def test_small_start_bench_paints_the_overview_cold_and_ready(tmp_path: Path) -> None:
    result = load_bench("tui_start").run(members=20, days=10, rounds=1, workdir=tmp_path)
    assert result["events"] > 0
    assert result["minimal"] > 0 and result["ready"] > 0 and result["cold"] > 0
    assert result["cold"] >= result["cold_figures"] > 0  # badges and forecast follow the figures
    # The cold start needed more CPU than the ready one: it summed what the cache held.
    assert result["cpu_cold"] > result["cpu_ready"] > 0 and result["cold_alone"] > 0
