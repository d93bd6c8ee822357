"""Values no real team produces, sent by the API: stored within bounds or reported, never a
crash and never a table that breaks later reads. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tests.integration.cursor_fake import Answers, collect, fake_cursor, settings_for
from tests.integration.helpers import Run, run_cli, write_config
from tracker_core.collector import CollectionSummary
from tracker_core.cursor_api.schemas import MAX_EVENT_CENTS, MAX_TEXT, MAX_TOKENS
from tracker_core.jobs.detect import run_detection
from tracker_core.storage import open_database
from tracker_core.storage import tables as t
from tracker_core.views.stats import team_stats

NOW_MS = int(time.time() * 1000)
EVENTS = "POST /teams/filtered-usage-events"


def strict_json(body: str) -> Any:
    """JSON as the standard has it: ``Infinity`` and ``NaN`` are not numbers there."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def event(email: str, **fields: Any) -> dict[str, Any]:
    tokens = fields.pop("tokenUsage", {})
    return {
        "timestamp": str(NOW_MS - 3_600_000),
        "userEmail": email,
        "model": "gpt-5",
        "kind": "Usage-based",
        "tokenUsage": {"inputTokens": 10, "outputTokens": 5, "totalCents": 1.0, **tokens},
        "chargedCents": 2.0,
        **fields,
    }


def hostile_answers() -> Answers:
    return Answers(
        members=[
            {"id": 1, "email": "ann@x.test", "name": "Ann\u0000 Lee", "role": "member"},
            {"id": 2, "email": "bob@x.test", "name": "Bob", "role": "member"},
        ],
        events=[
            # Two events whose tokens summed past 2^63 on SQLite, and past 2^31 per event on
            # PostgreSQL's former int4 columns.
            event("ann@x.test", tokenUsage={"inputTokens": 2**63, "outputTokens": 2**62}),
            event("ann@x.test", model="gpt\u00005", tokenUsage={"inputTokens": 2**62 + 1}),
            event("bob@x.test", tokenUsage={"cacheReadTokens": 3_000_000_000}),
            event("bob@x.test", chargedCents=1e308, tokenUsage={"totalCents": 7.5}),
            event("bob@x.test", chargedCents=-40.0, requestsCosts=2),
        ],
    )


def corrections(summary: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(c["endpoint"], c["field"], c["value"], c["action"]) for c in summary["corrections"]}


