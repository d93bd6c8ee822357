"""One anomaly finding as the incident tests need it: the lifecycle's pure plan and the stored
incidents are driven by the same records."""

from __future__ import annotations

from datetime import date

from tracker_core.detection.model import Finding, Rule, Severity

DAY = date(2026, 11, 20)
CYCLE = date(2026, 11, 1)
BOTH = {"slack": True, "email": True}
"""Both alert channels configured."""


def finding(
    rule: Rule = "spend_spike",
    email: str = "ana@example.test",
    period: date = DAY,
    value: float = 400.0,
    severity: Severity = "warning",
) -> Finding:
    return Finding(
        rule=rule,
        email=email,
        name="Ana Silva",
        period=period,
        value=value,
        threshold=250.0,
        severity=severity,
        message=f"Ana Silva spent ${value:.2f} on {period}",
        top_model="claude-4.1-opus",
        top_model_share=0.9,
    )
