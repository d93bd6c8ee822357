"""One incremental collection pass from the Cursor API into the database.

Each stream (members, spend, groups, daily usage, usage events, analytics) is fetched and stored
on its own, so one failing does not stop the others. The windowed streams keep a high-water
mark: the end of the last date window whose every page has been committed. The mark is written
in the same transaction as the window's last batch, so a process killed at any moment leaves a
database that the next run simply continues from. Because Cursor delivers events late, runs
also re-read part of the past before the mark, following a plan of tiers (see
:mod:`tracker_core.refetch`): short stretches often, long ones rarely. A long re-fetch is
committed stretch by stretch with its progress, so one that stops half-way is resumed, not
repeated; storage upserts make re-reading free of duplicates. Events found late are counted
and their delay measured, and the plan's longest lookback follows the worst delay seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from tracker_core.clock import Clock, utc_now
from tracker_core.config import CollectorSettings
from tracker_core.cursor_api import ApiWait, CursorClient
from tracker_core.cursor_api.schemas import Correction
from tracker_core.cycle import current_cycle
from tracker_core.domain import ANALYTICS_METRICS, DailyUsage, Page, UsageEvent, day_start_ms
from tracker_core.errors import ApiAuthError, ApiPlanError, TrackerError
from tracker_core.refetch import (
    HOUR_MS,
    Fetch,
    Pending,
    PlanState,
    Tier,
    chunks,
    effective_tiers,
    finished,
    lag_floor,
    plan_fetch,
    seen_before,
    snapshot_due,
)
from tracker_core.storage import begin_write, database_error, lease, repo, rollups

T = TypeVar("T")

LEASE_NAME = "collector"
LEASE_TTL_SECONDS = 120.0
"""A lease not renewed for this long is considered abandoned (its holder died elsewhere)."""

STREAMS: tuple[str, ...] = (
    "members",
    "spend",
    "groups",
    "daily_usage",
    "usage_events",
    "analytics",
)
"""Collection order: members first so every later row has a known member."""

STREAM_LABELS: dict[str, str] = {
    "members": "members",
    "spend": "spend",
    "groups": "billing groups",
    "daily_usage": "daily usage",
    "usage_events": "usage events",
    "analytics": "analytics",
}
"""How every face names a stream to a person (the identifiers stay in JSON and the database)."""


def stream_label(name: str) -> str:
    return STREAM_LABELS.get(name, name)


MIN_STRETCH_MS = 15 * 60_000
"""The shortest stretch of the past worth a request of its own; less is left to the next run."""

CORRECTIONS_KEPT = 20
"""Corrections a stream keeps to show; the rest are only counted (a broken field may touch
every record of a backfill, and one example of each kind says what happened)."""

STOPPED = "stopped before it finished (the next collection continues from here)"
"""The error of a stream whose collection was cancelled (the console quitting mid-run)."""


class Progress(Protocol):
    """Receives progress from a collection pass; the CLI draws bars or prints lines."""

    def stream_started(self, stream: str, total: int | None) -> None: ...

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None: ...

    def stream_finished(self, result: StreamResult) -> None: ...

    def waiting(self, wait: ApiWait) -> None:
        """The next request waits (rate limit, or a retry's back-off); told as the wait begins."""


class SilentProgress:
    """Progress that goes nowhere (library use, tests)."""

    def stream_started(self, stream: str, total: int | None) -> None:
        return None

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        return None

    def stream_finished(self, result: StreamResult) -> None:
        return None

    def waiting(self, wait: ApiWait) -> None:
        return None


@dataclass
class StreamResult:
    """What one stream fetched and stored, or why it failed."""

    name: str
    fetched: int = 0
    new: int = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    corrected: int = 0
    """Values the API sent outside their plausible bounds, stored clamped or left out."""
    corrections: list[Correction] = field(default_factory=list)
    """The first :data:`CORRECTIONS_KEPT` of them."""
    ended_run: bool = False
    """The API refused the key here (401/403), so no later stream was attempted."""
    late: int = 0
    """Events found that earlier reads of their time had not shown (delivered late)."""
    max_lag_ms: int | None = None
    """The longest of those delays, at least (see :func:`tracker_core.refetch.lag_floor`)."""
    refetched_from: datetime | None = None
    tiers: tuple[str, ...] = ()
    """The re-fetch tiers this run satisfied (``"0h"``: the every-run one)."""
    resumed: bool = False
    complete_up_to: datetime | None = None
    deferred: str | None = None
    """Why part of a re-fetch was left to the next run (the run's request budget was spent)."""
    skipped: str | None = None
    """Why this stream was not read this run (read whole recently, nothing says it changed)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "fetched": self.fetched,
            "new": self.new,
            "error": self.error,
            "corrected": self.corrected,
        }
        if self.skipped is not None:
            answer["skipped"] = self.skipped
        if self.refetched_from is not None:
            answer["refetch"] = {
                "from": self.refetched_from.isoformat(),
                "tiers": list(self.tiers),
                "resumed": self.resumed,
                "deferred": self.deferred,
                "late": self.late,
                "max_lag_seconds": None if self.max_lag_ms is None else self.max_lag_ms // 1000,
                "complete_up_to": (
                    None if self.complete_up_to is None else self.complete_up_to.isoformat()
                ),
            }
        return answer

    def note(self, corrections: Sequence[Correction]) -> None:
        self.corrected += len(corrections)
        room = CORRECTIONS_KEPT - len(self.corrections)
        if room > 0:
            self.corrections.extend(corrections[:room])


@dataclass
class CollectionSummary:
    """The outcome of one pass, as printed by ``collect`` and returned by ``--json``."""

    run_id: int
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    streams: list[StreamResult] = field(default_factory=list)
    stopped: str | None = None
    """Why the run ended before its last stream: the API refused the key (401 or 403)."""

    def stream(self, name: str) -> StreamResult:
        for result in self.streams:
            if result.name == name:
                return result
        return StreamResult(name)

    @property
    def failed(self) -> list[StreamResult]:
        return [result for result in self.streams if not result.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def corrected(self) -> int:
        return sum(result.corrected for result in self.streams)

    def failure_message(self) -> str | None:
        """The one line that says why the run did not succeed, or None when it did."""
        if self.stopped is not None:
            return f"{self.stopped}; collection stopped, as every other request would be refused"
        if not self.failed:
            return None
        names = ", ".join(stream_label(result.name) for result in self.failed)
        return f"collection incomplete: {names} failed: {self.failed[0].error}"

    def to_json(self) -> dict[str, Any]:
        events = self.stream("usage_events")
        return {
            "ok": self.ok,
            "stopped": self.stopped,
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 3),
            "members": self.stream("members").fetched,
            "daily_usage_rows": self.stream("daily_usage").fetched,
            "spend_rows": self.stream("spend").fetched,
            "usage_events_fetched": events.fetched,
            "usage_events_new": events.new,
            "billing_groups": self.stream("groups").fetched,
            "analytics_values": self.stream("analytics").fetched,
            "streams": {result.name: result.to_json() for result in self.streams},
            "errors": [f"{result.name}: {result.error}" for result in self.failed],
            "corrected": self.corrected,
            "corrections": [
                {"stream": result.name, **correction.to_json()}
                for result in self.streams
                for correction in result.corrections
            ],
        }


class _Batcher:
    """Buffers rows of a windowed stream and commits them with the window's high-water mark.

    Rows are committed every ``batch_size`` rows and at the end of each window; the mark moves
    to a window's end only in the transaction holding that window's last rows.
    """

    def __init__(
        self,
        engine: Engine,
        stream: str,
        batch_size: int,
        write: Callable[[Connection, Sequence[Any]], int],
        on_commit: Callable[[], Awaitable[None]],
        clock: Clock,
        set_mark: Callable[[Connection, datetime], None] | None = None,
    ) -> None:
        self.set_mark = set_mark
        self.engine = engine
        self.stream = stream
        self.batch_size = batch_size
        self.write = write
        self.on_commit = on_commit
        self.clock = clock
        self.buffer: list[Any] = []
        self.new = 0

    async def add(self, page: Page[Any]) -> None:
        self.buffer.extend(page.items)
        if page.last_in_window:
            await self.flush(mark=page.window_end)
        elif len(self.buffer) >= self.batch_size:
            await self.flush(mark=None)

    async def flush(self, mark: datetime | None) -> None:
        rows, self.buffer = self.buffer, []
        with begin_write(self.engine) as conn:
            for start in range(0, len(rows), self.batch_size):
                self.new += self.write(conn, rows[start : start + self.batch_size])
            if mark is not None and self.set_mark is not None:
                self.set_mark(conn, mark)
            elif mark is not None:
                repo.set_watermark(conn, self.stream, _ms(mark), at=self.clock())
        await self.on_commit()


def _recent_lookback(tiers: Sequence[Tier]) -> int:
    """How far before the mark every run reads (the shortest lookback of the plan)."""
    every_run = [tier.lookback_ms for tier in tiers if tier.every_hours <= 0]
    return min(every_run or [tier.lookback_ms for tier in tiers] or [0])


def _max_or_none(a: int | None, b: int | None) -> int | None:
    values = [value for value in (a, b) if value is not None]
    return max(values) if values else None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _age(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.0f} h"


def _day_floor(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def window_count(start: datetime, end: datetime, window_days: int) -> int:
    """How many date windows a range splits into (for progress totals)."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 1
    return max(1, -(-int(span) // (window_days * 86400)))


class Collector:
    """Runs one pass; build it with an engine, an open client and the collector settings."""

    def __init__(
        self,
        engine: Engine,
        client: CursorClient,
        settings: CollectorSettings,
        *,
        clock: Clock = utc_now,
        progress: Progress | None = None,
        max_window_days: int = 30,
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.clock = clock
        self.progress: Progress = progress or SilentProgress()
        self.max_window_days = max_window_days
        self.holder = lease.make_holder()
        self._last_renewal = 0.0
        self.requests = 0
        """Admin API requests this run has made (pages and single calls), for the budget."""

    async def run(self, streams: Sequence[str] = STREAMS) -> CollectionSummary:
        """Collect the given streams under the collector lease; never raises for one stream."""
        lease.acquire(
            self.engine,
            LEASE_NAME,
            self.holder,
            ttl_seconds=LEASE_TTL_SECONDS,
            wait_seconds=self.settings.lease_wait_seconds,
        )
        try:
            return await self._run(streams)
        finally:
            with contextlib.suppress(TrackerError):
                lease.release(self.engine, LEASE_NAME, self.holder)

    async def _run(self, streams: Sequence[str]) -> CollectionSummary:
        started_at = self.clock()
        started = time.monotonic()
        with begin_write(self.engine) as conn:
            repo.close_abandoned_runs(conn, at=started_at)
            run_id = repo.start_run(conn, started_at=started_at)
        try:
            return await self._run_streams(run_id, streams, started_at, started)
        except asyncio.CancelledError:
            raise  # closed as stopped by ``_run_streams``
        except BaseException as exc:
            self._abandon(run_id, exc)
            raise

    def _abandon(self, run_id: int, exc: BaseException) -> None:
        """Mark a run that could not finish as failed, if the database still lets us."""
        if isinstance(exc, SQLAlchemyError):
            reason = str(database_error(exc, self.engine.url))
        else:
            reason = str(exc) or type(exc).__name__
        with contextlib.suppress(SQLAlchemyError), begin_write(self.engine) as conn:
            repo.finish_run(conn, run_id, finished_at=self.clock(), status="failed", error=reason)

    async def _run_streams(
        self, run_id: int, streams: Sequence[str], started_at: datetime, started: float
    ) -> CollectionSummary:
        results: list[StreamResult] = []
        stopped: str | None = None
        try:
            for name in streams:
                result = await self._run_stream(run_id, name, started_at)
                results.append(result)
                if result.ended_run:
                    stopped = result.error
                    break
        except asyncio.CancelledError:
            # Stopped (the console quitting): every await is between transactions, so what is
            # committed is whole and the marks say where the next run picks up. The run is
            # closed here rather than left "running" forever; the lease goes in ``run``.
            self._close_run(run_id, results, cancelled=True)
            raise
        return CollectionSummary(
            run_id=run_id,
            started_at=started_at,
            finished_at=self._close_run(run_id, results),
            duration_seconds=time.monotonic() - started,
            streams=results,
            stopped=stopped,
        )

    async def _run_stream(self, run_id: int, name: str, started_at: datetime) -> StreamResult:
        """Collect one stream and record its outcome, also when it was cancelled half-way."""
        result = StreamResult(name, started_at=self.clock())
        cancelled = False
        self.progress.stream_started(name, None)
        try:
            await getattr(self, f"_collect_{name}")(result)
        except (ApiAuthError, ApiPlanError) as exc:
            # Every later request would be refused the same way: asking again would only
            # repeat the message once per stream (and once per analytics metric).
            result.error = str(exc)
            result.ended_run = True
        except TrackerError as exc:
            result.error = str(exc)
        except SQLAlchemyError as exc:
            # This stream's storage failed; the next streams may still store theirs.
            result.error = str(database_error(exc, self.engine.url))
        except asyncio.CancelledError:
            result.error = STOPPED
            cancelled = True
        result.note(self.client.take_corrections())
        result.finished_at = self.clock()
        if not cancelled:
            self.progress.stream_finished(result)
        with begin_write(self.engine) as conn:
            repo.record_stream(
                conn,
                run_id,
                name,
                started_at=result.started_at or started_at,
                finished_at=result.finished_at,
                fetched=result.fetched,
                new=result.new,
                error=result.error,
            )
        if cancelled:
            raise asyncio.CancelledError
        return result

    def _close_run(
        self, run_id: int, results: Sequence[StreamResult], *, cancelled: bool = False
    ) -> datetime:
        """Record the run's outcome; a cancelled run is partial (it stored what it committed)."""
        finished_at = self.clock()
        failures = [result for result in results if not result.ok]
        errors = [f"{stream_label(r.name)}: {r.error}" for r in failures]
        if cancelled:
            status = "partial" if results else "failed"
            errors.append(STOPPED)
        else:
            everything_failed = len(failures) == len(results)
            status = "ok" if not failures else ("failed" if everything_failed else "partial")
        with begin_write(self.engine) as conn:
            error = "; ".join(errors) or None
            repo.finish_run(conn, run_id, finished_at=finished_at, status=status, error=error)
        return finished_at

    async def _renew_lease(self) -> None:
        """Keep the lease alive on long runs; cheap enough to call after every commit."""
        now = time.monotonic()
        if now - self._last_renewal < LEASE_TTL_SECONDS / 4:
            return
        self._last_renewal = now
        lease.renew(self.engine, LEASE_NAME, self.holder, LEASE_TTL_SECONDS, self.clock())

    # --- snapshot streams -------------------------------------------------------------------

    def _skip(
        self, result: StreamResult, every_hours: float, changed_ms: int | None = None
    ) -> bool:
        """Whether ``result``'s stream, read whole each time, is left out of this run.

        Its mark is the time of its last complete read; a skipped stream says why in the
        summary, so a figure that did not move is not mistaken for one that was read.
        """
        now_ms = _ms(self.clock())
        with self.engine.connect() as conn:
            last = repo.get_watermark(conn, result.name)
        if snapshot_due(last, every_hours, now_ms, changed_ms):
            return False
        assert last is not None  # a stream never read is always due
        result.skipped = f"not due: read {_age(now_ms - last)} ago, read every {every_hours:g} h"
        return True

    def _read_now(self, conn: Connection, stream: str) -> None:
        """Record a complete read of a whole-read stream, with the rows it stored."""
        repo.set_watermark(conn, stream, _ms(self.clock()), at=self.clock())

    async def _collect_members(self, result: StreamResult) -> None:
        if self._skip(result, self.settings.snapshot_every_hours):
            return
        members = await self.client.members()
        self.requests += 1
        result.fetched = len(members)
        now = self.clock()
        with begin_write(self.engine) as conn:
            result.new = repo.upsert_members(conn, members, seen_at=now)
            # An empty listing is more likely an API hiccup than a team of nobody: flagging
            # everyone as removed on its word would be worse than waiting for the next run.
            if members:
                repo.mark_vanished_members(conn, {m.email for m in members}, at=now)
                self._read_now(conn, "members")
        self.progress.stream_advanced("members", steps=1, fetched=result.fetched)

    async def _collect_spend(self, result: StreamResult) -> None:
        with self.engine.connect() as conn:
            cycle = current_cycle(conn, self.clock().date())
        next_cycle = datetime.combine(cycle.end + timedelta(days=1), datetime.min.time(), UTC)
        if self._skip(result, self.settings.spend_every_hours, _ms(next_cycle)):
            return
        async for page in self.client.spend_pages():
            self.requests += 1
            with begin_write(self.engine) as conn:
                result.new += repo.upsert_member_spend(conn, page.items, collected_at=self.clock())
                if page.last_in_window:
                    self._read_now(conn, "spend")
            result.fetched += len(page.items)
            self.progress.stream_advanced("spend", steps=1, fetched=result.fetched)

    async def _collect_groups(self, result: StreamResult) -> None:
        if self._skip(result, self.settings.snapshot_every_hours):
            return
        snapshot = await self.client.groups()
        self.requests += 1
        with begin_write(self.engine) as conn:
            result.new = repo.replace_groups(conn, snapshot, collected_at=self.clock())
            self._read_now(conn, "groups")
        result.fetched = len(snapshot.groups)
        self.progress.stream_advanced("groups", steps=1, fetched=result.fetched)

    # --- windowed streams -------------------------------------------------------------------

    def tiers(self) -> list[Tier]:
        """The configured plan; none configured is today's fixed overlap on every run."""
        configured = [Tier(every, lookback) for every, lookback in self.settings.refetch_tiers]
        return configured or [Tier(0, self.settings.overlap_hours)]

    def _plan(self, stream: str) -> tuple[Fetch, PlanState, list[Tier], int | None]:
        """What ``stream`` reads this run, with the state and tiers it was planned from."""
        now = self.clock()
        with self.engine.connect() as conn:
            mark = repo.get_watermark(conn, stream)
            state = repo.get_plan(conn, stream)
        tiers = effective_tiers(self.tiers(), state.max_lag_ms)
        backfill = now - timedelta(days=self.settings.backfill_days)
        fetch = plan_fetch(tiers, state, mark, _ms(now), _ms(backfill))
        return fetch, state, tiers, mark

    def _finish_plan(
        self,
        stream: str,
        result: StreamResult,
        fetch: Fetch,
        state: PlanState,
        tiers: Sequence[Tier],
    ) -> None:
        """Record that ``fetch`` completed: its tiers ran and completeness moved on."""
        lag = state.max_lag_ms
        if result.max_lag_ms is not None:
            lag = max(lag or 0, result.max_lag_ms)
        done = finished(
            PlanState(state.tier_runs, None, state.complete_up_to_ms, lag), fetch, tiers
        )
        with begin_write(self.engine) as conn:
            repo.save_plan(conn, stream, done, at=self.clock())
        result.refetched_from = _from_ms(fetch.start_ms)
        result.tiers = fetch.tiers
        result.resumed = fetch.resumed
        if done.complete_up_to_ms is not None:
            result.complete_up_to = _from_ms(done.complete_up_to_ms)

    async def _drain(
        self,
        result: StreamResult,
        pages: AsyncIterator[Page[Any]],
        batcher: _Batcher,
        *,
        stop_at: int | None = None,
    ) -> int | None:
        """Read and store every page; None when done.

        With ``stop_at`` (the run's request budget) the window is left as soon as its first
        page shows that the rest would pass the budget (or the budget is spent), and the
        number of events it holds is returned, so the caller can ask for a shorter stretch.
        What was read is stored either way; the window's mark does not move.
        """
        held: int | None = None
        async for page in pages:
            self.requests += 1
            result.fetched += len(page.items)
            result.note(self.client.take_corrections())
            await batcher.add(page)
            self.progress.stream_advanced(
                result.name, steps=1 if page.last_in_window else 0, fetched=result.fetched
            )
            if stop_at is not None and not page.last_in_window:
                number, total = page.extra.get("page"), page.extra.get("total_pages")
                rest = total - number if isinstance(number, int) and isinstance(total, int) else 1
                if self.requests + rest > stop_at:
                    count = page.extra.get("total_count")
                    held = int(count) if isinstance(count, int) else len(page.items) * (rest + 1)
                    break
        if held is not None and isinstance(pages, AsyncGenerator):
            await pages.aclose()
        if batcher.buffer:
            await batcher.flush(mark=None)
        result.new = batcher.new
        return held

    async def _collect_daily_usage(self, result: StreamResult) -> None:
        # A request costs the same for one day or thirty (pages are members, not days), so
        # the plan only decides how far back rows are refreshed; nothing to resume.
        # The mark is the end of the last read: the time it was made.
        if self._skip(result, self.settings.snapshot_every_hours):
            return
        fetch, state, tiers, _ = self._plan("daily_usage")
        start, end = _day_floor(_from_ms(fetch.start_ms)), _from_ms(fetch.end_ms)
        self.progress.stream_started("daily_usage", window_count(start, end, self.max_window_days))

        def write(conn: Connection, rows: Sequence[DailyUsage]) -> int:
            return repo.upsert_daily_usage(conn, rows, collected_at=self.clock())

        batcher = _Batcher(
            self.engine,
            "daily_usage",
            self.settings.batch_size,
            write,
            self._renew_lease,
            self.clock,
        )
        await self._drain(result, self.client.daily_usage_pages(start, end), batcher)
        self._finish_plan("daily_usage", result, fetch, state, tiers)

    async def _collect_usage_events(self, result: StreamResult) -> None:
        fetch, state, tiers, mark = self._plan("usage_events")
        window_days = self.settings.events_window_days
        # A backfill goes in the configured windows; a re-fetch in shorter stretches, each
        # committed with the re-fetch's progress so that a stop loses at most one stretch.
        stretch = int(
            (window_days * 24 if mark is None else self.settings.refetch_chunk_hours) * HOUR_MS
        )
        # The recent part first, so new events are never kept waiting behind a long re-fetch
        # of the past; then the past, oldest first, as far as this run's budget allows.
        recent_from = fetch.start_ms
        if mark is not None:
            recent_from = max(fetch.start_ms, mark - _recent_lookback(tiers))
        recent = chunks(recent_from, fetch.end_ms, stretch)
        self.progress.stream_started("usage_events", len(recent) + 1)
        seen = seen_before(tiers, state, mark)
        done = fetch.start_ms if recent_from > fetch.start_ms else fetch.end_ms
        in_past = False

        emails: set[str] = set()

        def write(conn: Connection, rows: Sequence[UsageEvent]) -> int:
            if mark is not None:
                self._note_late(conn, result, rows, mark, seen)
            emails.update(event.user_email for event in rows)
            return repo.insert_usage_events(conn, rows)

        high = mark or 0

        def set_mark(conn: Connection, end: datetime) -> None:
            nonlocal done, high
            # The mark only moves forward, past what this run's recent part already reached
            # too: a stretch of the past ending is no news about now.
            high = max(high, _ms(end))
            repo.set_watermark(conn, "usage_events", high, at=self.clock())
            if in_past:
                done = _ms(end)
            progress = Pending(fetch.start_ms, done, fetch.started_ms, fetch.tiers)
            lag = _max_or_none(state.max_lag_ms, result.max_lag_ms)
            pending = PlanState(state.tier_runs, progress, state.complete_up_to_ms, lag)
            repo.save_plan(conn, "usage_events", pending, at=self.clock())

        batcher = _Batcher(
            self.engine,
            "usage_events",
            self.settings.batch_size,
            write,
            self._renew_lease,
            self.clock,
            set_mark,
        )

        async def read(start: int, end: int, stop_at: int | None = None) -> int | None:
            pages = self.client.usage_event_pages(
                _from_ms(start), _from_ms(end), window_days=window_days
            )
            return await self._drain(result, pages, batcher, stop_at=stop_at)

        try:
            for piece_start, piece_end in recent:
                await read(piece_start, piece_end)
            in_past = True
            stretch = self._past_stretch(stretch, result.fetched, fetch.end_ms - recent_from)
            budget = self._budget()
            cursor = fetch.start_ms
            while cursor < recent_from:
                piece_end = min(cursor + stretch, recent_from)
                held = None
                if budget is None or self.requests < budget:
                    held = await read(cursor, piece_end, budget)
                    if held is None:
                        cursor = piece_end
                        continue
                # The stretch holds more pages than the budget has left: try the part of it
                # that fits (its first page said how many events it holds), or stop here.
                assert budget is not None
                left = budget - self.requests
                per_ms = (held or 1) / max(1, piece_end - cursor)
                fitting = int(max(0, left - 1) * self.client.options.events_page_size / per_ms)
                if left < 2 or fitting < MIN_STRETCH_MS:
                    result.deferred = (
                        f"re-reading {_from_ms(cursor):%Y-%m-%d %H:%M} to "
                        f"{_from_ms(recent_from):%Y-%m-%d %H:%M} UTC deferred to the next run: "
                        f"this run used its budget of {budget} requests "
                        f"({self.settings.max_run_minutes:g} minutes of the rate limit)"
                    )
                    return
                stretch = fitting
            self._finish_plan("usage_events", result, fetch, state, tiers)
        finally:
            self._members_changed(emails)
            # Sum the days this pass changed (also after a failure: what was committed
            # counts), so the readers that follow find them summed.
            rollups.try_refresh(self.engine)

    def _members_changed(self, emails: set[str]) -> None:
        """Events that name someone the members listing lacks make the next run read it."""
        if not emails:
            return
        with begin_write(self.engine) as conn:
            if emails - repo.member_emails(conn):
                repo.set_watermark(conn, "members", 0, at=self.clock())

    def _budget(self) -> int | None:
        """Requests one run may make before it defers the rest of a re-fetch (None: no cap)."""
        per_minute = self.client.options.admin_requests_per_minute
        if per_minute is None:
            return None
        return max(1, int(self.settings.max_run_minutes * per_minute))

    def _past_stretch(self, stretch: int, events: int, span_ms: int) -> int:
        """Stretches of the past small enough that one costs a tenth of the budget at the rate
        the recent part showed, so a deferral wastes little; never longer than configured."""
        budget = self._budget()
        if budget is None or events <= 0 or span_ms <= 0:
            return stretch
        pages = max(1, budget // 10)
        per_ms = events / span_ms
        fitting = int(pages * self.client.options.events_page_size / per_ms)
        return max(HOUR_MS, min(stretch, fitting))

    def _note_late(
        self,
        conn: Connection,
        result: StreamResult,
        rows: Sequence[UsageEvent],
        mark: int,
        seen: Sequence[tuple[int, int]],
    ) -> None:
        """Count the events before the mark that are new: Cursor delivered them late."""
        older = [event for event in rows if event.timestamp_ms < mark]
        known = repo.known_event_ids(conn, {event.id for event in older})
        fresh = {event.id: event for event in older if event.id not in known}
        for event in fresh.values():
            result.late += 1
            lag = lag_floor(event.timestamp_ms, seen)
            result.max_lag_ms = max(result.max_lag_ms or 0, lag)

    async def _collect_analytics(self, result: StreamResult) -> None:
        """Each team metric is one small request; a metric failing is reported, not fatal."""
        if not self.settings.analytics:
            return
        self.progress.stream_started("analytics", len(ANALYTICS_METRICS))
        today = self.clock().date()
        errors: list[str] = []
        for metric in ANALYTICS_METRICS:
            stream = f"analytics:{metric}"
            with self.engine.connect() as conn:
                mark = repo.get_watermark(conn, stream)
            if mark is None:
                first = today - timedelta(days=min(self.settings.backfill_days, 30) - 1)
            else:
                overlap_days = max(1, int(self.settings.overlap_hours // 24))
                first = min(_from_ms(mark).date(), today) - timedelta(days=overlap_days)
            try:
                values = await self.client.analytics(metric, first, today)
            except (ApiAuthError, ApiPlanError):
                raise
            except TrackerError as exc:
                errors.append(f"{metric}: {exc}")
                continue
            with begin_write(self.engine) as conn:
                result.new += repo.upsert_analytics(conn, values)
                repo.set_watermark(conn, stream, day_start_ms(today), at=self.clock())
            result.fetched += len(values)
            self.progress.stream_advanced("analytics", steps=1, fetched=result.fetched)
        if errors:
            result.error = "; ".join(errors)


__all__ = [
    "STREAMS",
    "STREAM_LABELS",
    "CollectionSummary",
    "Collector",
    "Progress",
    "SilentProgress",
    "StreamResult",
    "stream_label",
    "window_count",
]
