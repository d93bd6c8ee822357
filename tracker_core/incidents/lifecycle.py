"""The lifecycle's decisions for one detection run, as a pure function of what is known.

Each finding is matched to its stored anomaly by fingerprint (rule, member, period). There is
one anomaly per fingerprint, ever: a new fingerprint opens an anomaly and its incident and is
announced; a known one is updated in place, and a warning that turns critical is escalated
and announced once more (never downgraded: a person was told it is critical). A fingerprint a
person resolved stays resolved for its period. Cycle rules resolve themselves, incident
included, when their condition clears, and a cleared one that comes back picks up its old
incident again. Daily rules run in episodes: a condition that holds day after day for the
same member and rule is one anomaly and one incident, announced once, whose period follows
the latest day, resolved itself when a whole evaluated day passes without it.

Nothing here reads or writes: :func:`plan` turns the stored anomalies, the run's findings and
the clock into a :class:`LifecyclePlan` that :mod:`tracker_core.incidents.store` carries out.
Later inputs of the lifecycle (silences, budgets) become arguments of :func:`plan`, testable
without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Final, Literal

from tracker_core.detection.model import CYCLE_RULES, SEVERITY_RANK, Anomaly, Finding, Severity

CHANNELS: Final = ("slack", "email")
"""Every alert channel, in the order each announcement is queued on them."""

Reason = Literal["new", "escalated"]
IncidentStatus = Literal["open", "alerted", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownAnomaly(Anomaly):
    """A stored anomaly this run may touch, with what the decisions need of its incident.

    ``status`` and ``resolved_by`` are the anomaly's (``open``/``resolved``; ``person`` or
    ``auto``); ``alerted`` and ``acknowledged`` say how far its incident had got, which is
    where a cycle anomaly that comes back picks up again.
    """

    anomaly_id: int
    incident_id: int
    status: str
    resolved_by: str | None = None
    alerted: bool = False
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Opening:
    """A new fingerprint: an anomaly and its incident to create."""

    finding: Finding
    onset_at: datetime
    """When the value crossed its threshold; never later than the run that noticed it."""


@dataclass(frozen=True, slots=True)
class Update:
    """A known anomaly whose figures changed, that escalated, or that came back."""

    known: KnownAnomaly
    finding: Finding
    severity: Severity
    """The stored severity after this run: the finding's when it escalated, else the old one."""
    escalated: bool
    reopened_as: IncidentStatus | None = None
    """The incident's status again when the anomaly had resolved itself and came back."""


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    """One alert outbox row: announce ``subject`` on ``channel`` for ``reason``.

    ``subject`` is the incident's number, or the :class:`Opening` whose incident does not
    exist yet. With ``skipped`` set the row is recorded as skipped for that reason (the
    channel is not configured), so the queue shows why nobody was told.
    """

    subject: int | Opening
    channel: str
    reason: Reason
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class LifecyclePlan:
    """Everything one run changes, in the order today's rows are written."""

    opens: tuple[Opening, ...] = ()
    updates: tuple[Update, ...] = ()
    resolves: tuple[KnownAnomaly, ...] = ()
    """Open cycle anomalies whose condition cleared: resolved automatically."""
    alerts: tuple[QueuedAlert, ...] = ()
    suppressed: int = 0
    """Findings whose fingerprint a person already resolved."""


