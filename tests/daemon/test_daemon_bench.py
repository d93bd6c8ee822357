"""The daemon benchmark still runs end to end on a small team."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import load_bench


@pytest.mark.slow
def test_small_daemon_bench_measures_every_figure(tmp_path: Path) -> None:
    result = load_bench("daemon").run(members=10, days=9, requests=400, jobs=1, workdir=tmp_path)
    assert result["events"] > 0
    assert result["stats_rps"] > 0 and result["healthz_rps"] > 0
    assert result["throughput_errors"] == 0
    assert result["cron_status"] == 200
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert 0 < result["rss_final_mb"] <= result["rss_peak_mb"]
