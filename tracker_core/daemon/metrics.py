"""Prometheus metrics of one daemon, in a registry of its own.

A registry per app (not the library's global one) lets tests build several apps in one
process and keeps the exposition to what this daemon knows. Counters and histograms move as
things happen (requests, jobs, missed ticks); the stored figures (spend, incidents, backlog)
are read from the database on each scrape, so they are as fresh as the data.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tracker_core.daemon.jobs import JobOutcome
from tracker_core.service import Vitals

CONTENT_TYPE = CONTENT_TYPE_LATEST
SEVERITIES = ("warning", "critical")
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


class DaemonMetrics:
    """Every metric the daemon exposes; ``render`` gives the text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.spend_today = Gauge(
            "cursor_tracker_team_spend_today_dollars", "Team spend today (UTC)", registry=r
        )
        self.spend_cycle = Gauge(
            "cursor_tracker_team_spend_cycle_dollars",
            "Team spend in the current billing cycle",
            registry=r,
        )
        self.open_incidents = Gauge(
            "cursor_tracker_open_incidents",
            "Incidents not resolved, by severity",
            ["severity"],
            registry=r,
        )
        self.since_collection = Gauge(
            "cursor_tracker_seconds_since_last_collection",
            "Seconds since the last collection ended (NaN before the first)",
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "cursor_tracker_alert_outbox_backlog",
            "Alert messages waiting to be delivered",
            registry=r,
        )
        self.collection_errors = Counter(
            "cursor_tracker_collection_errors",
            "Collection streams that failed in a daemon job, by stream",
            ["stream"],
            registry=r,
        )
        self.jobs = Histogram(
            "cursor_tracker_job_duration_seconds",
            "Duration of the collect-and-detect job, by outcome",
            ["status"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.missed_ticks = Counter(
            "cursor_tracker_schedule_missed_ticks",
            "Scheduled runs skipped because a job was still running or the daemon was down",
            registry=r,
        )
        self.next_run = Gauge(
            "cursor_tracker_next_run_timestamp_seconds",
            "When the schedule starts the next job (Unix time; NaN without a schedule)",
            registry=r,
        )
        self.last_job_ok = Gauge(
            "cursor_tracker_last_job_ok",
            "1 when the last job succeeded (ok or partial), 0 when it failed or was cancelled, "
            "NaN before the first",
            registry=r,
        )
        self.requests = Counter(
            "cursor_tracker_http_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=r,
        )
        for severity in SEVERITIES:
            self.open_incidents.labels(severity=severity)
        self.since_collection.set(float("nan"))
        self.next_run.set(float("nan"))
        self.last_job_ok.set(float("nan"))

    def job_finished(self, outcome: JobOutcome) -> None:
        self.jobs.labels(status=outcome.status).observe(outcome.duration_seconds)
        self.last_job_ok.set(1 if outcome.status in ("ok", "partial") else 0)
        for stream in outcome.failed_streams():
            self.collection_errors.labels(stream=stream).inc()

    def request(self, route: str, status: int) -> None:
        self.requests.labels(route=route, status=str(status)).inc()

    def schedule(self, next_run: datetime | None) -> None:
        self.next_run.set(next_run.timestamp() if next_run is not None else float("nan"))

    def refresh(self, vitals: Vitals, now: datetime) -> None:
        """Set the stored figures just read (on each scrape)."""
        self.spend_today.set(vitals.spend_today_cents / 100)
        self.spend_cycle.set(vitals.spend_cycle_cents / 100)
        for severity in {*SEVERITIES, *vitals.open_incidents}:
            self.open_incidents.labels(severity=severity).set(
                vitals.open_incidents.get(severity, 0)
            )
        self.outbox_backlog.set(vitals.alert_backlog)
        if vitals.last_collected is not None:
            self.since_collection.set(max((now - vitals.last_collected).total_seconds(), 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
