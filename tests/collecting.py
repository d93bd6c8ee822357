"""One collection pass at a fixed instant: the console's and the dashboard's test databases are
filled the same way, from the simulator, so their "collected 12 minutes ago" is exact."""

from __future__ import annotations

from datetime import datetime

from tracker_core.collector import Collector, SilentProgress
from tracker_core.config import Settings
from tracker_core.cursor_api import CursorClient
from tracker_core.jobs.collect import client_options
from tracker_core.storage import open_database


async def collect_at(settings: Settings, at: datetime) -> None:
    engine = open_database(settings.database_url)
    try:
        async with CursorClient(client_options(settings)) as client:
            collector = Collector(
                engine, client, settings.collector, clock=lambda: at, progress=SilentProgress()
            )
            summary = await collector.run()
        assert summary.ok, [s.error for s in summary.failed]
    finally:
        engine.dispose()
