"""One detection run: stored usage in, findings through the lifecycle, alerts out.

This is the I/O edge around the pure rules of :mod:`tracker_core.detection`: it reads the
per-member, per-day, per-model rollup of the usage events the rules need (grouped in SQL, so
only the detection window is read, never the whole history), finds each new anomaly's onset
in that member's events, applies the run to the stored anomalies and incidents in one
transaction, then hands the announcements to the alert outbox.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, literal, select

from tracker_core import incidents
from tracker_core.alerting.outbox import DispatchResult, Sender, dispatch
from tracker_core.clock import Clock, utc_now
from tracker_core.config import Settings
from tracker_core.cycle import as_day, current_cycle
from tracker_core.detection.budgets import BUDGET_RULES, budget_findings
from tracker_core.detection.measures import (
    PERSONAL_LOOKBACK_DAYS,
    build_usage,
    median,
    onset_index,
)
from tracker_core.detection.model import CYCLE_RULES, SPEND_RULES, Finding, MemberUsage
from tracker_core.detection.rules import (
    MIN_CYCLE_MEDIAN_CENTS,
    MIN_TEAM,
    detect,
    detection_window,
)
from tracker_core.detection.settings import DetectionSettings
from tracker_core.storage import begin_write, lease, repo, rollups
from tracker_core.storage import tables as t
from tracker_core.views.budgets import budget_standings
from tracker_core.views.groups import member_groups

DETECTOR_LEASE_SECONDS = 600.0
"""A detection run that has not finished in this long is taken to have died."""
DETECTOR_LEASE_WAIT_SECONDS = 30.0


@dataclass
class DetectionReport:
    """The ``detect --json`` object of CONTRACT.md, plus what a person reads on a terminal."""

    anomalies: list[dict[str, Any]]
    new: int
    updated: int
    resolved: int
    alerts: DispatchResult = field(default_factory=DispatchResult)
    dry_run: bool = False
    settings_problems: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    """The alert channels configured for this run; none means no alert could be sent."""
    findings: list[Finding] = field(default_factory=list)
    """What the rules found this run, before the lifecycle matched it to stored anomalies."""
    as_of: date | None = None
    """The past day this run replayed (always dry), or None for a run on today's data."""

    def to_json(self) -> dict[str, Any]:
        return {
            "anomalies": self.anomalies,
            "new": self.new,
            "updated": self.updated,
            "resolved": self.resolved,
            "alerts": {
                "slack": self.alerts.sent.get("slack", 0),
                "email": self.alerts.sent.get("email", 0),
                "failed": self.alerts.failed_total,
            },
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "findings": [f.to_json() for f in self.findings],
        }


