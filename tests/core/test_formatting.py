"""The figures every face shows: money, counts, durations, instants, ages and names.

The console, the command line and the alerts write a figure through one module, so the last
test reads the same cents off the command line's table and off an alert.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from rich.console import Console

from tracker_core.alerting.email import individual_email
from tracker_core.alerting.items import AlertItem
from tracker_core.alerting.slack import individual_message
from tracker_core.cli.render import print_daily, print_top_spenders
from tracker_core.formatting import (
    age,
    column_counts,
    count,
    count_axis,
    day,
    display_name,
    duration,
    forecast_short,
    instant,
    is_stale,
    money,
    money_axis,
    money_range,
    money_short,
)
from tracker_core.views import dollars
from tracker_core.views.stats import DayStats, TeamStats, UserStats

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "text", "stale"),
    [
        (0, "collected just now", False),
        (1, "collected 1 minute ago", False),
        (12, "collected 12 minutes ago", False),
        (119, "collected 119 minutes ago", False),
        (120, "collected 2 hours ago", False),
        (121, "collected 2 hours ago", True),
        (60 * 72, "collected 3 days ago", True),
    ],
)
def test_age_and_staleness(minutes: int, text: str, stale: bool) -> None:
    since = NOW - timedelta(minutes=minutes)
    assert age(since, NOW) == text
    assert is_stale(since, NOW) is stale


def test_never_collected_is_stale() -> None:
    assert age(None, NOW) == "never collected"
    assert is_stale(None, NOW)


def test_an_age_compares_a_naive_stored_time_as_utc_and_never_goes_negative() -> None:
    assert age(datetime(2026, 11, 20, 14, 48), NOW) == "collected 12 minutes ago"
    assert not is_stale(datetime(2026, 11, 20, 14, 48), NOW)
    assert age(NOW + timedelta(minutes=5), NOW) == "collected just now"  # a clock behind


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (123456, "$1,234.56"),
        (0, "$0.00"),
        (1, "$0.01"),
        (99.4, "$0.99"),
        (-150, "-$1.50"),
        (-0.3, "$0.00"),  # rounds to nothing: no "-$0.00"
        (10**13, "$100,000,000,000.00"),
        (2000.25, "$20.00"),
    ],
)
def test_money_is_exact_to_the_cent(cents: float, text: str) -> None:
    assert money(cents) == text


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "$0"),
        (999, "$10"),
        (99_949, "$999"),
        (99_999, "$1.0k"),  # not "$1,000": the unit follows the rounding
        (123456, "$1.2k"),
        (999_000, "$10k"),  # not "$10.0k"
        (4_200_000, "$42k"),
        (99_949_999, "$999k"),
        (99_999_999, "$1.0M"),  # not "$1000k"
        (10**13, "$100,000.0M"),
        (-123456, "-$1.2k"),
        (-40, "$0"),
    ],
)
def test_short_money_fits_a_tile_and_changes_unit_where_rounding_lands(
    cents: float, text: str
) -> None:
    assert money_short(cents) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (956_182, "956,182"),
        (999_999, "999,999"),
        (1_034_221, "1.0M"),
        (999_949_999, "999.9M"),
        (999_960_000, "1.0B"),  # not "1000.0M"
        (2_500_000_000, "2.5B"),
        (10**15, "1,000,000.0B"),
        (-1234, "-1,234"),
        (-2_500_000, "-2.5M"),
        (2.6, "3"),
    ],
)
def test_a_count_alone_is_exact_below_a_million(value: float, text: str) -> None:
    assert count(value) == text


def test_a_count_column_reads_in_the_unit_of_its_largest_value() -> None:
    assert column_counts([1_034_221, 956_182, 4_200]) == ["1.0M", "1.0M", "<0.1M"]
    assert column_counts([2_500_000_000, 956_182]) == ["2.5B", "<0.1B"]
    assert column_counts([999_960_000, 1_000]) == ["1.0B", "<0.1B"]
    # Never a count shown as none that is not: 552 beside 4.6M, and a real zero.
    assert column_counts([4_600_000, 552, 0, 50_000]) == ["4.6M", "<0.1M", "0", "0.1M"]
    assert column_counts([956_182, 4_200]) == ["956,182", "4,200"]
    assert column_counts([-2_000_000, 0]) == ["-2.0M", "0"]
    assert column_counts([]) == []


def test_axis_labels_name_their_ticks_exactly_in_one_unit() -> None:
    assert money_axis([0, 200, 400, 600]) == ["$0", "$2", "$4", "$6"]
    assert money_axis([0, 250, 500, 750]) == ["$0", "$2.50", "$5.00", "$7.50"]
    assert money_axis([0, 10, 20]) == ["$0", "$0.10", "$0.20"]
    assert money_axis([0, 1_000_000, 2_000_000]) == ["$0", "$10k", "$20k"]
    assert money_axis([0, 625_000, 1_250_000]) == ["$0", "$6.25k", "$12.50k"]
    assert count_axis([0, 2.5, 5, 7.5]) == ["0", "2.5", "5.0", "7.5"]
    assert count_axis([0, 500, 1000]) == ["0", "500", "1,000"]
    assert count_axis([0, 2_500_000, 5_000_000]) == ["0", "2.5M", "5.0M"]
    assert count_axis([0, 1_250_000]) == ["0", "1.25M"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (timedelta(0), "0m"),
        (timedelta(minutes=42), "42m"),
        (timedelta(minutes=59, seconds=29), "59m"),
        (timedelta(minutes=59, seconds=40), "1.0h"),  # not "60m"
        (timedelta(hours=3, minutes=30), "3.5h"),
        (timedelta(hours=23, minutes=56), "23.9h"),
        (timedelta(hours=23, minutes=58), "1.0d"),  # not "24.0h"
        (timedelta(days=2, hours=2, minutes=24), "2.1d"),
        (timedelta(days=400), "400.0d"),
    ],
)
def test_a_response_time_reads_in_the_unit_its_rounding_lands_in(
    value: timedelta | None, text: str
) -> None:
    assert duration(value) == text


def test_instants_and_days_read_in_utc_or_as_a_dash() -> None:
    assert instant(datetime(2026, 11, 20, 14, 5, 59, tzinfo=UTC)) == "2026-11-20 14:05 UTC"
    assert instant(datetime(2026, 11, 20, 14, 5)) == "2026-11-20 14:05 UTC"  # stored naive
    east = timezone(timedelta(hours=2))
    assert instant(datetime(2026, 11, 21, 1, 30, tzinfo=east)) == "2026-11-20 23:30 UTC"
    assert instant(None) == "—"
    assert day(date(2026, 11, 20)) == "2026-11-20"
    assert day(None) == "—"


def test_a_member_is_named_by_name_else_by_email() -> None:
    assert display_name("Ada Lovelace", "ada@x.test") == "Ada Lovelace"
    assert display_name("  Ada \t\n Lovelace ", "ada@x.test") == "Ada Lovelace"
    assert display_name("", "ada@x.test") == "ada@x.test"
    assert display_name("   ", "ada@x.test") == "ada@x.test"
    assert display_name(None, "ada@x.test") == "ada@x.test"
    assert display_name("ada@x.test", "ada@x.test") == "ada@x.test"


def _cli_stats(cents: float) -> str:
    """What ``cursor-tracker stats`` prints for a team whose one member spent ``cents``."""
    today = date(2026, 11, 20)
    stats = TeamStats(
        days=1,
        start=today,
        end=today,
        members=1,
        active_members=1,
        total_spend_cents=cents,
        requests=3,
        tokens=1000,
        usage_events=3,
        cycle_start=date(2026, 11, 1),
        cycle_end=None,
        cycle_spend_cents=cents,
        users=[UserStats("ada@x.test", "Ada", cents, 3, 1000, "gpt-5")],
        daily=[DayStats(today, cents, 3, 1)],
    )
    out = io.StringIO()
    console = Console(file=out, width=200, markup=False, emoji=False, highlight=False)
    print_top_spenders(stats, console)
    print_daily(stats, console)
    return out.getvalue()


def _alerts(cents: float) -> tuple[str, str, str]:
    """The value of a spend alert for ``cents``: Slack's field, the email's text and HTML.

    Findings carry dollars rounded to the cent, as detection reports them.
    """
    item = AlertItem(
        incident_id=7,
        rule="spend_limit",
        email="ada@x.test",
        name="Ada",
        period=date(2026, 11, 1),
        value=dollars(cents),
        threshold=100.0,
        severity="critical",
        message="Ada spent a lot",
        detected_at=NOW,
    )
    slack = json.dumps(individual_message(item, "").blocks, ensure_ascii=False)
    email = individual_email(item, "")
    return slack, email.text, email.html


@pytest.mark.parametrize("cents", [123_456_789, 5, 2000.5, 2001.5, 99_999.6, 0])
def test_the_command_line_and_an_alert_write_the_same_cents_alike(cents: float) -> None:
    shown = money(cents)
    table = _cli_stats(cents)
    assert table.count(shown) == 4, table  # title total, member row, cycle line, day row
    slack, text, html = _alerts(cents)
    assert f"*Value*\\n{shown}" in slack
    assert shown in text
    assert shown in html


def test_an_alert_counts_tokens_as_the_console_does() -> None:
    item = AlertItem(
        incident_id=8,
        rule="tokens_limit",
        email="ada@x.test",
        name="Ada",
        period=date(2026, 11, 20),
        value=956_182,
        threshold=12_400_000,
        severity="warning",
        message="Ada used many tokens",
        detected_at=NOW,
    )
    slack = json.dumps(individual_message(item, "").blocks, ensure_ascii=False)
    # The console's tile and the alert write 956,182 alike (the alert once said "956.2K").
    assert f"{count(956_182)} tokens" == "956,182 tokens"
    assert "956,182 tokens" in slack and "12.4M tokens" in slack
    assert "956,182 tokens" in individual_email(item, "").text


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [
        (120_000, 145_000, "$1.2k-$1.4k"),  # distinct already: as short as ever
        (2_690_000, 2_710_000, "$26.9k-$27.1k"),  # "$27k-$27k" would hide the range
        (987_000, 989_000, "$9.87k-$9.89k"),
        (123_400_000, 123_900_000, "$1.23M-$1.24M"),
        (2_699_000, 2_701_000, "$26,990-$27,010"),  # whole dollars as the last resort
        (2_700_000, 2_700_040, "$27k-$27k"),  # under a dollar apart: one figure, truly
    ],
)
def test_a_short_range_never_reads_as_one_figure(low: float, high: float, text: str) -> None:
    assert money_range(low, high, short=True) == text


@pytest.mark.parametrize(
    ("spent", "expected", "low", "high", "shown"),
    [
        # The range needs a digit more: so do the figures above it.
        (2_120_000, 2_175_000, 2_160_000, 2_190_000, ("$21.2k → $21.8k", "$21.6k-$21.9k")),
        # Ends apart at the usual precision: the usual figures.
        (2_120_000, 2_400_000, 2_200_000, 2_600_000, ("$21k → $24k", "$22k-$26k")),
        (41_000, 52_000, 47_000, 58_000, ("$410 → $520", "$470-$580")),
    ],
)
def test_a_short_forecast_is_never_outside_the_range_shown_under_it(
    spent: float, expected: float, low: float, high: float, shown: tuple[str, str]
) -> None:
    assert forecast_short(spent, expected, low, high) == shown
