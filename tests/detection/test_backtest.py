"""``detect --as-of`` and ``detect --backtest`` over a collected realistic organisation.

The backtest must count exactly what day-by-day ``--as-of`` runs find on the same data, a
replay must read nothing stored after its day, and neither may store or send anything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from tests.integration.helpers import (
    CopyOfTemplate,
    collected_config,
    run_cli,
)
from tracker_core.config import load_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario
from tracker_core.simulator.org import organisation_time
from tracker_core.storage import tables as t

pytestmark = pytest.mark.slow

NOW = organisation_time(datetime.now(UTC))
DAYS = 8


@pytest.fixture(scope="module")
def scenario() -> Any:
    return generate_scenario(users=24, days=24, seed=5, now=NOW, realistic=True)


@pytest.fixture
def collected(scenario: Any, db_url: str, tmp_path: Path, copy_of_template: CopyOfTemplate) -> Path:
    return collected_config(
        scenario, "backtest-24x24-seed5-realistic", db_url, tmp_path, copy_of_template
    )


def _rows(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((f["rule"], f["email"], f["period"], f["severity"]) for f in findings)


def _stored(db_url: str) -> tuple[int, int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.anomalies, t.incidents, t.alert_outbox)
            )
    finally:
        engine.dispose()


def test_backtest_totals_equal_day_by_day_as_of_runs(
    collected: Path, db_url: str, scenario: Any
) -> None:
    backtest = run_cli("detect", "--backtest", "--days", str(DAYS), "--json", config=collected)
    assert backtest.code == 0, backtest.stderr
    result = backtest.json()
    today = NOW.date()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    assert [d["day"] for d in result["days"]] == [d.isoformat() for d in days]
    total = 0
    fingerprints: set[tuple[str, str, str]] = set()
    for day, replayed in zip(days, result["days"], strict=True):
        run = run_cli("detect", "--as-of", day.isoformat(), "--json", config=collected)
        assert run.code == 0, run.stderr
        found = run.json()["findings"]
        assert run.json()["as_of"] == day.isoformat()
        assert _rows(found) == _rows(replayed["findings"]), day
        total += len(found)
        fingerprints |= {(f["rule"], f["email"], f["period"]) for f in found}
    assert result["totals"]["findings"] == total
    by_rule = result["totals"]["by_rule"]
    assert sum(v["findings"] for v in by_rule.values()) == total
    assert sum(v["findings"] for v in result["totals"]["by_member"].values()) == total
    # Something really fired: the planted anomalies of the last two days.
    planted = {a["email"] for a in scenario.planted_anomalies}
    assert planted & {email for email in result["totals"]["by_member"]}
    # Announced: each anomaly once, never more than what fired.
    assert 0 < result["totals"]["announced"] <= len(fingerprints)
    assert _stored(db_url) == (0, 0, 0), "a replay stores nothing"


def test_as_of_reads_nothing_after_its_day(collected: Path, scenario: Any) -> None:
    spike = next(a for a in scenario.planted_anomalies if a["kind"] == "spend_spike")
    day = date.fromisoformat(spike["day"])
    settings = load_settings(str(collected)).settings
    with open_tracker(settings) as tracker:
        stored = tracker.detect()  # today's run: the spike is stored, open
        before = tracker.detect(as_of=day - timedelta(days=1))
        on = tracker.detect(as_of=day)
    assert before.dry_run and on.dry_run
    assert not [f for f in before.findings if f.period >= day]
    # What a replay lists as open is what existed by its day: nothing found of later days.
    assert any(a["period"] == day.isoformat() for a in stored.anomalies)
    assert before.anomalies and not [a for a in before.anomalies if a["period"] >= str(day)]
    assert ("spend_spike", spike["email"], day) in {f.fingerprint for f in on.findings}
    text = run_cli("detect", "--as-of", day.isoformat(), config=collected)
    assert text.code == 0, text.stderr
    assert f"Detection as of the end of {day.isoformat()}: would open" in text.stdout
    assert "Dry run: nothing was stored and no alert was sent." in text.stdout
    future = run_cli(
        "detect", "--as-of", (NOW.date() + timedelta(days=2)).isoformat(), config=collected
    )
    assert future.code == 2 and "is after today" in future.stderr
    bad = run_cli("detect", "--as-of", "30/11/2026", config=collected)
    assert bad.code == 2 and "expected a day as YYYY-MM-DD" in bad.stderr


def test_backtest_with_proposed_settings(collected: Path) -> None:
    settings = load_settings(str(collected)).settings
    with open_tracker(settings) as tracker:
        current = tracker.backtest(days=4)
        strict = tracker.backtest(days=4, changes={"zscore_multiplier": "100"})
    assert current.count_by("findings", "rule")["zscore_spend"] > 0
    assert strict.count_by("findings", "rule")["zscore_spend"] == 0
    assert strict.changes == {"zscore_multiplier": 100.0}

    text = run_cli(
        "detect", "--backtest", "--days", "3", "--set", "spike_multiplier=8", config=collected
    )
    assert text.code == 0, text.stderr
    assert "proposed spike_multiplier=8.0" in text.stdout
    assert "total" in text.stdout

    bad = run_cli("detect", "--backtest", "--set", "zscore_multiplier=0.5", config=collected)
    assert bad.code == 2
    assert "zscore_multiplier must be a number between 1 and 100" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    misplaced = run_cli("detect", "--set", "zscore_multiplier=3", config=collected)
    assert misplaced.code == 2
    assert "--backtest" in misplaced.stderr