def test_implausible_values_are_kept_in_bounds_and_reported(db_url: str, tmp_path: Path) -> None:
    answers = hostile_answers()

    async def run() -> tuple[dict[str, Any], Run]:
        async with fake_cursor(answers) as url:
            first = await collect(url, db_url)
            # The NUL in Ann's name once blocked every later collection on PostgreSQL.
            config = write_config(
                tmp_path / "c.toml",
                api_url=url,
                db_url=db_url,
                snapshot_every_hours=0.0,  # members read again at once, not hours later
                spend_every_hours=0.0,
            )
            second = await asyncio.to_thread(run_cli, "collect", config=config)
        return first.to_json(), second

    summary, again = asyncio.run(run())
    assert again.code == 0, again.stderr
    printed = " ".join(again.stdout.split())
    assert "7 implausible values not stored as sent" in printed
    assert (
        "POST /teams/filtered-usage-events: usageEvents[0].tokenUsage.inputTokens = "
        "9223372036854775808: outside 0 to 1,000,000,000,000: clamped to 1,000,000,000,000"
    ) in printed

    assert summary["ok"], summary["errors"]
    assert summary["corrected"] == len(summary["corrections"]) == 7
    assert summary["streams"]["usage_events"]["corrected"] == 6
    assert summary["streams"]["members"]["corrected"] == 1
    clamped = "outside 0 to 1,000,000,000,000: clamped to 1,000,000,000,000"
    assert corrections(summary) == {
        ("GET /teams/members", "teamMembers[0].name", "'Ann\\x00 Lee'", "NUL characters removed"),
        (EVENTS, "usageEvents[0].tokenUsage.inputTokens", str(2**63), clamped),
        (EVENTS, "usageEvents[0].tokenUsage.outputTokens", str(2**62), clamped),
        (EVENTS, "usageEvents[1].model", "'gpt\\x005'", "NUL characters removed"),
        (EVENTS, "usageEvents[1].tokenUsage.inputTokens", str(2**62 + 1), clamped),
        (EVENTS, "usageEvents[3].chargedCents", "1e+308", "outside 0 to 100,000,000: left out"),
        (EVENTS, "usageEvents[4].chargedCents", "-40.0", "outside 0 to 100,000,000: left out"),
    }

    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            names = {e: n for e, n in conn.execute(select(t.members.c.email, t.members.c.name))}
            events = t.usage_events
            stored = conn.execute(
                select(
                    events.c.user_email,
                    events.c.model,
                    events.c.input_tokens,
                    events.c.output_tokens,
                    events.c.cache_read_tokens,
                    events.c.charged_cents,
                    events.c.token_cents,
                ).order_by(events.c.user_email, events.c.input_tokens)
            ).all()
            biggest = conn.execute(text("SELECT MAX(cache_read_tokens) FROM usage_events"))
            assert biggest.scalar_one() == 3_000_000_000
    finally:
        engine.dispose()
    assert names == {"ann@x.test": "Ann Lee", "bob@x.test": "Bob"}
    assert sorted(stored) == sorted(
        [
            ("ann@x.test", "gpt-5", 10**12, 10**12, 0, 2.0, 1.0),
            ("ann@x.test", "gpt5", 10**12, 5, 0, 2.0, 1.0),
            ("bob@x.test", "gpt-5", 10, 5, 3_000_000_000, 2.0, 1.0),
            ("bob@x.test", "gpt-5", 10, 5, 0, None, 7.5),
            ("bob@x.test", "gpt-5", 10, 5, 0, None, 1.0),
        ]
    )

    # Every later read works and prints standard JSON.
    config = write_config(tmp_path / "c.toml", api_url="http://127.0.0.1:9", db_url=db_url)
    stats = run_cli("stats", "--json", config=config)
    assert stats.code == 0, stats.stderr
    figures = strict_json(stats.stdout)
    assert figures["tokens"] == 3 * 10**12 + 5 + 3 * 15
    # Spend: 2 + 2 + 2 charged, 7.5 model cost where the charge was left out, 1.0 likewise.
    assert figures["total_spend"] == pytest.approx(0.145, abs=0.006)
    assert {u["email"]: u["tokens"] for u in figures["users"]} == {
        "ann@x.test": 3 * 10**12 + 5,
        "bob@x.test": 45,
    }
    detect = run_cli("detect", "--json", "--dry-run", config=config)
    assert detect.code == 0, detect.stderr
    strict_json(detect.stdout)


def test_an_error_message_with_nul_is_recorded(db_url: str) -> None:
    """The API's own error text is stored with the run; a NUL in it once aborted the run."""
    answers = hostile_answers()
    answers.refusals["/teams/groups"] = (400, "bad\u0000request")

    async def run() -> CollectionSummary:
        async with fake_cursor(answers) as url:
            return await collect(url, db_url)

    summary = asyncio.run(run())
    assert [result.name for result in summary.failed] == ["groups"]
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                select(t.collection_streams.c.error).where(
                    t.collection_streams.c.stream == "groups"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored == "GET /teams/groups was refused with HTTP 400: badrequest"


# ------------------------------------------------------------------ any answer in Cursor's shapes

_TEXT = st.text(
    alphabet=st.sampled_from(["a", "é", "\u0000", "[", "]", "/", "<", ">", "\ud800", " ", "😀"]),
    max_size=12,
)
_NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**31, 2**63, 10**400, 1e308, -1e308, 0.5]),
)
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    _NUMBER,
    _TEXT,
    st.just("x" * 5000),
    st.lists(st.integers(), max_size=2),
)
_EMAIL = st.one_of(
    st.sampled_from(["ann@x.test", "bob@x.test"]),
    _TEXT.map(lambda text: f"{text}@x.test"),
    st.just("a" * 400 + "@x.test"),
)


