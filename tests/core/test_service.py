"""The seam every face calls: writes that hold for the command line, the console and the daemon.

The faces once wrote these compositions each their own way (the console stored a setting as
typed, the command line as parsed; only one of them refused a batch with a bad value in it), so
the properties are proven here once, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tracker_core.config import DatabaseSettings, Settings
from tracker_core.detection.settings import SettingError
from tracker_core.incidents import IncidentError
from tracker_core.service import Tracker, open_tracker
from tracker_core.storage import repo

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def tracker(db_url: str) -> Iterator[Tracker]:
    settings = Settings(database=DatabaseSettings(url=db_url))
    with open_tracker(settings, clock=lambda: NOW) as opened:
        yield opened


def stored(tracker: Tracker) -> dict[str, str]:
    with tracker.engine.connect() as conn:
        return repo.get_detection_settings(conn)


def test_a_batch_with_one_bad_value_stores_nothing(tracker: Tracker) -> None:
    tracker.update_settings({"zscore_multiplier": "3"})
    before = stored(tracker)

    with pytest.raises(SettingError) as refused:
        tracker.update_settings({"max_spend_per_cycle": "250", "zscore_window_days": "2.5"})

    assert refused.value.key == "zscore_window_days"
    assert "zscore_window_days" in str(refused.value)
    assert stored(tracker) == before
    assert tracker.detection_settings().settings.max_spend_per_cycle == 0


def test_a_value_reads_back_as_typed_whatever_its_spelling(tracker: Tracker) -> None:
    tracker.update_settings({"max_spend_per_cycle": " $500 ", "zscore_window_days": "14"})
    tracker.update_settings({"spike_multiplier": 6})  # a JSON number, as the daemon sends

    shown = tracker.detection_settings().to_json()
    assert shown["max_spend_per_cycle"] == 500
    assert shown["zscore_window_days"] == 14
    assert shown["spike_multiplier"] == 6
    # One text per value, whichever face stored it: a person's "$500" and a script's 500.0
    # are the same row.
    first = stored(tracker)["max_spend_per_cycle"]
    tracker.update_settings({"max_spend_per_cycle": 500.0})
    assert stored(tracker)["max_spend_per_cycle"] == first


def test_an_unknown_incident_is_a_plain_error(tracker: Tracker) -> None:
    with pytest.raises(IncidentError, match="#424242"):
        tracker.acknowledge(424242)
    with pytest.raises(IncidentError, match="#424242"):
        tracker.incident(424242)
