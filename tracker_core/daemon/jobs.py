"""The daemon's one job (collect, then detect and alert: what ``cursor-tracker cron`` does),
run at most once at a time, here and across every instance sharing the database.

Two guards, because each covers what the other cannot: an asyncio lock answers a second
request on this daemon at once (409) without touching the database, and a lease row in the
database (:mod:`tracker_core.storage.lease`) keeps a second daemon on another host from
starting the same job. The work runs in a thread with its own event loop, so the daemon keeps
answering while a collection writes; stopping it cancels the collection at its next request or
wait, which is always between two commits (the run is closed as partial, the next continues).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracker_core.clock import Clock
from tracker_core.collector import SilentProgress
from tracker_core.errors import LeaseHeldError, TrackerError
from tracker_core.jobs.stoppable import StoppableRun, Stopped
from tracker_core.redact import redact
from tracker_core.service import Tracker
from tracker_core.storage import lease

log = logging.getLogger(__name__)

JOB_LEASE = "cron"
"""The lease a daemon holds for the whole job, so that two daemons never run it together."""
JOB_LEASE_TTL_SECONDS = 120.0
"""Renewed every quarter of this while the job runs; a daemon that dies frees it this late."""


class JobBusy(TrackerError):
    """The job is already running (here or on another instance); the message says where."""


@dataclass(frozen=True)
class JobOutcome:
    """One run of the job: what ``/healthz``, ``/metrics`` and ``POST /api/cron`` report."""

    trigger: str
    """``schedule`` or ``api``."""
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    status: str
    """``ok``, ``partial`` (some stream or alert failed), ``failed`` or ``cancelled``."""
    error: str | None
    result: dict[str, Any] | None
    """The ``cron --json`` object: ``{"collect": ..., "detect": ...}``; None when it failed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 3),
            "status": self.status,
            "error": self.error,
        }

    def failed_streams(self) -> list[str]:
        """Collection streams that ended in an error in this run."""
        if self.result is None:
            return []
        streams = self.result.get("collect", {}).get("streams", {})
        return [name for name, stream in streams.items() if stream.get("error")]


def _in_thread(loop: asyncio.AbstractEventLoop, work: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run ``work`` on a daemon thread: a job abandoned at shutdown must not keep the process
    alive (the executor's threads would), and its open transaction is rolled back with it."""
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def target() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = work()
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=target, name="cursor-tracker-job", daemon=True).start()
    return future


class JobRunner:
    """Runs the job for the scheduler and ``POST /api/cron``; remembers the last outcome."""

    def __init__(self, tracker: Tracker, *, clock: Clock) -> None:
        self._tracker = tracker
        self._engine = tracker.engine
        self._secrets = tracker.settings.secret_values()
        self._clock = clock
        self._lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._work: StoppableRun | None = None
        self.holder = lease.make_holder()
        self.stopping = False
        self.last: JobOutcome | None = None
        self.running: tuple[str, datetime] | None = None
        """Trigger and start of the job running now."""
        self.listeners: list[Callable[[JobOutcome], None]] = []

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def run(self, trigger: str) -> JobOutcome:
        """Run the job now; raise :class:`JobBusy` naming who runs it when it already runs."""
        if self.stopping:
            raise JobBusy("the daemon is shutting down; no new job starts")
        if self._lock.locked():
            # Refused at once, not queued: a second run right after the first finds nothing
            # new, and a caller (a cron, a person) must hear that one is under way.
            what, since = self.running or (trigger, self._clock())
            raise JobBusy(
                f"a job is already running on this daemon (started by {what} at "
                f"{since:%H:%M:%S} UTC, holder {lease.describe_holder(self.holder)})"
            )
        async with self._lock:
            self._idle.clear()
            started_at = self._clock()
            self.running = (trigger, started_at)
            try:
                return await self._run_leased(trigger, started_at)
            finally:
                self.running = None
                self._idle.set()

    async def _run_leased(self, trigger: str, started_at: datetime) -> JobOutcome:
        took = await asyncio.to_thread(
            lease.try_acquire,
            self._engine,
            JOB_LEASE,
            self.holder,
            JOB_LEASE_TTL_SECONDS,
            started_at,
        )
        if not took:
            held = await asyncio.to_thread(lease.current_holder, self._engine, JOB_LEASE)
            who = f"holder {lease.describe_holder(held[0])}" if held else "another instance"
            since = f" since {held[1]:%H:%M:%S} UTC" if held else ""
            raise JobBusy(f"the job is already running on another instance ({who}{since})")
        renewing = asyncio.create_task(self._keep_lease())
        try:
            return await self._run_work(trigger, started_at)
        finally:
            renewing.cancel()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(lease.release, self._engine, JOB_LEASE, self.holder)

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(JOB_LEASE_TTL_SECONDS / 4)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    lease.renew,
                    self._engine,
                    JOB_LEASE,
                    self.holder,
                    JOB_LEASE_TTL_SECONDS,
                    self._clock(),
                )

    async def _run_work(self, trigger: str, started_at: datetime) -> JobOutcome:
        began = time.monotonic()
        work = StoppableRun()
        self._work = work
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            cron = await asyncio.shield(
                _in_thread(
                    asyncio.get_running_loop(),
                    lambda: self._tracker.cron(SilentProgress(), run=work),
                )
            )
            result = cron.to_json()
            status = _status(result)
        except Stopped:
            status, error = "cancelled", "stopped by the daemon's shutdown; the next run continues"
        except LeaseHeldError as exc:
            raise JobBusy(redact(str(exc), self._secrets)) from None
        except Exception as exc:
            status, error = "failed", redact(str(exc), self._secrets)
            if not isinstance(exc, TrackerError):
                log.error("job failed: %s: %s", type(exc).__name__, error)
        finally:
            self._work = None
        outcome = JobOutcome(
            trigger=trigger,
            started_at=started_at,
            finished_at=self._clock(),
            duration_seconds=time.monotonic() - began,
            status=status,
            error=error,
            result=result,
        )
        self.last = outcome
        log.info(
            "job finished: trigger=%s status=%s duration=%.3fs%s",
            trigger,
            status,
            outcome.duration_seconds,
            f" error={error}" if error else "",
        )
        for listener in self.listeners:
            listener(outcome)
        return outcome

    async def shutdown(self, grace_seconds: float, settle_seconds: float = 5.0) -> None:
        """No new job; a running one gets ``grace_seconds``, then is cancelled at its next
        await and given ``settle_seconds`` to record that before the daemon exits anyway."""
        self.stopping = True
        if self._idle.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
            return
        work = self._work
        if work is not None:
            log.warning("job still running after %.0f s of grace: cancelling it", grace_seconds)
            work.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), settle_seconds)


def _status(result: dict[str, Any]) -> str:
    collected = result.get("collect", {})
    alerts = result.get("detect", {}).get("alerts", {})
    if not collected.get("ok", False) or alerts.get("failed", 0):
        return "partial"
    return "ok"
