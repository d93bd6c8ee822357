"""The lifecycle's decisions as a pure function: stored anomalies and findings in, a plan out.

No database here: the plan is what :mod:`tracker_core.incidents.store` writes, and
tests/core/test_incidents.py checks that writing on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from tests.findings import BOTH, CYCLE, DAY, finding
from tracker_core.detection.model import Finding, Rule
from tracker_core.incidents.lifecycle import (
    KnownAnomaly,
    LifecyclePlan,
    Opening,
    plan,
)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def stored(found: Finding, number: int = 7, **state: object) -> KnownAnomaly:
    """``found`` as the database holds it, anomaly and incident numbered ``number``."""
    return KnownAnomaly(
        rule=found.rule,
        email=found.email,
        name=found.name,
        period=found.period,
        value=found.value,
        threshold=found.threshold,
        severity=found.severity,
        message=found.message,
        top_model=found.top_model,
        top_model_share=found.top_model_share,
        anomaly_id=number,
        incident_id=number,
        status=str(state.pop("status", "open")),
        **state,  # type: ignore[arg-type]
    )


def run(
    known: list[KnownAnomaly],
    findings: list[Finding],
    *,
    evaluable: tuple[Rule, ...] = ("spend_limit", "cycle_outlier"),
    channels: dict[str, bool] = BOTH,
    onsets: dict[tuple[str, str, date], datetime] | None = None,
) -> LifecyclePlan:
    return plan(
        known,
        findings,
        onsets=onsets or {},
        now=NOW,
        channels=channels,
        cycle_start=CYCLE,
        cycle_rules_evaluable=evaluable,
    )


def reasons(decided: LifecyclePlan) -> list[tuple[int | str, str, str, str | None]]:
    """Each queued alert as (incident number, or the opened member, channel, reason, skipped)."""
    return [
        (
            a.subject.finding.email if isinstance(a.subject, Opening) else a.subject,
            a.channel,
            a.reason,
            a.skipped,
        )
        for a in decided.alerts
    ]


def test_a_new_fingerprint_opens_an_incident_announced_on_every_channel() -> None:
    found = finding()
    onset = NOW - timedelta(minutes=50)
    decided = run([], [found], onsets={found.fingerprint: onset})
    assert decided.opens == (Opening(found, onset),)
    assert (decided.updates, decided.resolves, decided.suppressed) == ((), (), 0)
    assert reasons(decided) == [
        ("ana@example.test", "slack", "new", None),
        ("ana@example.test", "email", "new", None),
    ]
    assert all(alert.subject is decided.opens[0] for alert in decided.alerts)


def test_an_onset_is_never_later_than_the_run_and_defaults_to_it() -> None:
    late, unknown = finding(), finding(email="bo@example.test")
    decided = run([], [late, unknown], onsets={late.fingerprint: NOW + timedelta(hours=1)})
    assert [o.onset_at for o in decided.opens] == [NOW, NOW]


def test_a_fingerprint_found_twice_in_one_run_opens_once() -> None:
    decided = run([], [finding(), finding(value=999.0)])
    assert [o.finding.value for o in decided.opens] == [400.0]
    assert len(decided.alerts) == 2


def test_finding_the_same_thing_again_changes_nothing() -> None:
    found = finding()
    assert run([stored(found)], [found]) == LifecyclePlan()


def test_a_repeat_finding_with_new_figures_updates_in_place_and_tells_nobody() -> None:
    known = stored(finding(value=400.0))
    grown = finding(value=520.0)
    decided = run([known], [grown])
    assert decided.opens == () and decided.alerts == ()
    [update] = decided.updates
    assert (update.known, update.finding, update.severity) == (known, grown, "warning")
    assert (update.escalated, update.reopened_as) == (False, None)


def test_a_changed_top_model_alone_is_not_a_change() -> None:
    known = stored(finding())
    assert run([known], [replace(finding(), top_model="gpt-5")]).updates == ()


def test_warning_turned_critical_escalates_and_is_announced_again() -> None:
    known = stored(finding(severity="warning"), number=3)
    decided = run([known], [finding(value=900.0, severity="critical")])
    [update] = decided.updates
    assert (update.escalated, update.severity) == (True, "critical")
    assert reasons(decided) == [(3, "slack", "escalated", None), (3, "email", "escalated", None)]


def test_a_critical_anomaly_is_never_downgraded_nor_announced_for_calming_down() -> None:
    known = stored(finding(value=900.0, severity="critical"))
    decided = run([known], [finding(value=800.0, severity="warning")])
    [update] = decided.updates
    assert (update.escalated, update.severity, update.finding.value) == (False, "critical", 800.0)
    assert decided.alerts == ()


def test_a_fingerprint_a_person_resolved_stays_resolved_but_the_next_day_opens_anew() -> None:
    known = stored(finding(), status="resolved", resolved_by="person")
    again = run([known], [finding(value=999.0, severity="critical")])
    assert again == LifecyclePlan(suppressed=1)
    next_day = run([known], [finding(period=DAY + timedelta(days=1))])
    assert len(next_day.opens) == 1 and next_day.suppressed == 0


def test_a_cycle_rule_no_longer_firing_resolves_only_when_it_could_be_evaluated() -> None:
    outlier = stored(finding(rule="cycle_outlier", period=CYCLE, value=1500.0), number=4)
    limit = stored(finding(rule="spend_limit", period=CYCLE, value=2500.0), number=5)
    assert run([outlier, limit], []).resolves == (outlier, limit)
    # Too few active members to judge outliers: silence is not evidence.
    assert run([outlier, limit], [], evaluable=("spend_limit",)).resolves == (limit,)
    # Still firing: nothing to resolve.
    assert (
        run([outlier], [finding(rule="cycle_outlier", period=CYCLE, value=1500.0)]).resolves == ()
    )


def test_a_cycle_anomaly_of_an_earlier_cycle_resolves_even_when_unevaluable() -> None:
    old = stored(finding(rule="cycle_outlier", period=date(2026, 10, 1)))
    assert run([old], [], evaluable=()).resolves == (old,)


def test_daily_anomalies_and_resolved_ones_are_not_resolved_again() -> None:
    daily = stored(finding(), number=1)
    done = stored(
        finding(rule="spend_limit", period=CYCLE), number=2, status="resolved", resolved_by="auto"
    )
    assert run([daily, done], []).resolves == ()


def test_a_cycle_anomaly_that_comes_back_picks_up_its_incident_where_it_was() -> None:
    outlier = finding(rule="cycle_outlier", period=CYCLE, value=1500.0)
    cleared = stored(outlier, number=9, status="resolved", resolved_by="auto")
    expected = {
        (False, False): "open",
        (True, False): "alerted",
        (True, True): "acknowledged",
    }
    for (alerted, acknowledged), status in expected.items():
        known = replace(cleared, alerted=alerted, acknowledged=acknowledged)
        decided = run([known], [outlier])
        [update] = decided.updates
        assert (update.known.incident_id, update.reopened_as) == (9, status)
        assert decided.opens == () and decided.alerts == ()


def test_an_unconfigured_channel_is_queued_as_skipped_with_the_reason() -> None:
    decided = run([], [finding()], channels={"slack": True})
    assert [alert.skipped for alert in decided.alerts] == [None, "email alerts are not configured"]
    assert reasons(run([], [finding()], channels={}))[0][3] == "slack alerts are not configured"


def test_alerts_are_queued_in_the_order_of_the_findings() -> None:
    known = stored(finding(email="bo@example.test", severity="warning"), number=2)
    decided = run(
        [known], [finding(email="bo@example.test", severity="critical"), finding(email="cy@x.test")]
    )
    assert [(s, r) for s, _, r, _ in reasons(decided)] == [
        (2, "escalated"),
        (2, "escalated"),
        ("cy@x.test", "new"),
        ("cy@x.test", "new"),
    ]


# --- episodes --------------------------------------------------------------------------------


def _days_of_runs(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def test_a_five_day_condition_is_one_incident_and_one_alert() -> None:
    """Run daily over yesterday and today, with the plan's effect stored in between."""
    from tracker_core.incidents.replay import Replay

    replay = Replay()
    start = date(2026, 11, 16)
    announced: list[Finding] = []
    for day in _days_of_runs(start, 5):
        evaluated = [day - timedelta(days=1), day]
        findings = [
            finding(period=d, value=400.0 + (d - start).days) for d in evaluated if start <= d
        ]
        end = datetime(day.year, day.month, day.day, 23, tzinfo=UTC)
        announced += replay.run(findings, now=end, cycle_start=CYCLE, days=evaluated)
    assert [(f.rule, f.period) for f in announced] == [("spend_spike", start)]
    (episode,) = replay.known.values()
    assert episode.status == "open"
    assert (episode.period, episode.value) == (start + timedelta(days=4), 404.0)
    # The first run without the condition on a whole evaluated day resolves it.
    after = start + timedelta(days=6)
    replay.run([], now=NOW, cycle_start=CYCLE, days=[after - timedelta(days=1), after])
    (episode,) = replay.known.values()
    assert (episode.status, episode.resolved_by) == ("resolved", "auto")


