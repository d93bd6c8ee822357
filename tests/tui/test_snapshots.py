"""SVG snapshots of every screen on the fixed organisation and clock, at 80x24 and 120x40.

Regenerate after an intended change with ``pytest tests/tui --snapshot-update`` and review the
SVGs; nothing on screen depends on the real time (the app runs on the fixed clock).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import settle
from tracker_tui.app import TrackerApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SCREENS = [
    pytest.param(["1"], id="overview"),
    pytest.param(["2"], id="insights"),
    pytest.param(["3"], id="members"),
    pytest.param(["3", "enter"], id="member"),
    pytest.param(["4"], id="incidents"),
    pytest.param(["5"], id="settings"),
]


def drive(keys: list[str]) -> Callable[[Pilot[None]], object]:
    """Press each key and wait for its loads, so the capture shows data, not placeholders."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("keys", SCREENS)
def test_screen(
    snap_compare: Callable[..., bool],
    make_app: Callable[[], TrackerApp],
    keys: list[str],
    size: tuple[int, int],
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=drive(keys))