def _maybe(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects where every field may be absent, have its own kind of value, or any value."""
    return st.fixed_dictionaries(
        {}, optional={key: st.one_of(value, _ANY) for key, value in fields.items()}
    )


_EVENT = st.builds(
    lambda head, rest: {**rest, **head},
    st.fixed_dictionaries(
        {"timestamp": st.just(str(NOW_MS - 3_600_000)), "userEmail": _EMAIL},
    ),
    _maybe(
        model=_TEXT,
        kind=_TEXT,
        chargedCents=_NUMBER,
        requestsCosts=_NUMBER,
        tokenUsage=_maybe(
            inputTokens=_NUMBER,
            outputTokens=_NUMBER,
            cacheReadTokens=_NUMBER,
            cacheWriteTokens=_NUMBER,
            totalCents=_NUMBER,
        ),
    ),
)
_MEMBER = st.builds(
    lambda email, rest: {**rest, "email": email}, _EMAIL, _maybe(name=_TEXT, role=_TEXT, id=_NUMBER)
)
_DAILY = st.builds(
    lambda email, rest: {**rest, "email": email, "day": "2026-01-05"},
    _EMAIL,
    _maybe(totalLinesAdded=_NUMBER, chatRequests=_NUMBER, mostUsedModel=_TEXT),
)
_SPEND = st.builds(
    lambda email, rest: {**rest, "email": email},
    _EMAIL,
    _maybe(spendCents=_NUMBER, fastPremiumRequests=_NUMBER, name=_TEXT),
)
_DAU = st.builds(
    lambda rest: {**rest, "date": "2026-01-05"},
    st.dictionaries(_TEXT, _NUMBER, max_size=3),
)


def _stored_values_in_bounds(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            ue = t.usage_events
            for column in ("input_tokens", "output_tokens", "cache_read_tokens"):
                low, high = conn.execute(
                    select(func.min(ue.c[column]), func.max(ue.c[column]))
                ).one()
                assert low is None or 0 <= low <= high <= MAX_TOKENS
            low, high = conn.execute(
                select(func.min(ue.c.charged_cents), func.max(ue.c.charged_cents))
            ).one()
            assert low is None or 0 <= low <= high <= MAX_EVENT_CENTS
            for email, name in conn.execute(select(t.members.c.email, t.members.c.name)):
                assert "\u0000" not in email + name and len(name) <= MAX_TEXT
    finally:
        engine.dispose()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    members=st.lists(_MEMBER, max_size=3),
    events=st.lists(_EVENT, max_size=4),
    daily=st.lists(_DAILY, max_size=2),
    spend=st.lists(_SPEND, max_size=2),
    dau=st.lists(_DAU, max_size=2),
)
def test_any_answer_is_stored_in_bounds_or_reported(
    db_url: str,
    members: list[Any],
    events: list[Any],
    daily: list[Any],
    spend: list[Any],
    dau: list[Any],
) -> None:
    """Whatever the API sends, the collection ends with a summary (never an exception), what
    was stored is within bounds, and the reports after it are standard JSON. One database
    collects every example, so a value that poisoned a table would break the ones after it."""
    answers = Answers(members=members, events=events, daily=daily, spend=spend, analytics=dau)

    async def run() -> CollectionSummary:
        async with fake_cursor(answers) as url:
            return await collect(url, db_url)

    summary = asyncio.run(run())
    report = json.dumps(summary.to_json(), allow_nan=False)
    for result in summary.streams:
        # Anything not stored as sent is reported: as a correction, or as the stream's error.
        assert result.ok or result.error
    assert len(json.loads(report)["corrections"]) <= summary.corrected
    _stored_values_in_bounds(db_url)

    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            stats = team_stats(conn, days=30, today=datetime.now(UTC).date())
        json.dumps(stats.to_json(), allow_nan=False)
        detection = run_detection(engine, settings_for("http://127.0.0.1:9", db_url), dry_run=True)
        json.dumps(detection.to_json(), allow_nan=False)
    finally:
        engine.dispose()
