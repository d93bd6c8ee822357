"""The incident lifecycle on a real database (SQLite and PostgreSQL), with a fixed clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from tests.findings import BOTH, CYCLE, DAY, finding
from tracker_core import incidents
from tracker_core.alerting.items import AlertItem, Attempt, Delivery, Lookup
from tracker_core.alerting.outbox import dispatch
from tracker_core.detection.model import Finding
from tracker_core.storage import tables as t

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def apply(
    engine: Engine, findings: list[Finding], at: datetime, **options: object
) -> incidents.LifecycleResult:
    with engine.begin() as conn:
        return incidents.apply_findings(
            conn,
            findings,
            onsets=options.pop("onsets", {}),  # type: ignore[arg-type]
            now=at,
            channels=options.pop("channels", BOTH),  # type: ignore[arg-type]
            cycle_start=CYCLE,
            **options,  # type: ignore[arg-type]
        )


def outbox(engine: Engine) -> list[tuple[int, str, str, str]]:
    o = t.alert_outbox
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.c.incident_id, o.c.channel, o.c.reason, o.c.status).order_by(o.c.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_walking_an_incident_through_its_lifecycle_gives_mttd_mtti_mttr(
    db_engine: Engine,
) -> None:
    onset = T0 - timedelta(minutes=50)
    found = finding()
    result = apply(db_engine, [found], T0, onsets={found.fingerprint: onset})
    [change] = result.new
    with db_engine.begin() as conn:
        view = incidents.get_incident(conn, change.incident_id)
        assert (view.status, view.onset_at, view.mttd) == ("open", onset, None)
        incidents.mark_alerted(conn, [change.incident_id], now=T0 + timedelta(minutes=10))
        assert incidents.get_incident(conn, change.incident_id).status == "alerted"
        incidents.acknowledge(conn, change.incident_id, now=T0 + timedelta(minutes=40))
        resolved = incidents.resolve(conn, change.incident_id, now=T0 + timedelta(hours=3))

    assert resolved.status == "resolved" and resolved.resolved_by == "person"
    assert resolved.mttd == timedelta(minutes=60)  # onset -> alert sent
    assert resolved.mtti == timedelta(minutes=30)  # alert sent -> acknowledged
    assert resolved.mttr == timedelta(hours=3, minutes=50)  # onset -> resolved
    with db_engine.connect() as conn:
        averages = incidents.response_times(conn, since=T0 - timedelta(days=1))
        assert averages.incidents == 1
        assert averages.mttd == timedelta(minutes=60)
        assert incidents.response_times(conn, since=T0 + timedelta(days=1)).incidents == 0
        anomaly_status = conn.execute(select(t.anomalies.c.status)).scalar_one()
    assert anomaly_status == "resolved"


def test_a_second_alert_does_not_move_the_first_alert_time(db_engine: Engine) -> None:
    [change] = apply(db_engine, [finding()], T0).new
    with db_engine.begin() as conn:
        incidents.mark_alerted(conn, [change.incident_id], now=T0 + timedelta(minutes=5))
        incidents.mark_alerted(conn, [change.incident_id], now=T0 + timedelta(hours=5))
        view = incidents.get_incident(conn, change.incident_id)
    assert view.alerted_at == T0 + timedelta(minutes=5)


def test_one_anomaly_per_fingerprint_updated_in_place(db_engine: Engine) -> None:
    first = apply(db_engine, [finding(value=400.0)], T0)
    again = apply(db_engine, [finding(value=400.0)], T0 + timedelta(hours=1))
    grown = apply(db_engine, [finding(value=520.0)], T0 + timedelta(hours=2))
    assert (len(first.new), len(again.new), len(again.updated)) == (1, 0, 0)
    assert (len(grown.new), len(grown.updated)) == (0, 1)
    with db_engine.connect() as conn:
        rows = conn.execute(select(t.anomalies.c.value, t.anomalies.c.message)).all()
        incident_count = conn.execute(select(func.count()).select_from(t.incidents)).scalar()
    assert [row.value for row in rows] == [520.0]
    assert "$520.00" in rows[0].message
    assert incident_count == 1
    # Announced once per channel, not once per run.
    assert [(c, r) for _, c, r, _ in outbox(db_engine)] == [("slack", "new"), ("email", "new")]


def test_warning_turned_critical_is_escalated_and_announced_once_more(db_engine: Engine) -> None:
    apply(db_engine, [finding(severity="warning")], T0)
    escalated = apply(
        db_engine, [finding(value=900.0, severity="critical")], T0 + timedelta(hours=1)
    )
    calmer = apply(db_engine, [finding(value=800.0, severity="warning")], T0 + timedelta(hours=2))
    assert [change.escalated for change in escalated.updated] == [True]
    assert [change.escalated for change in calmer.updated] == [False]
    with db_engine.connect() as conn:
        severity = conn.execute(select(t.anomalies.c.severity)).scalar_one()
    assert severity == "critical"  # never downgraded once a person was told it is critical
    reasons = [(c, r) for _, c, r, _ in outbox(db_engine)]
    assert reasons.count(("slack", "escalated")) == 1
    assert reasons.count(("email", "escalated")) == 1


def test_fingerprint_resolved_by_a_person_is_not_raised_again(db_engine: Engine) -> None:
    [change] = apply(db_engine, [finding()], T0).new
    with db_engine.begin() as conn:
        incidents.resolve(conn, change.incident_id, now=T0 + timedelta(minutes=5))
    later = apply(db_engine, [finding(value=999.0, severity="critical")], T0 + timedelta(hours=1))
    assert (later.new, later.updated, later.suppressed) == ([], [], 1)
    # The same rule on the next day is a new fingerprint and opens a new incident.
    next_day = apply(db_engine, [finding(period=DAY + timedelta(days=1))], T0 + timedelta(days=1))
    assert len(next_day.new) == 1


def test_acting_twice_changes_nothing_and_unknown_or_backward_steps_are_errors(
    db_engine: Engine,
) -> None:
    [change] = apply(db_engine, [finding()], T0).new
    with db_engine.begin() as conn:
        incidents.acknowledge(conn, change.incident_id, now=T0)
        again = incidents.acknowledge(conn, change.incident_id, now=T0 + timedelta(hours=1))
    assert (again.status, again.acknowledged_at) == ("acknowledged", T0)
    with db_engine.begin() as conn:
        first = incidents.resolve(conn, change.incident_id, now=T0 + timedelta(hours=2))
    with db_engine.begin() as conn:
        second = incidents.resolve(conn, change.incident_id, now=T0 + timedelta(hours=3))
    assert second == first and second.status == "resolved"
    assert second.resolved_at == T0 + timedelta(hours=2)
    with (
        db_engine.begin() as conn,
        pytest.raises(incidents.IncidentError, match="already resolved"),
    ):
        incidents.acknowledge(conn, change.incident_id, now=T0)
    with (
        db_engine.begin() as conn,
        pytest.raises(incidents.IncidentError, match="no incident #999"),
    ):
        incidents.resolve(conn, 999, now=T0)


def test_cycle_rules_resolve_themselves_and_come_back_to_the_same_incident(
    db_engine: Engine,
) -> None:
    outlier = finding(rule="cycle_outlier", period=CYCLE, value=1500.0)
    [change] = apply(db_engine, [outlier], T0).new
    with db_engine.begin() as conn:
        incidents.mark_alerted(conn, [change.incident_id], now=T0)

    # Too few active members to judge: silence is not evidence, nothing resolves.
    undecided = apply(db_engine, [], T0 + timedelta(hours=1), cycle_rules_evaluable=["spend_limit"])
    assert undecided.resolved == 0
    cleared = apply(db_engine, [], T0 + timedelta(hours=2))
    assert cleared.resolved == 1
    with db_engine.connect() as conn:
        view = incidents.get_incident(conn, change.incident_id)
    assert (view.status, view.resolved_by) == ("resolved", "auto")

    back = apply(db_engine, [outlier], T0 + timedelta(hours=3))
    assert [c.incident_id for c in back.updated] == [change.incident_id] and back.new == []
    with db_engine.connect() as conn:
        view = incidents.get_incident(conn, change.incident_id)
    assert (view.status, view.resolved_at) == ("alerted", None)


def test_daily_anomalies_wait_for_a_person(db_engine: Engine) -> None:
    apply(db_engine, [finding()], T0)
    quiet = apply(db_engine, [], T0 + timedelta(days=1))
    assert quiet.resolved == 0
    with db_engine.connect() as conn:
        assert [v.status for v in incidents.list_incidents(conn, status="active")] == ["open"]


def test_unconfigured_channels_are_recorded_as_skipped(db_engine: Engine) -> None:
    [change] = apply(db_engine, [finding()], T0, channels={"slack": True}).new
    assert outbox(db_engine) == [
        (change.incident_id, "slack", "new", "pending"),
        (change.incident_id, "email", "new", "skipped"),
    ]
    with db_engine.connect() as conn:
        assert incidents.get_incident(conn, change.incident_id).status == "open"


def test_queue_lists_worst_first_and_filters_by_status(db_engine: Engine) -> None:
    apply(db_engine, [finding(email="a@example.test")], T0)
    apply(db_engine, [finding(email="b@example.test", severity="critical")], T0)
    [resolved] = apply(db_engine, [finding(email="c@example.test", severity="critical")], T0).new
    with db_engine.begin() as conn:
        incidents.resolve(conn, resolved.incident_id, now=T0)
        queue = incidents.list_incidents(conn)
        active = incidents.list_incidents(conn, status="active")
        with pytest.raises(incidents.IncidentError, match="unknown status"):
            incidents.list_incidents(conn, status="closed")
    assert [v.email for v in queue] == ["b@example.test", "a@example.test", "c@example.test"]
    assert [v.email for v in active] == ["b@example.test", "a@example.test"]


class ScriptedChannel:
    """A channel that accepts or refuses each message as told: the outbox's side of a sender."""

    def __init__(self, ok: bool, error: str | None = None) -> None:
        self.ok, self.error = ok, error

    def send(self, items: Sequence[AlertItem], attempt: str = "") -> list[Delivery]:
        return [Delivery((item.incident_id,), ok=self.ok, error=self.error) for item in items]

    def find_delivered(self, attempts: Sequence[Attempt]) -> Lookup:
        return Lookup()


