"""Jobs every face of the tracker runs the same way: the command line, the TUI, the daemon."""

from __future__ import annotations

from sqlalchemy import Engine

from tracker_core.collector import CollectionSummary, Collector, Progress
from tracker_core.config import CollectorSettings, CursorSettings, DatabaseSettings, Settings
from tracker_core.cursor_api import ClientOptions, CursorClient
from tracker_core.errors import ConfigError
from tracker_core.storage import open_database
from tracker_core.storage.request_ledger import RequestLedger


def client_options(settings: Settings) -> ClientOptions:
    """Client options from the configuration; collecting without a key is a configuration error."""
    cursor = settings.cursor
    if cursor.admin_api_key is None or not cursor.admin_api_key.get_secret_value():
        raise ConfigError(
            "no Cursor Admin API key: set CURSOR_ADMIN_API_KEY or [cursor] admin_api_key "
            "(or try `cursor-tracker demo`, which needs none)"
        )
    analytics = cursor.analytics_api_key.get_secret_value() if cursor.analytics_api_key else None
    return ClientOptions(
        base_url=cursor.api_url,
        admin_api_key=cursor.admin_api_key.get_secret_value(),
        analytics_api_key=analytics or None,
        timeout_seconds=cursor.timeout_seconds,
        max_attempts=cursor.max_attempts,
        max_retry_seconds=cursor.max_retry_seconds,
        backoff_base_seconds=cursor.backoff_base_seconds,
        admin_requests_per_minute=cursor.admin_requests_per_minute,
        analytics_requests_per_minute=cursor.analytics_requests_per_minute,
    )


async def collect_once(
    settings: Settings, progress: Progress, *, engine: Engine | None = None
) -> CollectionSummary:
    """One incremental collection pass; ``progress`` hears about every stream and every wait.

    Into ``engine`` when given (the tracker's own), else into a database opened for the pass.
    Cancelling the coroutine stops the pass at its next wait or request: what was committed
    stays, the run is recorded as partial and the next pass continues from the marks.
    """
    options = client_options(settings)
    own = engine is None
    target = open_database(settings.database_url) if engine is None else engine
    try:
        # The ledger: the quota is shared with any other process collecting into this database.
        ledger = RequestLedger(target)
        async with CursorClient(options, on_wait=progress.waiting, ledger=ledger) as client:
            collector = Collector(target, client, settings.collector, progress=progress)
            return await collector.run()
    finally:
        if own:
            target.dispose()


def simulator_settings(
    api_url: str,
    api_key: str,
    database_url: str,
    *,
    backfill_days: int = 30,
    events_window_days: int = 30,
) -> Settings:
    """Settings to collect from a local simulator into ``database_url``, at full speed.

    The client's own rate ceilings exist to stay inside Cursor's limits; against a simulator
    serving without limits they would only make the demo and the tests wait. For the same
    reason every stream is read on every run: a whole read costs nothing there, and a change
    made to the simulated organisation shows at the next collection.
    """
    return Settings(
        cursor=CursorSettings.model_validate(
            {
                "admin_api_key": api_key,
                "api_url": api_url,
                "admin_requests_per_minute": 10_000,
                "analytics_requests_per_minute": 10_000,
            }
        ),
        database=DatabaseSettings(url=database_url),
        collector=CollectorSettings(
            backfill_days=backfill_days,
            events_window_days=events_window_days,
            snapshot_every_hours=0.0,
            spend_every_hours=0.0,
        ),
    )