def test_an_episode_moves_its_period_and_is_announced_again_only_on_escalation() -> None:
    yesterday = DAY - timedelta(days=1)
    known = stored(finding(period=yesterday), number=3)
    decided = plan(
        [known],
        [finding(period=yesterday), finding(period=DAY, value=500.0)],
        onsets={},
        now=NOW,
        channels=BOTH,
        cycle_start=CYCLE,
        days=[yesterday, DAY],
    )
    assert decided.opens == () and decided.alerts == () and decided.resolves == ()
    [update] = decided.updates
    assert (update.known.anomaly_id, update.finding.period, update.finding.value) == (
        3,
        DAY,
        500.0,
    )
    escalating = plan(
        [known],
        [finding(period=DAY, value=2_000.0, severity="critical")],
        onsets={},
        now=NOW,
        channels=BOTH,
        cycle_start=CYCLE,
        days=[yesterday, DAY],
    )
    assert reasons(escalating) == [(3, "slack", "escalated", None), (3, "email", "escalated", None)]
    assert escalating.opens == ()


def test_a_gap_of_a_day_starts_a_new_episode_and_other_members_or_rules_do_not_continue() -> None:
    two_days_ago = DAY - timedelta(days=2)
    known = stored(finding(period=two_days_ago), number=3)
    decided = run([known], [finding(period=DAY)])
    assert len(decided.opens) == 1
    other = run(
        [stored(finding(period=DAY - timedelta(days=1)), number=4)],
        [
            finding(period=DAY, email="ben@example.test"),
            finding(period=DAY, rule="zscore_spend"),
        ],
    )
    assert len(other.opens) == 2


def test_daily_episodes_resolve_only_when_the_run_says_which_days_it_evaluated() -> None:
    old = stored(finding(period=DAY - timedelta(days=2)), number=5)
    current = stored(finding(period=DAY - timedelta(days=1), email="ben@example.test"), number=6)
    assert run([old, current], []).resolves == ()
    decided = plan(
        [old, current],
        [],
        onsets={},
        now=NOW,
        channels=BOTH,
        cycle_start=CYCLE,
        days=[DAY - timedelta(days=1), DAY],
    )
    assert decided.resolves == (old,)
