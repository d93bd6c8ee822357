"""Notifications for incidents opened while the console is on screen, batched like Slack's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from tracker_core.incidents import IncidentView
from tracker_tui.watch import new_incident_notices

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BASE = IncidentView(
    id=1,
    anomaly_id=1,
    status="open",
    rule="spend_spike",
    email="ana@example.test",
    name="Ana Silva",
    period=date(2026, 11, 20),
    value=400.0,
    threshold=100.0,
    severity="warning",
    message="Ana Silva spent $400.00 on 2026-11-20, 4.0x her usual $100.00 a day",
    top_model="gpt-5",
    top_model_share=0.9,
    onset_at=AT,
    detected_at=AT,
    alerted_at=None,
    acknowledged_at=None,
    resolved_at=None,
    resolved_by=None,
)


def incident(number: int, **fields: object) -> IncidentView:
    return replace(BASE, id=number, anomaly_id=number, **fields)  # type: ignore[arg-type]


def test_up_to_three_are_told_one_by_one_loud_when_critical() -> None:
    notices = new_incident_notices([incident(7), incident(8, severity="critical")])
    assert [(n.title, n.severity) for n in notices] == [
        ("New warning incident #7", "warning"),
        ("New critical incident #8", "error"),
    ]
    assert notices[0].message == BASE.message


def test_four_or_more_are_one_summary_naming_who() -> None:
    names = ["Ana Silva", "Bo Chen", "Cy Diaz", "Di Eze", "Ed Fox", "Ana Silva"]
    views = [incident(n, name=name) for n, name in enumerate(names, start=1)]
    [summary] = new_incident_notices([*views[:-1], replace(views[-1], severity="critical")])
    assert summary.title == "6 new incidents"
    assert summary.severity == "error"
    assert summary.message == (
        "1 critical, 5 warning: Ana Silva, Bo Chen, Cy Diaz, Di Eze and 1 more."
        " Press 4 for the queue."
    )


def test_an_incident_resolved_before_the_look_is_not_news() -> None:
    resolved = incident(3, status="resolved")
    assert new_incident_notices([resolved]) == []
    assert [n.title for n in new_incident_notices([resolved, incident(4)])] == [
        "New warning incident #4"
    ]
