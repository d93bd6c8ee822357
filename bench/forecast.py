"""Forecast benchmark: cycle-end error day by day on past cycles, against a straight line.

Generates the simulator's realistic organisation (``generate_scenario(realistic=True)``:
heavy-tailed spend, part-timers, vacations, new hires, idle seats, model switches, planted
spikes) and replays each of its last full billing cycles day by day, as if the forecast were
asked at noon of each cycle day: only the usage events stamped before that instant are read
(as ``detect --as-of`` reads nothing stored later), summed per member and day, and given to
:func:`tracker_core.forecast.forecast_cycle`. In the same run it measures a straight-line
projection of the spend so far (spend / days elapsed, the half day included, x cycle length).

The same replay runs on a copy of the organisation with a planted ramp: a few members whose
spend grows steadily from two weeks before the cycle to four times its level by the cycle's
end (the simulator's own generator has no ramping member), since a ramp is where a forecast
learned from past weeks is most tempted to lag.

It prints, per cycle day, the mean absolute percentage error of the team's cycle-end forecast
and of the members' (members who spent at least $10 in the cycle), for both methods, averaged
over the seeds and cycles. Target: from day 10 on, the team's error at most half the straight
line's and under 10 %.

    python bench/forecast.py [--users 200] [--seeds 3] [--cycles 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker_core.cycle import month_after_end
from tracker_core.domain import utc_day
from tracker_core.forecast import forecast_cycle
from tracker_core.forecast.rates import LOOKBACK_DAYS
from tracker_core.simulator import generate_scenario

TARGET_SHARE_OF_LINE = 0.5
TARGET_TEAM_ERROR = 0.10
FROM_DAY = 10
MIN_MEMBER_DOLLARS = 10.0
"""Members below this cycle spend are left out of the members' error (a percentage of cents)."""
ASKED_AT_HOUR = 12
RAMPERS = 4
RAMP_TO = 4.0
"""A ramping member spends this many times their level by the cycle's end."""
NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
"""The organisation's "now": the cycles before it are past and whole."""


@dataclass
class Organisation:
    """Each member's spend in dollars per day, and before noon of each day."""

    whole: dict[str, dict[date, float]]
    morning: dict[str, dict[date, float]]

    def as_asked(self, day: date, cycle_start: date) -> dict[str, dict[date, float]]:
        """What was stored at noon of ``day``: whole days before it, the morning of it."""
        first = cycle_start - timedelta(days=LOOKBACK_DAYS + 7)
        histories: dict[str, dict[date, float]] = {}
        for email, days in self.whole.items():
            known = {d: spend for d, spend in days.items() if first <= d < day}
            if (partial := self.morning[email].get(day)) is not None:
                known[day] = partial
            histories[email] = known
        return histories

    def cycle_total(self, email: str, start: date, end: date) -> float:
        return sum(spend for d, spend in self.whole[email].items() if start <= d <= end)


def build(users: int, days: int, seed: int) -> Organisation:
    scenario = generate_scenario(users=users, days=days, seed=seed, now=NOW, realistic=True)
    store = scenario.events
    whole: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    morning: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for row in range(len(store)):
        email = store.emails[store.users[row]]
        stamp = store.timestamps[row]
        day = utc_day(stamp)
        dollars = store.spend_cents(row) / 100.0
        whole[email][day] += dollars
        noon = datetime(day.year, day.month, day.day, ASKED_AT_HOUR, tzinfo=UTC)
        if stamp < noon.timestamp() * 1000:
            morning[email][day] += dollars
    for member in scenario.members:
        whole[member["email"]]  # idle seats too: a forecast of nothing is a forecast
        morning[member["email"]]
    return Organisation(
        {e: dict(d) for e, d in whole.items()}, {e: dict(d) for e, d in morning.items()}
    )


def with_ramp(org: Organisation, cycle_start: date, cycle_end: date) -> Organisation:
    """A copy in which :data:`RAMPERS` members of middling spend ramp up through the cycle."""
    ramp_start = cycle_start - timedelta(days=14)
    span = (cycle_end - ramp_start).days
    ranked = sorted(
        (email for email in org.whole if org.cycle_total(email, ramp_start, cycle_end) > 0),
        key=lambda email: org.cycle_total(email, ramp_start, cycle_end),
    )
    middle = len(ranked) // 2
    chosen = set(ranked[middle : middle + RAMPERS])

    def factor(day: date) -> float:
        if day < ramp_start:
            return 1.0
        return 1.0 + (RAMP_TO - 1.0) * min((day - ramp_start).days / span, 1.0)

    def scaled(table: dict[str, dict[date, float]]) -> dict[str, dict[date, float]]:
        return {
            email: {d: v * factor(d) for d, v in days.items()} if email in chosen else days
            for email, days in table.items()
        }

    return Organisation(scaled(org.whole), scaled(org.morning))


