"""A scheduled detection never fails because a collection is writing (SQLite).

The collection backfills 30 days of 300 members from a simulator running in its own process
(so it has a core of its own), while detection runs over and over against the same SQLite
file, announcing to a local Slack. Every detection must succeed, and what they did together
must be what one detection would do: one incident per anomaly, one announcement per alert.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.alerting.servers import SLACK_TOKEN, FakeSlack, serve_slack
from tests.integration.helpers import KEY, cli_env
from tracker_core.collector import CollectionSummary, SilentProgress
from tracker_core.config import Settings, SlackSettings
from tracker_core.jobs.collect import collect_once, simulator_settings
from tracker_core.jobs.detect import run_detection
from tracker_core.storage import open_database
from tracker_core.storage import tables as t

pytestmark = pytest.mark.slow


@pytest.fixture
def simulator() -> Iterator[str]:
    """120 members over 21 days, served without rate limits by a separate process."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracker_core",
            "simulator",
            "--port=0",
            "--users=120",
            "--days=21",
            "--seed=31",
            "--no-rate-limit",
            f"--api-key={KEY}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, first
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server


def test_detection_in_a_loop_during_a_backfill_never_fails_nor_repeats_itself(
    simulator: str, slack: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    base = simulator_settings(simulator, KEY, url, backfill_days=21, events_window_days=7)
    settings: Settings = base.model_copy(
        update={
            "slack": SlackSettings.model_validate(
                {"bot_token": SLACK_TOKEN, "channel_id": "C07ALERTS1", "api_url": slack.base_url}
            ),
            # Small batches: many short write transactions for detection to fall between.
            "collector": base.collector.model_copy(update={"batch_size": 500, "analytics": False}),
        }
    )
    engine = open_database(url)
    collected: list[CollectionSummary] = []
    done = threading.Event()

    def collect() -> None:
        try:
            collected.append(asyncio.run(collect_once(settings, SilentProgress())))
        finally:
            done.set()

    collector = threading.Thread(target=collect)
    collector.start()
    failures: list[str] = []
    runs = 0
    try:
        while not done.wait(0.5):
            try:
                run_detection(engine, settings, dry_run=runs % 3 == 2)
            except Exception as exc:  # every failure is collected, the loop goes on
                failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            runs += 1
        collector.join()
        run_detection(engine, settings)

        assert failures == []
        assert runs >= 2, "the detections did not overlap the collection"
        [summary] = collected
        assert summary.ok, summary.to_json()["errors"]
        a, i, o = t.anomalies, t.incidents, t.alert_outbox
        with engine.connect() as conn:
            fingerprints = conn.execute(
                select(a.c.rule, a.c.email, a.c.period, func.count())
                .group_by(a.c.rule, a.c.email, a.c.period)
                .having(func.count() > 1)
            ).all()
            per_anomaly = conn.execute(
                select(i.c.anomaly_id).group_by(i.c.anomaly_id).having(func.count() > 1)
            ).all()
            sent = Counter(
                conn.execute(select(o.c.incident_id).where(o.c.status == "sent")).scalars()
            )
    finally:
        engine.dispose()
    assert fingerprints == [] and per_anomaly == []
    assert sent, "no alert was delivered: the test proves nothing about duplicates"
    announced = Counter(
        int(n)
        for post in slack.posts()
        for n in set(re.findall(r"#(\d+)\b", json.dumps(post["blocks"])))
    )
    # An incident is announced when new and once more if it escalates: never more often
    # than its delivered outbox rows, and every delivered row was announced.
    assert set(announced) == set(sent)
    assert all(announced[incident] <= sent[incident] for incident in announced)
