"""What the command line prints: counts agree with their nouns, summaries say what they mean."""

from __future__ import annotations

import io

import pytest

from tracker_core.cli.render import PlainProgress
from tracker_core.text import plural


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "window", "1 window"),
        (0, "window", "0 windows"),
        (2, "day", "2 days"),
        (1, "anomaly", "1 anomaly"),
        (3, "anomaly", "3 anomalies"),
        (1250, "event", "1,250 events"),
    ],
)
def test_a_count_agrees_with_its_noun(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected


def test_progress_names_one_window_in_the_singular() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.stream_started("usage_events", 1)
    progress.stream_started("daily_usage", 3)
    assert out.getvalue().splitlines() == [
        "collecting usage events (1 window)",
        "collecting daily usage (3 windows)",
    ]
