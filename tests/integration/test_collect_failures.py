"""How a failing collection reports: one message for a refused key, stream names one way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.cursor_fake import Answers, collect, fake_cursor
from tests.integration.helpers import Run, run_cli, write_config
from tracker_core.collector import CollectionSummary
from tracker_core.storage import open_database
from tracker_core.storage import tables as t

MEMBERS = [{"id": 1, "email": "ann@x.test", "name": "Ann", "role": "member"}]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/teams/members", 403, "Cursor Admin API refused access (403): the team needs"),
        ("/analytics/team/dau", 401, "Cursor Analytics API rejected the key (401)"),
    ],
)
def test_the_first_refusal_ends_the_run(db_url: str, path: str, status: int, message: str) -> None:
    answers = Answers(members=MEMBERS, refusals={path: (status, "no")})

    async def run() -> CollectionSummary:
        async with fake_cursor(answers) as url:
            return await collect(url, db_url)

    summary = asyncio.run(run())
    # Nothing after the refusal was asked for: not the next stream, not the next metric.
    assert answers.asked[-1] == path and answers.asked.count(path) == 1
    if path == "/teams/members":
        assert answers.asked == [path]
    data = summary.to_json()
    assert data["stopped"].startswith(message)
    assert [error.split(": ", 1)[1] for error in data["errors"]] == [data["stopped"]]
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            recorded = conn.execute(
                select(t.collection_streams.c.stream, t.collection_streams.c.error)
            ).all()
            status_row = conn.execute(select(t.collection_runs.c.status)).scalar_one()
    finally:
        engine.dispose()
    failing = [stream for stream, error in recorded if error is not None]
    assert failing == [list(data["streams"])[-1]]
    assert status_row == ("failed" if path == "/teams/members" else "partial")


def test_stream_names_read_the_same_in_every_message(db_url: str, tmp_path: Path) -> None:
    answers = Answers(
        members=MEMBERS,
        refusals={
            "/teams/daily-usage-data": (400, "bad window"),
            "/teams/filtered-usage-events": (400, "bad window"),
        },
    )

    async def run() -> Run:
        async with fake_cursor(answers) as url:
            config = write_config(tmp_path / "c.toml", api_url=url, db_url=db_url)
            return await asyncio.to_thread(run_cli, "collect", config=config)

    result = asyncio.run(run())
    assert result.code == 1
    output = " ".join((result.stdout + result.stderr).split())
    assert "daily_usage" not in output and "usage_events" not in output
    assert "failed daily usage: POST /teams/daily-usage-data was refused" in output
    assert result.stderr.splitlines()[-1] == (
        "cursor-tracker: collection incomplete: daily usage, usage events failed: "
        "POST /teams/daily-usage-data was refused with HTTP 400: bad window"
    )
    assert "daily usage: FAILED" in result.stderr
