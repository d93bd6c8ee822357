"""The forecast benchmark runs end to end on a small team, and its figures make sense.

The target itself (team error at most half the straight line's) is the full-size run's to
show (``python bench/forecast.py``): on 40 members and one cycle a single planted spike moves
the team's figure, so this test asks only that the forecast beats the straight line.
"""

from __future__ import annotations

import json

import pytest

from tests.benches import load_bench


def test_small_forecast_bench_replays_every_day_and_beats_the_straight_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_bench("forecast").main(["--users", "40", "--seeds", "1", "--cycles", "1", "--json"])
    result = json.loads(capsys.readouterr().out)
    for part in ("realistic", "ramp"):
        days = result[part]["by_day"]
        assert [row["day"] for row in days] == list(range(1, 31))  # November, day by day
        assert all(0 <= row["team"] < 1 and 0 <= row["members"] < 1 for row in days)
        # The straight line knows little on day 1: half a day of spend, times 60.
        assert days[0]["team_line"] > 5 * days[0]["team"]
    realistic = result["realistic"]
    assert realistic["team"] < min(realistic["team_line"], 0.10)