def day_end(day: date) -> datetime:
    """The last instant of a UTC day: a run "as of" that day sees everything stored for it."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, microseconds=-1)


def cycle_start_on(latest_start: date, day: date) -> date:
    """The start of the billing cycle holding ``day``, given the latest cycle start known.

    Cycles are monthly from the same day of the month (clipped in short months), so a day
    before the latest start belongs to a cycle that many months earlier.
    """
    start = latest_start
    months = 0
    while start > day:
        months += 1
        year, month = divmod(latest_start.year * 12 + latest_start.month - 1 - months, 12)
        month += 1
        last = calendar.monthrange(year, month)[1]
        start = date(year, month, min(latest_start.day, last))
    return start


@dataclass(frozen=True)
class DetectionInput:
    """Everything the rules look at, read in one go."""

    settings: DetectionSettings
    members: list[MemberUsage]
    days: list[date]
    cycle_start: date
    settings_problems: list[str]


def load_settings(conn: Connection) -> tuple[DetectionSettings, list[str]]:
    """Stored detection settings; a stored value that no longer validates falls back."""
    return DetectionSettings.from_stored(repo.get_detection_settings(conn))


def read_input(
    conn: Connection,
    *,
    today: date,
    as_of: bool = False,
    settings: DetectionSettings | None = None,
) -> DetectionInput:
    """The rollup of the window the rules need: the cycle so far and the look-back days.

    With ``as_of`` the run replays ``today`` as a past day: nothing after its end is read, and
    cycle spend comes from the events (Cursor's cycle figure is today's, not that day's).
    ``settings`` replaces the stored ones (a backtest of proposed values).
    """
    stored, problems = load_settings(conn)
    if settings is None:
        settings = stored
    days = [today - timedelta(days=1), today]
    cycle_start = current_cycle(conn, today).start
    if as_of:
        cycle_start = cycle_start_on(cycle_start, today)
    start, _ = detection_window(settings, days, cycle_start)
    # Models matter only where a finding names one (the evaluated days and the cycle); the
    # weeks of history before, and those before the cycle (each member's pace then), are read
    # one row per member and day.
    by_model = min(cycle_start, days[0])
    history = min(start, cycle_start - timedelta(days=PERSONAL_LOOKBACK_DAYS))
    summed = rollups.summed(conn, by_model, today)
    rows: list[Any] = list(
        conn.execute(
            select(
                summed.c.user_email,
                summed.c.day,
                summed.c.model,
                summed.c.spend_cents,
                summed.c.requests,
                summed.c.tokens,
            )
        ).all()
    )
    if history < by_model:
        older = rollups.summed(conn, history, by_model - timedelta(days=1))
        rows += conn.execute(
            select(
                older.c.user_email,
                older.c.day,
                literal(""),
                func.sum(older.c.spend_cents),
                func.sum(older.c.requests),
                func.sum(older.c.tokens),
            ).group_by(older.c.user_email, older.c.day)
        ).all()
    members = conn.execute(select(t.members.c.email, t.members.c.name, t.members.c.is_removed))
    names: dict[str, str] = {}
    removed: set[str] = set()
    for email, name, is_removed in members:
        names[email] = name or ""
        if is_removed:
            removed.add(email)
    spend = t.member_spend
    cycle_spend = (
        {}
        if as_of
        else {
            email: float(cents)
            for email, cents in conn.execute(
                select(spend.c.email, spend.c.spend_cents).where(spend.c.cycle_start == cycle_start)
            )
        }
    )
    usage = build_usage(
        [
            (str(email), as_day(day), str(model), float(s or 0), int(n), int(tok or 0))
            for email, day, model, s, n, tok in rows
        ],
        names=names,
        cycle_spend_cents=cycle_spend,
        cycle_start=cycle_start,
        removed=removed,
        start=start,
        end=today,
        groups=member_groups(conn),
    )
    return DetectionInput(settings, usage, days, cycle_start, problems)


def evaluable_cycle_rules(members: Sequence[MemberUsage], settings: DetectionSettings) -> set[str]:
    """Cycle rules whose silence this run means "the condition cleared", not "cannot tell"."""
    rules = {"spend_limit"}
    active = [m.cycle_spend_cents for m in members if m.cycle_spend_cents > 0]
    if len(active) >= MIN_TEAM and median(active) >= MIN_CYCLE_MEDIAN_CENTS:
        rules.add("cycle_outlier")
    return rules


def read_budget_findings(conn: Connection, now: datetime, cycle_start: date) -> list[Finding]:
    """The budget alerts today's standings call for (see :mod:`tracker_core.detection.budgets`).

    The standings are the ones ``budgets list`` shows, so an alert never disagrees with it.
    """
    listed = budget_standings(conn, now)
    return budget_findings((line.standing for line in listed.lines), cycle_start)


def find_onset(
    conn: Connection,
    finding: Finding,
    *,
    cycle_start: date,
    settings: DetectionSettings,
    until: date | None = None,
) -> datetime | None:
    """Time of the member's usage event at which the period's value crossed the firing point.

    ``until`` is the last day a replayed run may read.
    """
    e = t.usage_events
    in_cycle = finding.rule in CYCLE_RULES
    period = e.c.day >= cycle_start if in_cycle else e.c.day == finding.period
    if until is not None:
        period = period & (e.c.day <= until)
    rows = conn.execute(
        select(e.c.timestamp_ms, repo.spend_cents_expr(), e.c.input_tokens + e.c.output_tokens)
        .where(e.c.user_email == finding.email)
        .where(period)
        .order_by(e.c.timestamp_ms)
    ).all()
    if not rows:
        return None
    threshold = finding.threshold
    if finding.rule in SPEND_RULES:
        if finding.rule in ("zscore_spend", "spend_spike"):
            threshold = max(threshold, settings.min_daily_spend)
        values = [float(cents or 0) for _, cents, _ in rows]
        threshold *= 100
    elif finding.rule == "tokens_limit":
        values = [float(tokens or 0) for _, _, tokens in rows]
    else:
        if finding.rule == "zscore_requests":
            threshold = max(threshold, settings.min_daily_requests)
        values = [1.0] * len(rows)
    index = onset_index(values, threshold)
    stamp = rows[-1][0] if index is None else rows[index][0]
    return datetime.fromtimestamp(stamp / 1000, tz=UTC)


def channels_configured(settings: Settings) -> dict[str, bool]:
    slack, email = settings.slack, settings.email
    return {
        "slack": bool(slack.bot_token and slack.bot_token.get_secret_value() and slack.channel_id),
        "email": bool(
            email.resend_api_key and email.resend_api_key.get_secret_value() and email.to
        ),
    }


def make_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for every configured channel."""
    configured = channels_configured(settings)
    senders: dict[str, Sender] = {}
    dashboard = settings.daemon.dashboard_url
    if configured["slack"] and settings.slack.bot_token is not None:
        from tracker_core.alerting.slack import SlackSender

        senders["slack"] = SlackSender(
            settings.slack.bot_token.get_secret_value(),
            settings.slack.channel_id,
            base_url=settings.slack.api_url,
            dashboard_url=dashboard,
        )
    if configured["email"] and settings.email.resend_api_key is not None:
        from tracker_core.alerting.email import EmailSender

        senders["email"] = EmailSender(
            settings.email.resend_api_key.get_secret_value(),
            settings.email.to,
            settings.email.from_address,
            api_url=settings.email.api_url,
            dashboard_url=dashboard,
        )
    return senders


def open_anomalies(
    conn: Connection, new_ids: set[int], until: date | None = None
) -> list[dict[str, Any]]:
    """Every anomaly open after the run, in the shape of CONTRACT.md's ``detect --json``;
    with ``until`` (a replay as of that day's end) only those of periods up to that day:
    what was found of later days did not exist yet."""
    a, i = t.anomalies, t.incidents
    query = select(a, i.c.id.label("incident_id")).join(i, i.c.anomaly_id == a.c.id)
    query = query.where(a.c.status == "open").order_by(a.c.period.desc(), a.c.rule, a.c.email)
    if until is not None:
        query = query.where(a.c.period <= until)
    rows = conn.execute(query)
    return [
        {
            "id": row.id,
            "incident_id": row.incident_id,
            "rule": row.rule,
            "email": row.email,
            "period": row.period.isoformat(),
            "value": row.value,
            "threshold": row.threshold,
            "severity": row.severity,
            "message": row.message,
            "is_new": row.id in new_ids,
        }
        for row in rows
    ]


def run_detection(
    engine: Engine,
    settings: Settings,
    *,
    dry_run: bool = False,
    clock: Clock = utc_now,
    senders: Mapping[str, Sender] | None = None,
    as_of: date | None = None,
) -> DetectionReport:
    """Detect, update anomalies and incidents, then deliver what is due.

    With ``dry_run`` the whole run happens inside a transaction that is rolled back, so the
    report shows exactly what a real run would change, and nothing is written or sent.
    ``as_of`` replays the run at the end of that past day, reading nothing stored for later
    days; it is always dry, since announcing the past now would only mislead.
    """
    if as_of is not None:
        end = day_end(as_of)
        return _detect_and_apply(
            engine, settings, dry_run=True, clock=lambda: min(end, clock()), as_of=as_of
        )
    if dry_run:
        return _detect_and_apply(engine, settings, dry_run=True, clock=clock)
    holder = lease.make_holder()
    lease.acquire(
        engine,
        lease.DETECTOR_LEASE,
        holder,
        ttl_seconds=DETECTOR_LEASE_SECONDS,
        wait_seconds=DETECTOR_LEASE_WAIT_SECONDS,
        clock=clock,
    )
    try:
        # Days whose events changed since the collector summed them (a collector that was
        # stopped, events stored by another instance) are summed once here, not per read.
        rollups.try_refresh(engine)
        report = _detect_and_apply(engine, settings, dry_run=False, clock=clock)
        report.alerts = dispatch(
            engine, make_senders(settings) if senders is None else senders, now=clock
        )
        return report
    finally:
        lease.release(engine, lease.DETECTOR_LEASE, holder)


def _detect_and_apply(
    engine: Engine,
    settings: Settings,
    *,
    dry_run: bool,
    clock: Clock,
    as_of: date | None = None,
) -> DetectionReport:
    now = clock()
    # The run reads, then writes what it read about: on SQLite it must hold the write lock
    # from the start, or a collector committing in between makes its first write fail at once
    # ("database is locked") instead of waiting. A dry run writes too, then rolls back.
    with begin_write(engine) as conn:
        data = read_input(conn, today=now.date(), as_of=as_of is not None)
        findings = detect(data.members, data.settings, data.days, data.cycle_start)
        evaluable = evaluable_cycle_rules(data.members, data.settings)
        if as_of is None:
            # Budgets are today's: a replayed day has no forecast or budget of its own.
            findings += read_budget_findings(conn, now, data.cycle_start)
            evaluable |= BUDGET_RULES
        onsets = {
            f.fingerprint: onset
            for f in findings
            if (
                onset := find_onset(
                    conn, f, cycle_start=data.cycle_start, settings=data.settings, until=as_of
                )
            )
            is not None
        }
        result = incidents.apply_findings(
            conn,
            findings,
            onsets=onsets,
            now=now,
            channels=channels_configured(settings),
            cycle_start=data.cycle_start,
            cycle_rules_evaluable=evaluable,
            days=data.days,
        )
        new_ids = {change.anomaly_id for change in result.new}
        report = DetectionReport(
            anomalies=open_anomalies(conn, new_ids, until=as_of),
            new=len(result.new),
            updated=len(result.updated),
            resolved=result.resolved,
            dry_run=dry_run,
            settings_problems=data.settings_problems,
            channels=[name for name, on in channels_configured(settings).items() if on],
            findings=findings,
            as_of=as_of,
        )
        if dry_run:
            conn.rollback()
    return report
