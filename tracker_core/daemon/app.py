"""The daemon's application: one factory, used by the command and the tests alike.

Resources live in cleanup contexts (opened at start-up, closed at shutdown in reverse order):
the Tracker with its engine, the job runner, and the scheduler's task. Time and sleep are
injected, so tests drive the schedule and the failed-login delay without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TextIO
from urllib.parse import urlsplit

from aiohttp import web

from tracker_core.clock import Clock, utc_now
from tracker_core.config import Settings
from tracker_core.daemon import notify
from tracker_core.daemon.access_log import access_log, access_logger_for
from tracker_core.daemon.jobs import JobBusy, JobRunner
from tracker_core.daemon.memo import JsonMemo
from tracker_core.daemon.metrics import DaemonMetrics
from tracker_core.daemon.pages import PAGE_UPLOADS, add_pages
from tracker_core.daemon.routes import (
    API_UPLOADS,
    CLOCK,
    CRON_SECRET,
    MEMO,
    METRICS,
    REFUSALS,
    RUNNER,
    SCHEDULE,
    SECRETS,
    TRACKER,
    add_routes,
)
from tracker_core.daemon.scheduler import Scheduler, ScheduleState
from tracker_core.daemon.security import (
    BodyLimit,
    Refusals,
    add_headers,
    auth_middleware,
    body_middleware,
    error_middleware,
    loopback_host_middleware,
)
from tracker_core.service import open_tracker

log = logging.getLogger("tracker_core.daemon")

Sleep = Callable[[float], Awaitable[None]]


def _host_of(url: object) -> str | None:
    """The host name of a configured URL (None when unset)."""
    return None if url is None else urlsplit(str(url)).hostname


def _route_label(request: web.Request) -> str:
    """The route's pattern (``/api/incidents/{id}``), never the raw path: one series per
    route, whatever ids or emails callers send."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def make_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
    schedule: bool = True,
    jitter_random: Callable[[], float] = random.random,
) -> web.Application:
    """The daemon's aiohttp application over ``settings``; ``schedule=False`` leaves the job to
    ``POST /api/cron`` (``--no-schedule``, and most tests)."""
    daemon = settings.daemon
    secrets = settings.secret_values()
    metrics = DaemonMetrics()
    password = daemon.dashboard_password.get_secret_value() if daemon.dashboard_password else None
    refusals = Refusals(sleep)
    limit = BodyLimit(daemon.max_body_bytes, daemon.upload_limit, API_UPLOADS | PAGE_UPLOADS)
    app = web.Application(
        middlewares=[
            error_middleware(
                secrets,
                lambda request, status: metrics.request(_route_label(request), status),
                limit,
            ),
            # The login first: a caller without it learns nothing about what it sent.
            auth_middleware(daemon.dashboard_user, password, refusals, secrets),
            # Without one, only requests addressed to this machine's own names.
            *(() if password else (loopback_host_middleware(_host_of(daemon.dashboard_url)),)),
            body_middleware(limit),
        ],
        client_max_size=daemon.max_body_bytes,
    )
    app[METRICS] = metrics
    app[MEMO] = JsonMemo()
    app[CLOCK] = clock
    app[SECRETS] = secrets
    app[REFUSALS] = refusals
    app[CRON_SECRET] = daemon.cron_secret.get_secret_value() if daemon.cron_secret else ""
    state = ScheduleState()
    app[SCHEDULE] = state

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # Opening runs the migrations: off the loop, like every other database call.
        tracker = await asyncio.to_thread(open_tracker, settings, clock=clock)
        runner = JobRunner(tracker, clock=clock)
        runner.listeners.append(metrics.job_finished)
        app[TRACKER] = tracker
        app[RUNNER] = runner
        try:
            yield
        finally:
            await runner.shutdown(daemon.grace_seconds)
            tracker.close()

    async def scheduled(app: web.Application) -> AsyncIterator[None]:
        runner = app[RUNNER]

        async def job() -> bool:
            try:
                await runner.run("schedule")
            except JobBusy as exc:
                log.warning("scheduled job not started: %s", exc)
                return False
            return True

        scheduler = Scheduler(
            daemon.schedule,
            job,
            clock=clock,
            sleep=sleep,
            jitter_seconds=daemon.jitter_seconds,
            random=jitter_random,
            on_missed=lambda count: metrics.missed_ticks.inc(count),
        )
        scheduler.state = state
        task = asyncio.create_task(scheduler.run(), name="cursor-tracker-schedule")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(resources)
    if schedule and daemon.schedule.strip():
        app.cleanup_ctx.append(scheduled)
    app.on_response_prepare.append(add_headers)
    add_routes(app)
    add_pages(app, TRACKER)
    return app


def runner_options(settings: Settings) -> dict[str, object]:
    """Options of the AppRunner: the structured access log, a short handler shutdown."""
    return {
        "access_log_class": access_logger_for(settings.secret_values()),
        "access_log": access_log(),
        # In-flight requests get this long once the job has been stopped (which is what a
        # long request would be waiting on).
        "shutdown_timeout": 5.0,
    }


def bound_port(runner: web.AppRunner) -> int:
    """The port the first site listens on (the one picked when asked for port 0)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or ():
            port: int = sock.getsockname()[1]
            return port
    raise RuntimeError("the daemon is not listening")


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    schedule: bool = True,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop``): then no new job, a running job gets the
    grace time and is cancelled at its next await, and the function returns."""
    app = make_app(settings, schedule=schedule)
    runner = web.AppRunner(app, **runner_options(settings))  # type: ignore[arg-type]
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        shown = f"[{host}]" if ":" in host else host
        listening = f"listening on http://{shown}:{bound_port(runner)}"
        print(listening, file=out or sys.stdout, flush=True)
        # Under systemd's Type=notify, `systemctl start` returns now, not before (no-op elsewhere).
        notify.ready(listening)
        stopping = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for signum in _signals():
            try:
                loop.add_signal_handler(signum, stopping.set)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(signum)
        try:
            await stopping.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
        notify.stopping()
        log.info("stopping: no new job; a running job gets %.0f s", settings.daemon.grace_seconds)
        await app[RUNNER].shutdown(settings.daemon.grace_seconds)
    finally:
        await runner.cleanup()


def _signals() -> list[int]:
    import signal

    return [signal.SIGTERM, signal.SIGINT]
