"""A fixed organisation, collected once per session, and an app factory on a copy of it.

Everything on screen is pinned: the scenario is generated with a fixed ``now``, the collector
and the detector run on fixed clocks, and the app gets the same fixed clock, so snapshots do
not depend on the day the tests run. (``collect_once`` would use the real clock; the collector
it wraps takes a clock, so the fixture drives it directly.)
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.collecting import collect_at
from tests.tui.helpers import COLLECTED_AT, FIXED_NOW, SIM_KEY
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.jobs.collect import simulator_settings
from tracker_core.jobs.detect import run_detection
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import open_database
from tracker_tui.app import TrackerApp


@pytest.fixture(scope="session")
def organisation_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collected, detected organisation; tests get copies, never this file."""
    database = tmp_path_factory.mktemp("tui-org") / "tracker.db"
    scenario = generate_scenario(users=24, days=35, seed=5, now=FIXED_NOW)
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=False) as url:
        settings = simulator_settings(url, SIM_KEY, f"sqlite:///{database}", backfill_days=40)
        asyncio.run(collect_at(settings, COLLECTED_AT))
    engine = open_database(settings.database_url)
    try:
        run_detection(engine, settings, clock=lambda: FIXED_NOW)
    finally:
        engine.dispose()
    return database


@pytest.fixture
def db_path(organisation_db: Path, tmp_path: Path) -> Path:
    """This test's own copy of the organisation (tests acknowledge, resolve, save settings)."""
    target = tmp_path / "tracker.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{organisation_db}{suffix}")
        if source.exists():
            shutil.copy(source, f"{target}{suffix}")
    return target


@pytest.fixture
def tui_settings(db_path: Path) -> Settings:
    """No API key: the app under test reads the copy and never reaches a network."""
    return Settings(database=DatabaseSettings(url=f"sqlite:///{db_path}"))


@pytest.fixture
def make_app(tui_settings: Settings) -> Iterator[Callable[[], TrackerApp]]:
    """Builds apps on the fixed clock, with auto-refresh far enough away not to fire."""
    apps: list[TrackerApp] = []

    def build() -> TrackerApp:
        app = TrackerApp(tui_settings, clock=lambda: FIXED_NOW, refresh_seconds=3600)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.tracker.close()