def plan(
    known: Iterable[KnownAnomaly],
    findings: Sequence[Finding],
    *,
    onsets: Mapping[tuple[str, str, date], datetime],
    now: datetime,
    channels: Mapping[str, bool],
    cycle_start: date,
    cycle_rules_evaluable: Iterable[str] = CYCLE_RULES,
    days: Sequence[date] = (),
) -> LifecyclePlan:
    """Decide what one run does to the stored anomalies.

    ``known`` must hold every stored anomaly of the findings' periods and every open one.
    ``onsets`` gives each new fingerprint's onset (``now`` when missing). ``channels`` says
    which alert channels are configured. Open cycle anomalies this run did not find are
    resolved when their rule is in ``cycle_rules_evaluable`` or they belong to an earlier
    cycle; a rule that could not be evaluated (too few active members, say) resolves nothing
    of the current cycle, since silence is not evidence.

    Daily rules run in episodes: a finding for the day after (or a day within) an open
    anomaly of the same rule and member continues it, moving its period to the latest day
    and updating its figures, instead of opening and announcing a new incident each day.
    ``days`` are the days this run evaluated; an open daily episode whose last day is before
    all of them did not hold on a whole evaluated day, so it is resolved (without ``days``,
    daily anomalies wait for a person, as before).
    """
    stored = {anomaly.fingerprint: anomaly for anomaly in known}
    episodes: dict[tuple[str, str], KnownAnomaly] = {
        (row.rule, row.email): row
        for row in sorted(stored.values(), key=lambda r: r.period)
        if row.status == "open" and row.rule not in CYCLE_RULES
    }
    opens: list[Opening] = []
    updates: list[Update] = []
    alerts: list[QueuedAlert] = []
    suppressed = 0
    seen: set[tuple[str, str, date]] = set()
    for finding in sorted(findings, key=lambda f: f.period):
        key = finding.fingerprint
        if key in seen:
            continue
        seen.add(key)
        row = stored.get(key)
        if row is None:
            episode = _episode_of(episodes, finding)
            if episode is not None:
                seen.add(episode.fingerprint)
                update = _continue(episode, finding)
                if update is not None:
                    updates.append(update)
                    episodes[(finding.rule, finding.email)] = moved(episode, update)
                    if update.escalated:
                        alerts.extend(announce(episode.incident_id, "escalated", channels))
                continue
            opening = Opening(finding, min(onsets.get(key, now), now))
            opens.append(opening)
            alerts.extend(announce(opening, "new", channels))
            continue
        if row.status == "resolved" and row.resolved_by == "person":
            suppressed += 1
            continue
        update = decide_update(row, finding)
        if update is None:
            continue
        updates.append(update)
        if episodes.get((row.rule, row.email)) == row:
            episodes[(row.rule, row.email)] = moved(row, update)
        if update.escalated:
            alerts.extend(announce(row.incident_id, "escalated", channels))

    evaluable = set(cycle_rules_evaluable)
    first_day = min(days, default=None)
    resolves = tuple(
        row
        for key, row in stored.items()
        if row.status == "open"
        and key not in seen
        and (
            (row.rule in CYCLE_RULES and (row.period != cycle_start or row.rule in evaluable))
            or (row.rule not in CYCLE_RULES and first_day is not None and row.period < first_day)
        )
    )
    return LifecyclePlan(tuple(opens), tuple(updates), resolves, tuple(alerts), suppressed)


def moved(row: KnownAnomaly, update: Update) -> KnownAnomaly:
    """The stored anomaly as it stands once ``update`` is written (open again, its figures
    the finding's), as the store writes it and the backtest's replay keeps it."""
    return replace(
        row,
        **update.finding.revised_fields(),
        severity=update.severity,
        status="open",
        resolved_by=None,
    )


def _episode_of(
    episodes: Mapping[tuple[str, str], KnownAnomaly], finding: Finding
) -> KnownAnomaly | None:
    """The open daily anomaly this finding continues: same rule and member, no day between."""
    if finding.rule in CYCLE_RULES:
        return None
    episode = episodes.get((finding.rule, finding.email))
    if episode is None or finding.period > episode.period + timedelta(days=1):
        return None
    return episode


def _continue(episode: KnownAnomaly, finding: Finding) -> Update | None:
    """A finding on an episode's next day moves it on; an earlier day's only escalates it.

    The episode keeps one incident and its onset; its period becomes its latest day, and its
    figures that day's. Announced again only when a warning turns critical.
    """
    if finding.period > episode.period:
        return decide_update(episode, finding)
    if SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[episode.severity]:
        return None
    at_latest = replace(finding, period=episode.period)
    return Update(known=episode, finding=at_latest, severity=finding.severity, escalated=True)


def decide_update(row: KnownAnomaly, finding: Finding) -> Update | None:
    """What a finding changes on its known, unsuppressed anomaly; None when nothing changed.

    Only the figures a person reads decide "changed" (value, threshold, message): a run that
    finds the same thing again writes nothing.
    """
    escalated = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row.severity]
    unchanged = (
        row.status == "open"
        and (row.value, row.threshold, row.message)
        == (finding.value, finding.threshold, finding.message)
        and not escalated
    )
    if unchanged:
        return None
    return Update(
        known=row,
        finding=finding,
        severity=finding.severity if escalated else row.severity,
        escalated=escalated,
        reopened_as=reopened_status(row) if row.status == "resolved" else None,
    )


def reopened_status(row: KnownAnomaly) -> IncidentStatus:
    """Where an incident that resolved itself picks up again: as far as it had got."""
    if row.acknowledged:
        return "acknowledged"
    return "alerted" if row.alerted else "open"


def announce(
    subject: int | Opening, reason: Reason, channels: Mapping[str, bool]
) -> list[QueuedAlert]:
    """One outbox row per channel; an unconfigured channel's row is recorded as skipped."""
    return [
        QueuedAlert(
            subject,
            channel,
            reason,
            None if channels.get(channel, False) else f"{channel} alerts are not configured",
        )
        for channel in CHANNELS
    ]
