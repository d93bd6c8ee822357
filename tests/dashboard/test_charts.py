"""The dashboard's charts: pygal's SVG with nothing a strict CSP blocks, text kept as text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker_core.daemon import charts


def test_a_chart_carries_no_script_no_style_and_escapes_its_labels() -> None:
    svg = charts.horizontal_bars(
        "Top spenders", ("<script>alert(1)</script>", "Ann & Bo"), (12.0, 3.0)
    )
    assert "<script" not in svg and "<style" not in svg and "style=" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "Ann &amp; Bo" in svg
    assert 'role="img"' in svg and 'aria-label="Top spenders"' in svg


def test_the_stylesheet_holds_pygals_rules_for_every_series_colour() -> None:
    css = charts.chart_css()
    assert "#chart-" not in css
    for index in range(charts.SERIES_COLOURS):
        assert f".pygal-chart .color-{index}" in css


@given(st.floats(min_value=0.01, max_value=1e9, allow_nan=False))
def test_round_ticks_cover_the_top_in_a_few_round_steps(top: float) -> None:
    ticks = charts.round_ticks(top)
    assert ticks[0] == 0 and ticks[-1] >= top * (1 - 1e-9)
    assert 2 <= len(ticks) <= 5
    # Every step is 1, 2 or 5 times a power of ten.
    assert f"{ticks[1]:.3e}"[0] in "125", (top, ticks)


@pytest.mark.parametrize("top", [0.0, -5.0])
def test_round_ticks_of_nothing_still_draw_an_axis(top: float) -> None:
    assert charts.round_ticks(top) == (0.0, 1.0)
