"""Alert noise benchmark: false alerts and recall on a realistic team, ours against the original.

Generates a realistic organisation (``generate_scenario(realistic=True)``: heavy-tailed spend,
part-timers, vacations, new hires, idle seats, model switches) of N members over W weeks, plants
anomalies in the last W-2 weeks (spikes of light and heavy users, a new hire's runaway first
week, cycle outliers, request floods, threshold breaches), then replays detection day by day,
as the hourly job would have run at the end of each day, with two detectors in the same run:

* ours: :func:`tracker_core.detection.rules.detect` through the incident lifecycle
  (:class:`tracker_core.incidents.replay.Replay`), so an alert is an announcement;
* the original tool's rules (seed-internals section 4): z-score against the mean and population
  deviation of all active members *including* the member, the 5x spike over the active days
  of the last week, the 10x cycle outlier against the upper median, with its open-key dedup
  (a key stays open while detected, and is announced again after it cleared).

It prints, for each, false alerts per 100 members per week (announcements of a statistical
rule on a member and day where nothing was planted) and recall (planted anomalies for which a
rule meant for them fired on their days). Targets: ours at most 1 false alert per 100 members
per week, recall at least 0.95, both better than the original's.

    python bench/alert_noise.py [--users 500] [--weeks 10] [--seed 11] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker_core.detection.measures import PERSONAL_LOOKBACK_DAYS, QUIET_DAY, pace_before
from tracker_core.detection.model import DayMeasure, Finding, MemberUsage
from tracker_core.detection.rules import detect, detection_window
from tracker_core.detection.settings import DetectionSettings
from tracker_core.domain import utc_day
from tracker_core.incidents.replay import Replay
from tracker_core.simulator import generate_scenario
from tracker_core.simulator.scenario import ANOMALY_KINDS

TARGET_FALSE_PER_100_WEEK = 1.0
TARGET_RECALL = 0.95
STATISTICAL = frozenset({"zscore_spend", "zscore_requests", "spend_spike", "cycle_outlier"})
"""Rules whose firing is a judgement; a cap a manager set is never a false alert."""
SETTINGS = DetectionSettings(max_tokens_per_day=400_000_000, max_requests_per_day=2_000)
"""Defaults plus two caps far above any ordinary day, so planted breaches are the only hits."""


@dataclass(frozen=True)
class Planted:
    kind: str
    email: str
    days: tuple[date, ...]
    rules: frozenset[str]
    """Any of these firing for the member on one of ``days`` (or its cycle) finds it."""


# --- the organisation ------------------------------------------------------------------------


@dataclass
class Team:
    emails: list[str]
    days: list[date]
    spend: dict[str, dict[date, float]]
    requests: dict[str, dict[date, int]]
    tokens: dict[str, dict[date, int]]
    models: dict[str, dict[date, dict[str, float]]]


def build_team(users: int, weeks: int, seed: int, now: datetime) -> tuple[Team, list[Planted]]:
    scenario = generate_scenario(users=users, days=weeks * 7, seed=seed, now=now, realistic=True)
    store = scenario.events
    spend: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    requests: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    tokens: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    models: dict[str, dict[date, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    for row in range(len(store)):
        email = store.emails[store.users[row]]
        day = utc_day(store.timestamps[row])
        cents = store.spend_cents(row)
        spend[email][day] += cents
        requests[email][day] += 1
        tokens[email][day] += store.input_tokens[row] + store.output_tokens[row]
        models[email][day][store.models[store.model_ids[row]]] += cents
    today = utc_day(scenario.now_ms or 0)
    days = [today - timedelta(days=n) for n in range(weeks * 7 - 1, -1, -1)]
    team = Team([m["email"] for m in scenario.members], days, spend, requests, tokens, models)
    planted = [
        Planted(
            a["kind"],
            a["email"],
            (date.fromisoformat(a["day"]),) if a["day"] else tuple(days[-2:]),
            frozenset(
                {
                    "spend_spike": {"spend_spike", "zscore_spend"},
                    "team_outlier": {"zscore_spend", "zscore_requests", "spend_spike"},
                    "cycle_outlier": {"cycle_outlier"},
                    "request_flood": {"zscore_requests", "requests_limit"},
                }[a["kind"]]
            ),
        )
        for a in scenario.planted_anomalies
        if a["kind"] in ANOMALY_KINDS
    ]
    return team, planted


def _typical(team: Team, email: str, before: date, weeks: int = 52) -> float:
    """The median of the member's active days in the ``weeks`` before ``before``."""
    since = before - timedelta(weeks=weeks)
    active = [
        c for d in team.days if since <= d < before and (c := team.spend[email].get(d, 0.0)) > 0
    ]
    return statistics.median(active) if len(active) >= 5 else 0.0