def past_cycles(count: int) -> list[tuple[date, date]]:
    """The last ``count`` whole monthly cycles before :data:`NOW`, oldest first."""
    cycles: list[tuple[date, date]] = []
    start = NOW.date().replace(day=1)
    for _ in range(count):
        end = start - timedelta(days=1)
        start = end.replace(day=1)
        cycles.append((start, month_after_end(start)))
    return cycles[::-1]


@dataclass
class Errors:
    """Absolute percentage errors by cycle day, for our forecast and the straight line."""

    team: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    team_line: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    members: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    members_line: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))


def replay(org: Organisation, start: date, end: date, errors: Errors) -> None:
    length = (end - start).days + 1
    truth = {email: org.cycle_total(email, start, end) for email in org.whole}
    team_truth = sum(truth.values())
    for number in range(1, length + 1):
        day = start + timedelta(days=number - 1)
        asked = datetime(day.year, day.month, day.day, ASKED_AT_HOUR, tzinfo=UTC)
        result = forecast_cycle(org.as_asked(day, start), start, end, asked)
        elapsed = number - 1 + ASKED_AT_HOUR / 24

        def line(spent: float) -> float:
            return spent / elapsed * length  # noqa: B023 - used at once, in this iteration

        team = result.team
        errors.team[number].append(abs(team.expected - team_truth) / team_truth)
        errors.team_line[number].append(abs(line(team.spent) - team_truth) / team_truth)
        for email, forecast in result.members.items():
            actual = truth[email]
            if actual < MIN_MEMBER_DOLLARS:
                continue
            errors.members[number].append(abs(forecast.expected - actual) / actual)
            errors.members_line[number].append(abs(line(forecast.spent) - actual) / actual)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summary(errors: Errors) -> dict[str, Any]:
    days = sorted(errors.team)
    by_day = [
        {
            "day": number,
            "team": round(mean(errors.team[number]), 4),
            "team_line": round(mean(errors.team_line[number]), 4),
            "members": round(mean(errors.members[number]), 4),
            "members_line": round(mean(errors.members_line[number]), 4),
        }
        for number in days
    ]
    late = [row for row in by_day if row["day"] >= FROM_DAY]
    team = mean([row["team"] for row in late])
    team_line = mean([row["team_line"] for row in late])
    worst = max((row["team"] for row in late), default=0.0)
    worst_share = max(
        (row["team"] / row["team_line"] for row in late if row["team_line"] > 0), default=0.0
    )
    return {
        "by_day": by_day,
        "from_day": FROM_DAY,
        "team": round(team, 4),
        "team_line": round(team_line, 4),
        "members": round(mean([row["members"] for row in late]), 4),
        "members_line": round(mean([row["members_line"] for row in late]), 4),
        "worst_team_day": round(worst, 4),
        "met": team <= TARGET_SHARE_OF_LINE * team_line and worst < TARGET_TEAM_ERROR,
        "worst_share_of_line": round(worst_share, 3),
    }


def run(users: int, seeds: int, cycles: int, first_seed: int = 101) -> dict[str, Any]:
    spans = past_cycles(cycles)
    days = (NOW.date() - spans[0][0]).days + LOOKBACK_DAYS + 8
    plain, ramped = Errors(), Errors()
    for seed in range(seeds):
        org = build(users, days, first_seed + seed)
        for start, end in spans:
            replay(org, start, end, plain)
            replay(with_ramp(org, start, end), start, end, ramped)
    return {
        "users": users,
        "seeds": seeds,
        "cycles": [[s.isoformat(), e.isoformat()] for s, e in spans],
        "realistic": summary(plain),
        "ramp": summary(ramped),
    }


def percent(value: float) -> str:
    return f"{value * 100:5.1f}%"


def print_report(result: dict[str, Any]) -> None:
    print(
        f"Forecast error on {result['users']} members x {result['seeds']} seeds, cycles "
        + ", ".join(f"{s}..{e}" for s, e in result["cycles"])
    )
    for name in ("realistic", "ramp"):
        part = result[name]
        print(f"\n{name}: mean absolute percentage error of the cycle-end forecast, by day")
        print(" day    team  straight   members  straight")
        for row in part["by_day"]:
            print(
                f"{row['day']:4d}  {percent(row['team'])}    {percent(row['team_line'])}    "
                f"{percent(row['members'])}    {percent(row['members_line'])}"
            )
        print(
            f"from day {part['from_day']}: team {percent(part['team'])} "
            f"(straight line {percent(part['team_line'])}, "
            f"worst day {percent(part['worst_team_day'])}), "
            f"members {percent(part['members'])} (straight line {percent(part['members_line'])}); "
            f"target {'met' if part['met'] else 'NOT met'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=101)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    result = run(args.users, args.seeds, args.cycles, args.first_seed)
    result["seconds"] = round(time.perf_counter() - began, 1)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
        print(f"\n{result['seconds']} s")
    return 0 if result["realistic"]["met"] and result["ramp"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
