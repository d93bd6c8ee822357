"""The alert-noise benchmark runs end to end on a small team and its figures make sense."""

from __future__ import annotations

import json

import pytest

from tests.benches import load_bench


def test_small_alert_noise_bench_meets_its_targets_and_beats_the_original(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = load_bench("alert_noise").main(["--users", "60", "--weeks", "6", "--json"])
    result = json.loads(capsys.readouterr().out)
    ours, original = result["ours"], result["original"]
    assert result["planted"] >= 10
    assert ours["missed"] == []
    assert ours["recall"] >= 0.95
    assert ours["false_alerts_per_100_members_per_week"] <= 1.0
    assert original["false_alerts_per_100_members_per_week"] > 3.0, "the original is noisy"
    assert original["recall"] < ours["recall"]
    assert code == 0