def plant(team: Team, already: Sequence[Planted], seed: int) -> list[Planted]:
    """Anomalies on the measures of the last weeks (two weeks of history stay clean)."""
    import random

    rng = random.Random(seed)
    taken = {p.email for p in already}
    start = team.days[14]
    working = [d for d in team.days[14:-2] if d.weekday() < 5]
    planted: list[Planted] = []

    def pick(candidates: list[str]) -> str:
        choices = [e for e in candidates if e not in taken]
        email = rng.choice(choices)
        taken.add(email)
        return email

    levels = {e: _typical(team, e, start) for e in team.emails}
    ranked = sorted((e for e in team.emails if levels[e] > 0), key=lambda e: levels[e])
    light, heavy = ranked[: len(ranked) // 3], ranked[-max(3, len(ranked) // 20) :]
    count = max(2, len(team.emails) // 100)
    for kind, pool, factor in (("light_spike", light, 10.0), ("heavy_spike", heavy, 6.0)):
        for _ in range(count):
            email = pick(pool)
            day = rng.choice(working)
            # Relative to the member's usual day just before it, as a person would judge.
            level = max(_typical(team, email, day, weeks=4), 500.0)
            team.spend[email][day] = max(factor * level, 8_000.0)
            team.models[email][day] = {"claude-4.1-opus": team.spend[email][day]}
            rules = {"spend_spike", "zscore_spend"}
            planted.append(Planted(kind, email, (day,), frozenset(rules)))
    # New hires: no usage before a day in the planted weeks, then a runaway first week.
    for _ in range(count):
        email = pick(ranked[len(ranked) // 3 : -len(heavy)])
        first = rng.choice(working[:-10])
        week = tuple(first + timedelta(days=n) for n in range(5))
        for table in (team.spend, team.requests, team.tokens, team.models):
            for d in list(table[email]):
                if d < first:
                    del table[email][d]
        for d in week:
            team.spend[email][d] = rng.uniform(30_000.0, 60_000.0)
            team.requests[email][d] = rng.randrange(150, 300)
            team.models[email][d] = {"claude-4.1-opus": team.spend[email][d]}
        rules = {"zscore_spend", "zscore_requests", "spend_spike", "cycle_outlier"}
        planted.append(Planted("new_hire_runaway", email, week, frozenset(rules)))
    # Request floods: a headless loop of cheap calls.
    usual = max(n for e in team.emails for n in team.requests[e].values())
    for _ in range(count):
        email = pick(ranked)
        day = rng.choice(working)
        team.requests[email][day] = 6 * usual
        planted.append(
            Planted(
                "request_flood", email, (day,), frozenset({"zscore_requests", "requests_limit"})
            )
        )
    # Threshold breaches: a day of tokens over the cap.
    for _ in range(count):
        email = pick(ranked)
        day = rng.choice(working)
        team.tokens[email][day] = 2 * SETTINGS.max_tokens_per_day
        planted.append(Planted("token_breach", email, (day,), frozenset({"tokens_limit"})))
    # Cycle outliers: a steady heavy month, about fifteen times the team's cycle median.
    for _ in range(max(1, count // 2)):
        email = pick(ranked[: len(ranked) // 2])
        month = [d for d in team.days if d.month == team.days[-1].month]
        if len(month) < 5:
            month = team.days[-10:]
        cycle_median = statistics.median(
            sum(team.spend[e].get(d, 0.0) for d in month) for e in ranked
        )
        per_day = 15.0 * cycle_median / len(month)
        for d in month:
            team.spend[email][d] = team.spend[email].get(d, 0.0) + per_day
        # Going from one's usual day to fifteen times the median also spikes and stands out.
        rules = {"cycle_outlier", "spend_spike", "zscore_spend"}
        planted.append(Planted("cycle_outlier", email, tuple(month), frozenset(rules)))
    return planted


def usage_as_of(team: Team, day: date) -> list[MemberUsage]:
    """Every member's usage as a run at the end of ``day`` would read it."""
    cycle = day.replace(day=1)
    first, _ = detection_window(SETTINGS, [day - timedelta(days=1), day], cycle)
    window = [d for d in team.days if first <= d <= day]
    members = []
    before = [cycle - timedelta(days=n) for n in range(1, PERSONAL_LOOKBACK_DAYS + 1)]
    for email in team.emails:
        spend, reqs, toks = team.spend[email], team.requests[email], team.tokens[email]
        pace = pace_before({d: spend[d] for d in before if d in spend}, cycle)
        days = {
            d: DayMeasure(spend.get(d, 0.0), reqs.get(d, 0), toks.get(d, 0))
            if d in spend or d in reqs or d in toks
            else QUIET_DAY
            for d in window
        }
        members.append(
            MemberUsage(
                email=email,
                name="",
                days=days,
                model_cents={d: dict(team.models[email].get(d, {})) for d in window},
                cycle_spend_cents=sum(spend.get(d, 0.0) for d in window if d >= cycle),
                pace_before_cycle=pace,
            )
        )
    return members


# --- the original tool's rules ---------------------------------------------------------------


def original_rules(members: Sequence[MemberUsage], day: date) -> set[tuple[str, str]]:
    """Keys (rule, email) the original would detect at the end of ``day`` (section 4)."""
    found: set[tuple[str, str]] = set()
    floor = 5_000.0
    active = [(m, m.days[day].spend_cents) for m in members if m.days[day].spend_cents > 0]
    if len(active) >= 5:
        values = [v for _, v in active]
        mean = statistics.fmean(values)
        sigma = statistics.pstdev(values)
        if sigma > 0:
            for m, v in active:
                if v >= floor and (v - mean) / sigma > 2.5:
                    found.add(("zscore_spend", m.email))
    for m in members:
        today = m.days[day].spend_cents
        if today < floor:
            continue
        before = [
            c
            for n in range(1, 8)
            if (c := m.days.get(day - timedelta(days=n), QUIET_DAY).spend_cents) > 0
        ]
        if before and (avg := statistics.fmean(before)) >= 100 and today / avg > 5:
            found.add(("spend_spike", m.email))
    cycle = sorted(m.cycle_spend_cents for m in members if m.cycle_spend_cents > 0)
    if len(cycle) >= 5 and (median := cycle[len(cycle) // 2]) >= 1_000:
        for m in members:
            if m.cycle_spend_cents / median > 10:
                found.add(("cycle_outlier", m.email))
    for m in members:
        if m.days[day].requests > SETTINGS.max_requests_per_day:
            found.add(("requests_limit", m.email))
    return found


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    alerts: list[tuple[date, str, str]]
    """Announcements: (day of the run, rule, email)."""
    fired: set[tuple[str, str, date]]
    """Every (rule, email, day the run looked at) that fired at all, for recall."""


def is_planted(planted: Iterable[Planted], rule: str, email: str, day: date) -> bool:
    return any(
        p.email == email and rule in p.rules and (day in p.days or rule == "cycle_outlier")
        for p in planted
    )


def recall(planted: Sequence[Planted], fired: set[tuple[str, str, date]]) -> float:
    found = sum(
        1
        for p in planted
        if any(
            (rule, email) == (r, p.email) and (d in p.days or r == "cycle_outlier")
            for rule, email, d in fired
            for r in (rule,)
            if rule in p.rules
        )
    )
    return found / len(planted)


def replay(team: Team, planted: Sequence[Planted], weeks: int) -> tuple[Score, Score]:
    ours = Score([], set())
    original = Score([], set())
    lifecycle = Replay()
    open_keys: set[tuple[str, str]] = set()
    for day in team.days[14:]:
        members = usage_as_of(team, day)
        cycle = day.replace(day=1)
        findings: list[Finding] = detect(members, SETTINGS, [day - timedelta(days=1), day], cycle)
        for f in findings:
            ours.fired.add((f.rule, f.email, f.period if f.rule != "cycle_outlier" else day))
        end = datetime.combine(day, datetime.max.time(), UTC)
        evaluated = [day - timedelta(days=1), day]
        for f in lifecycle.run(findings, now=end, cycle_start=cycle, days=evaluated):
            ours.alerts.append((f.period if f.rule != "cycle_outlier" else day, f.rule, f.email))
        keys = original_rules(members, day)
        for rule, email in keys:
            original.fired.add((rule, email, day))
            if (rule, email) not in open_keys:
                original.alerts.append((day, rule, email))
        open_keys = keys
    return ours, original


def false_alerts(score: Score, planted: Sequence[Planted]) -> list[tuple[date, str, str]]:
    return [
        (day, rule, email)
        for day, rule, email in score.alerts
        if rule in STATISTICAL and not is_planted(planted, rule, email, day)
    ]


def false_rate(score: Score, planted: Sequence[Planted], users: int, weeks: float) -> float:
    return len(false_alerts(score, planted)) / (users / 100.0) / weeks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    now = datetime(2026, 3, 27, tzinfo=UTC)
    team, planted = build_team(args.users, args.weeks, args.seed, now)
    planted = planted + plant(team, planted, args.seed)
    ours, original = replay(team, planted, args.weeks)
    weeks = (len(team.days) - 14) / 7.0
    result: dict[str, Any] = {
        "members": args.users,
        "weeks_replayed": round(weeks, 1),
        "planted": len(planted),
        "ours": {
            "false_alerts_per_100_members_per_week": round(
                false_rate(ours, planted, args.users, weeks), 2
            ),
            "recall": round(recall(planted, ours.fired), 3),
        },
        "original": {
            "false_alerts_per_100_members_per_week": round(
                false_rate(original, planted, args.users, weeks), 2
            ),
            "recall": round(recall(planted, original.fired), 3),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    missed = [f"{p.kind} {p.email} {p.days[0]}" for p in planted if recall([p], ours.fired) == 0]
    result["ours"]["missed"] = missed
    for name, score in (("ours", ours), ("original", original)):
        by_rule: dict[str, int] = defaultdict(int)
        for _, rule, _ in false_alerts(score, planted):
            by_rule[rule] += 1
        result[name]["false_by_rule"] = dict(sorted(by_rule.items()))
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("ours", "original"):
            r = result[name]
            print(
                f"{name:>8}: {r['false_alerts_per_100_members_per_week']:.2f} false alerts per"
                f" 100 members per week, recall {r['recall']:.3f}"
                f" (false alerts by rule: {r['false_by_rule']})"
            )
        print(
            f"{args.users} members, {weeks:.1f} weeks replayed, {len(planted)} planted anomalies,"
            f" {result['seconds']}s"
        )
        if missed:
            print("ours missed: " + "; ".join(missed))
    ok = (
        result["ours"]["false_alerts_per_100_members_per_week"] <= TARGET_FALSE_PER_100_WEEK
        and result["ours"]["recall"] >= TARGET_RECALL
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