def test_announcements_say_per_channel_whether_anybody_was_told(db_engine: Engine) -> None:
    [change] = apply(db_engine, [finding()], T0, channels={"slack": True}).new
    [quiet] = apply(db_engine, [finding(email="bo@example.test")], T0, channels={}).new
    refused = ScriptedChannel(ok=False, error="Slack answered HTTP 500")
    dispatch(db_engine, {"slack": refused}, now=lambda: T0 + timedelta(minutes=5))
    dispatch(db_engine, {"slack": refused}, now=lambda: T0 + timedelta(minutes=10))
    with db_engine.connect() as conn:
        failing = incidents.announcements(conn, [change.incident_id, quiet.incident_id, 999])
    slack, email = failing[change.incident_id]
    assert (slack.channel, slack.status, slack.attempts) == ("slack", "failed", 2)
    assert slack.last_error == "Slack answered HTTP 500" and slack.sent_at is None
    assert (email.status, email.last_error) == ("skipped", "email alerts are not configured")
    assert [a.status for a in failing[quiet.incident_id]] == ["skipped", "skipped"]
    assert failing[999] == []

    dispatch(db_engine, {"slack": ScriptedChannel(ok=True)}, now=lambda: T0 + timedelta(hours=1))
    apply(db_engine, [finding(value=900.0, severity="critical")], T0 + timedelta(hours=2))
    with db_engine.connect() as conn:
        told = incidents.announcements(conn, [change.incident_id])[change.incident_id]
    assert [(a.channel, a.reason, a.status) for a in told] == [
        ("slack", "new", "sent"),
        ("email", "new", "skipped"),
        ("slack", "escalated", "pending"),
        ("email", "escalated", "pending"),
    ]
    assert told[0].sent_at == T0 + timedelta(hours=1) and told[0].last_error is None
