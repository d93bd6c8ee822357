"""A seeded, believable Cursor Enterprise organisation with anomalies planted on purpose.

The demo and the tests need data that looks like a real team (named people in several time
zones, a weekday rhythm, a model mix with real per-token prices, heavy users who are busy but
consistent, people who left) and that holds a known set of anomalies, so that detection can be
shown and checked: a personal spend spike, a team outlier, a billing-cycle outlier and a
request flood. Each planted anomaly is topped up until it clears its rule's threshold with a
wide margin, whatever day of the month ``now`` falls on, and is listed in the scenario with a
handful of members planted as ordinary, so tests can assert both what fires and what must not.

Everything is drawn from ``random.Random(seed)``: the same seed and ``now`` give the same
organisation, event for event. Without an explicit ``now`` the organisation is drawn as of the
start of the current UTC day (:func:`organisation_time`), so a demo run at 09:00 and one at
09:05, or at 17:00, show the same people, events, ranks and groups: a ``now`` taken to the
minute would move every planted window and every random draw after it.
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Final

from tracker_core.clock import Clock, utc_now
from tracker_core.domain import day_start_ms, utc_day
from tracker_core.simulator.scenario import (
    DAY_MS,
    FLAG_CHARGEABLE,
    FLAG_HAS_TOKEN_USAGE,
    FLAG_HEADLESS,
    FLAG_MAX_MODE,
    FLAG_TOKEN_BASED,
    EventStore,
    GroupLayout,
    GroupSeat,
    JSONObject,
    Scenario,
    billing_cycle_start,
    build_groups_report,
)
from tracker_core.simulator_limits import MAX_DAYS, MAX_USERS, MIN_DAYS, MIN_USERS

DOMAIN: Final = "example.test"

KIND_ON_DEMAND: Final = "Usage-based"
KIND_INCLUDED: Final = "Included in Business"
KIND_ERRORED: Final = "Errored, Not Charged"

TOKEN_FEE_CENTS_PER_MILLION: Final = 25.0
"""Cursor's token fee on on-demand usage: $0.25 per million tokens, cache included."""

HOUR_MS: Final = 3_600_000

INCLUDED_CENTS_PER_SEAT: Final = 4_000.0
"""Included usage of a realistic organisation's seat per billing cycle, at model cost: $40.

Premium-model events are ``Included in Business`` until a member's included usage of the cycle
is spent, and ``Usage-based`` after: members run out on different days of the cycle, the
heaviest on its first, the lightest never."""

RAMP_RANGE: Final = (0.35, 2.4)
"""A ramping member's factor on their level at the first and at the last day of the window."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's list price in dollars per million tokens."""

    name: str
    input: float
    output: float
    cache_write: float
    cache_read: float
    included: bool = False
    """Billed to the plan's included usage rather than on demand."""


MODELS: Final = (
    ModelPrice("claude-4.5-sonnet", 3.0, 15.0, 3.75, 0.30),
    ModelPrice("claude-4.1-opus", 15.0, 75.0, 18.75, 1.50),
    ModelPrice("gpt-5", 1.25, 10.0, 0.0, 0.125),
    ModelPrice("gpt-5-codex", 1.25, 10.0, 0.0, 0.125),
    ModelPrice("gemini-2.5-pro", 1.25, 10.0, 0.0, 0.31),
    ModelPrice("auto", 1.25, 6.0, 1.25, 0.25, included=True),
    ModelPrice("cursor-small", 0.05, 0.20, 0.0, 0.01, included=True),
)
_OPUS: Final = 1
_GPT5: Final = 2
_CURSOR_SMALL: Final = 6

FIRST_NAMES: Final = (
    "Ada", "Amara", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dana", "Daniel",
    "Diego", "Elena", "Emeka", "Erin", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines",
    "Ivan", "Jonas", "Julia", "Kai", "Karin", "Leila", "Lena", "Liam", "Lucia", "Malik",
    "Maya", "Mei", "Nadia", "Naveen", "Nina", "Noah", "Olga", "Omar", "Priya", "Quinn",
    "Rafael", "Rania", "Ravi", "Rosa", "Sami", "Sara", "Sofia", "Tariq", "Theo", "Uma",
    "Victor", "Wen", "Yara", "Yusuf", "Zoe", "Anton", "Beatriz", "Colin", "Dmitri", "Eva",
)  # fmt: skip
LAST_NAMES: Final = (
    "Abe", "Alvarez", "Andersen", "Bauer", "Bose", "Brennan", "Castro", "Costa", "Dahl",
    "Dubois", "Eriksen", "Fischer", "Fontaine", "Garcia", "Gupta", "Haas", "Hughes", "Ibrahim",
    "Ito", "Jensen", "Kaur", "Keller", "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Mendes",
    "Moreau", "Mueller", "Nakamura", "Novak", "Nwosu", "Okafor", "Olsen", "Ortiz", "Park",
    "Patel", "Petrov", "Quist", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Sorensen", "Tanaka", "Torres", "Ueda", "Vargas", "Vogel", "Wagner", "Walsh", "Weber",
    "Xu", "Yamada", "Young", "Zhang", "Ziegler",
)  # fmt: skip
GROUP_NAMES: Final = (
    "Engineering > Platform",
    "Engineering > Frontend",
    "Engineering > Mobile",
    "Engineering > Data",
    "Engineering > Infrastructure",
    "Product",
    "Design",
    "Solutions Engineering",
)

# Relative activity by local hour: a working day with a lunch dip and a little evening work.
_LOCAL_HOUR_WEIGHTS: Final = (
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.5, 1.0, 1.0, 0.95,
    0.55, 0.8, 1.0, 1.0, 0.9, 0.7, 0.35, 0.2, 0.18, 0.12, 0.07, 0.04,
)  # fmt: skip
_TIME_ZONES: Final = (-8, -7, -5, -4, 0, 1, 2, 3)
_TIME_ZONE_WEIGHTS: Final = (3, 1, 3, 1, 2, 4, 2, 1)
_ERRORED_SHARE: Final = 0.015
_HEADLESS_SHARE: Final = 0.04


@dataclass(frozen=True, slots=True)
class Habits:
    """How one member uses Cursor: volume, rhythm, steadiness and model mix."""

    weekday_events: float
    weekend_chance: float
    weekend_share: float
    noise: float
    """Spread of the day-to-day volume (sigma of a log-normal factor)."""
    off_chance: float
    """Chance a weekday has no activity at all (leave, a day of meetings)."""
    model_weights: tuple[float, ...]
    """Cumulative percentages over :data:`MODELS`, ready for bisection."""
    max_mode: float
    scale: float = 1.0
    """Factor on every ordinary event's tokens: sets a realistic member's level of spend."""
    workdays: frozenset[int] = frozenset(range(5))
    """Weekdays (Monday 0) the member works; a part-timer has fewer."""
    switch_day: int | None = None
    """Day index from which the member uses ``switched_weights`` instead (a model switch)."""
    switched_weights: tuple[float, ...] = ()


def _habits(rng: random.Random, role: str) -> Habits:
    """Habits for one of the member archetypes the organisation mixes."""
    habits = _raw_habits(rng, role)
    total = sum(habits.model_weights)
    cumulative = tuple(100.0 * w / total for w in accumulate(habits.model_weights))
    return Habits(
        habits.weekday_events,
        habits.weekend_chance,
        habits.weekend_share,
        habits.noise,
        habits.off_chance,
        cumulative,
        habits.max_mode,
    )


def _raw_habits(rng: random.Random, role: str) -> Habits:
    if role == "light":
        return Habits(rng.uniform(12, 25), 0.05, 0.3, 0.35, 0.15, (25, 0, 10, 5, 5, 45, 10), 0.02)
    if role == "heavy":
        return Habits(rng.uniform(85, 115), 0.45, 0.5, 0.2, 0.03, (40, 10, 15, 12, 5, 15, 3), 0.12)
    if role == "whale":
        return Habits(rng.uniform(110, 130), 0.85, 0.7, 0.12, 0.0, (30, 55, 5, 5, 0, 5, 0), 0.3)
    if role == "steady":
        return Habits(rng.uniform(35, 50), 0.0, 0.0, 0.08, 0.0, (34, 2, 15, 10, 7, 28, 4), 0.04)
    if role == "spiker":
        return Habits(rng.uniform(55, 65), 0.1, 0.3, 0.15, 0.0, (45, 5, 15, 10, 5, 18, 2), 0.06)
    return Habits(rng.uniform(30, 60), 0.12, 0.35, 0.3, 0.06, (34, 2, 15, 10, 7, 28, 4), 0.05)


REALISTIC_MEDIAN_CENTS: Final = 1_800.0
"""Typical daily spend of a realistic organisation's member on a working day: about $18."""
REALISTIC_SPREAD: Final = 0.95
"""Sigma of the log-normal spread of members' levels: a few spend over $150 a day."""

_REGULAR_MIX: Final = (34, 2, 15, 10, 7, 28, 4)
_SWITCHED_MIXES: Final = ((70, 4, 8, 6, 2, 8, 2), (10, 1, 45, 30, 4, 8, 2), (8, 1, 6, 4, 3, 75, 3))
"""Where a member who changes models moves to: mostly Sonnet, mostly GPT-5, mostly Auto."""


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(100.0 * w / total for w in accumulate(weights))


def _lognormal_mean(mu: float, sigma: float) -> float:
    return math.exp(mu + sigma * sigma / 2.0)


def expected_event_cents(weights: Sequence[float]) -> float:
    """Expected charged cents of one ordinary event under a model mix (cumulative percentages).

    Mirrors the draws of ``_Generator._ordinary_event`` (max mode and errors left out, a few
    percent), so a realistic member's token scale can be set to reach a chosen daily spend.
    """
    inp, out = _lognormal_mean(9.4, 0.7), _lognormal_mean(7.0, 0.8)
    read, write = 0.85 * _lognormal_mean(11.3, 0.9), 0.5 * _lognormal_mean(8.8, 1.0)
    total, previous = 0.0, 0.0
    for price, cumulative in zip(MODELS, weights, strict=True):
        share, previous = (cumulative - previous) / 100.0, cumulative
        if price.included:
            continue
        cents = (inp * price.input + out * price.output + read * price.cache_read) / 10_000
        cents += write * price.cache_write / 10_000
        total += share * cents
    return total


@dataclass(slots=True)
class _Person:
    index: int
    member_id: int
    name: str
    email: str
    role: str
    archetype: str
    habits: Habits
    time_zone: int
    removed_day: int | None = None
    """Day index from which a removed member has no events."""
    first_day: int = 0
    """Day index of the member's first activity: later for a new hire, never for an idle seat."""
    away: tuple[range, ...] = ()
    """Day indexes of vacations, when the member has no events."""
    planted: set[int] = field(default_factory=set)
    """Timestamps of events added after the base pass (kept unique per person)."""
    level: float = 0.0
    """Typical working-day spend in cents a realistic member is drawn at."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """Who plays which part."""

    people: list[_Person]
    whale: _Person
    spiker: _Person
    outlier: _Person
    flooder: _Person
    steady: list[_Person]
    ramp: _Person | None = None
    """A member whose spend grows steadily through the window (realistic organisations)."""
    limited: _Person | None = None
    """A member Cursor stops at their monthly spend limit this cycle (realistic organisations)."""


class _Generator:
    """Builds one organisation; the methods run in order from :meth:`run`."""

    def __init__(
        self, *, users: int, days: int, seed: int, now: datetime, realistic: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.realistic = realistic
        self.users = users
        self.days = days
        self.now_ms = int(now.timestamp() * 1000)
        self.today = utc_day(self.now_ms)
        self.first_day = self.today - timedelta(days=days - 1)
        self.first_ms = day_start_ms(self.first_day)
        self.store = EventStore()
        self.spend = [[0.0] * days for _ in range(users)]
        self.count = [[0] * days for _ in range(users)]
        self.kind_on_demand = self.store.kind_id(KIND_ON_DEMAND)
        self.kind_included = self.store.kind_id(KIND_INCLUDED)
        self.kind_errored = self.store.kind_id(KIND_ERRORED)
        self.model_ids = [self.store.model_id(model.name) for model in MODELS]
        self.hour_weights = {
            zone: list(accumulate(_LOCAL_HOUR_WEIGHTS[(hour + zone) % 24] for hour in range(24)))
            for zone in _TIME_ZONES
        }
        cycle = billing_cycle_start(self.now_ms)
        self.cycle_first = max(0, (cycle - self.first_day).days)
        self.cycle_start_ms = max(day_start_ms(cycle), self.first_ms)
        self.removed_days: list[int | None] = []
        self.metered: set[int] = set()
        """Members whose premium events draw on the cycle's included usage first."""
        self.included_used: dict[tuple[int, int, int], float] = {}
        """Included usage spent so far, by member and cycle (year, month), in cents."""
        self.ramp: int | None = None
        self.limit_cents: dict[int, float] = {}
        """Spend limits of this cycle, in cents, by member index."""

    # -- people

    def cast(self) -> _Plan:
        rng = self.rng
        pairs = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), min(self.users, 3600))
        people: list[_Person] = []
        emails: set[str] = set()
        for index in range(self.users):
            pair = pairs[index % len(pairs)]
            first, last = FIRST_NAMES[pair // len(LAST_NAMES)], LAST_NAMES[pair % len(LAST_NAMES)]
            email = f"{first}.{last}".lower()
            suffix = 2
            while email in emails:
                email, suffix = f"{first}.{last}{suffix}".lower(), suffix + 1
            emails.add(email)
            people.append(
                _Person(
                    index=index,
                    member_id=50101 + index,
                    name=f"{first} {last}",
                    email=f"{email}@{DOMAIN}",
                    role="member",
                    archetype="regular",
                    habits=_habits(rng, "regular"),
                    time_zone=rng.choices(_TIME_ZONES, weights=_TIME_ZONE_WEIGHTS)[0],
                )
            )
        owners = 1 if self.users < 40 else 2
        for person in people[:owners]:
            person.role = "owner"
        order = list(range(owners, self.users))
        rng.shuffle(order)
        steady_count = min(6, max(2, (self.users - 4) // 5))
        removed_count = max(1, round(self.users * 0.04))
        heavy_count = max(1, round(self.users * 0.08))
        light_count = round(self.users * 0.2)
        parts = (
            ["whale", "spiker", "regular", "regular"]
            + ["steady"] * steady_count
            + ["removed"] * removed_count
            + ["heavy"] * heavy_count
            + ["light"] * light_count
        )
        for position, index in enumerate(order):
            part = parts[position] if position < len(parts) else "regular"
            person = people[index]
            if part == "removed":
                person.removed_day = rng.randrange(4, self.days - 3)
                part = "regular"
            person.archetype = part
            person.habits = _habits(rng, part)
        for person in people:
            self.store.user_id(person.email)
        return _Plan(
            people=people,
            whale=people[order[0]],
            spiker=people[order[1]],
            outlier=people[order[2]],
            flooder=people[order[3]],
            steady=[people[i] for i in order[4 : 4 + steady_count]],
        )

    def make_realistic(self, plan: _Plan) -> _Plan:
        """Redraw every member as a real team looks: heavy-tailed levels and real lives.

        Each member's typical working-day spend is log-normal across the team (median about
        $18, a few above $150), reached through a token scale on ordinary events, with
        day-to-day noise. Some work part-time (three fixed weekdays), some take a vacation and
        come back, some join during the window (new hires), some seats are idle, and some switch
        models halfway. The members who carry the planted anomalies, and the steady members
        offered as ordinary, are full-time and present throughout, so what is planted on them
        stays measurable.
        """
        rng = self.rng
        keep = {plan.whale.index, plan.spiker.index, plan.outlier.index, plan.flooder.index}
        candidates: list[_Person] = []
        for person in plan.people:
            mix = _cumulative(_REGULAR_MIX)
            events = rng.uniform(15.0, 40.0)
            level = REALISTIC_MEDIAN_CENTS * rng.lognormvariate(0.0, REALISTIC_SPREAD)
            planted = person.index in keep
            steady = not planted and person.removed_day is None and level < REALISTIC_MEDIAN_CENTS
            noise = rng.uniform(0.15, 0.25) if steady else rng.uniform(0.25, 0.45)
            max_mode = rng.uniform(0.0, 0.08)
            # The day's event count is log-normal around ``events`` and a max-mode event costs
            # about twice an ordinary one: both lift the mean, which the scale takes back.
            per_day = events * math.exp(noise * noise / 2.0) * (1.0 + max_mode)
            person.level = level
            person.habits = Habits(
                weekday_events=events,
                weekend_chance=rng.uniform(0.0, 0.3),
                weekend_share=rng.uniform(0.2, 0.5),
                noise=noise,
                off_chance=0.0 if planted or steady else rng.uniform(0.02, 0.08),
                model_weights=mix,
                max_mode=max_mode,
                scale=level / (per_day * expected_event_cents(mix)),
            )
            if planted or steady:
                if steady:
                    person.archetype = "steady"
                    candidates.append(person)
                continue
            self._vary_life(person)
        offered = candidates[:20]
        taken = keep | {p.index for p in offered}
        ramp = self._full_timer(plan.people, taken, (0.6, 1.6))
        if ramp is not None:
            ramp.archetype = "ramp"
            taken.add(ramp.index)
            self.ramp = ramp.index
        limited = self._full_timer(plan.people, taken, (1.0, 4.0))
        if limited is not None:
            limited.archetype = "limited"
            taken.add(limited.index)
            self.limit_cents[limited.index] = self._first_limit(limited)
        self.metered = {
            p.index for p in plan.people if p.index not in taken and p.removed_day is None
        }
        return replace(plan, steady=offered, ramp=ramp, limited=limited)

    def _full_timer(
        self, people: Sequence[_Person], taken: set[int], levels: tuple[float, float]
    ) -> _Person | None:
        """A member not yet given a part, made present full-time, level near ``levels``.

        ``levels`` is a range in times the median level. A regular member in that range is
        preferred; in a small team, the free member whose level is nearest to it. The ramp
        and the limit must show on every working day, so the member loses any vacation,
        part-time week, late start or model switch the draw gave them, and is steadier day to
        day than most.
        """
        low, high = (REALISTIC_MEDIAN_CENTS * f for f in levels)

        def distance(person: _Person) -> float:
            if person.level < low:
                return math.log(low / max(person.level, 1.0))
            return math.log(person.level / high) if person.level > high else 0.0

        free = [
            p
            for p in people
            if p.index not in taken and p.removed_day is None and p.role == "member"
        ]
        if not free:
            return None
        person = min(free, key=lambda p: (distance(p), p.archetype != "regular", p.index))
        person.first_day, person.away = 0, ()
        person.habits = replace(
            person.habits,
            workdays=frozenset(range(5)),
            switch_day=None,
            switched_weights=(),
            off_chance=0.0,
            noise=min(person.habits.noise, 0.2),
        )
        return person

    def _first_limit(self, person: _Person) -> float:
        """A limit the member reaches about halfway through the cycle's elapsed working days."""
        day = billing_cycle_start(self.now_ms)
        workdays = sum(
            1 for n in range((self.today - day).days) if (day + timedelta(days=n)).weekday() < 5
        )
        return 100.0 * max(1, round(person.level * workdays / 2 / 100))

    def _vary_life(self, person: _Person) -> None:
        """Part-time, vacation, new hire, idle seat, model switch: each with its own chance."""
        rng, habits = self.rng, person.habits
        roll = rng.random()
        if roll < 0.05:
            person.first_day = self.days
            person.archetype = "idle"
            return
        if roll < 0.12 and self.days > 21:
            person.first_day = rng.randrange(7, self.days - 14)
            person.archetype = "new_hire"
        if rng.random() < 0.1:
            workdays = frozenset(rng.sample(range(5), 3))
            person.habits = replace(habits, workdays=workdays)
            person.archetype = "part_time"
        if rng.random() < 0.3 and self.days > 14:
            start = rng.randrange(person.first_day, self.days - 3)
            person.away = (range(start, start + rng.randrange(4, 11)),)
        if rng.random() < 0.15:
            # The same work on other models: spend moves with their prices.
            mix = _cumulative(rng.choice(_SWITCHED_MIXES))
            person.habits = replace(
                person.habits, switch_day=rng.randrange(1, self.days), switched_weights=mix
            )

    # -- events

    def _append(
        self,
        person: _Person,
        timestamp: int,
        model: int,
        *,
        max_mode: bool,
        headless: bool,
        tokens: tuple[int, int, int, int],
    ) -> float:
        """Add one token-based event priced from the model's list price; its charged cents."""
        price = MODELS[model]
        inp, out, write, read = tokens
        total = round(
            (inp * price.input + out * price.output) / 10_000
            + (write * price.cache_write + read * price.cache_read) / 10_000,
            4,
        )
        flags = FLAG_TOKEN_BASED | FLAG_HAS_TOKEN_USAGE
        if max_mode:
            flags |= FLAG_MAX_MODE
        if headless:
            flags |= FLAG_HEADLESS
        if price.included:
            kind, charged, fee = self.kind_included, 0.0, math.nan
        else:
            # Within the member's included usage the billing category says so, but the
            # charge stays: the product's spend is what the usage cost, whoever pays it, so
            # spend (what detection and the forecast read) does not drop to nothing at every
            # cycle's start. Only ``kind`` and ``usageBasedReqs`` show when the plan ran out.
            covered = self._draws_on_plan(person, timestamp, total)
            kind = self.kind_included if covered else self.kind_on_demand
            flags |= FLAG_CHARGEABLE
            fee = round((inp + out + write + read) * TOKEN_FEE_CENTS_PER_MILLION / 1e6, 4)
            charged = round(total + fee, 4)
        costs = 0.0 if model == _CURSOR_SMALL else round(max(0.5, total / 4.0), 1)
        self.store.add_row(
            timestamp,
            person.index,
            self.model_ids[model],
            kind,
            flags,
            costs,
            inp,
            out,
            write,
            read,
            total,
            charged,
            fee,
        )
        day = (timestamp - self.first_ms) // DAY_MS
        self.spend[person.index][day] += charged
        self.count[person.index][day] += 1
        return charged

    def _draws_on_plan(self, person: _Person, timestamp: int, cents: float) -> bool:
        """Whether a premium event is covered by the member's included usage of its cycle.

        The event that crosses the allowance is still covered; the next is usage-based. Only
        metered members draw on it: the planted and the ordinary ones offered to tests are
        usage-based from the cycle's first day (they ran out at once, as heavy users do).
        """
        if person.index not in self.metered:
            return False
        day = utc_day(timestamp)
        key = (person.index, day.year, day.month)
        used = self.included_used.get(key, 0.0)
        if used >= INCLUDED_CENTS_PER_SEAT:
            return False
        self.included_used[key] = used + cents
        return True

    def _ramp_factor(self, person: _Person, timestamp: int) -> float:
        """The ramping member's growth: from the first to the last day of the window."""
        if person.index != self.ramp:
            return 1.0
        low, high = RAMP_RANGE
        progress = (timestamp - self.first_ms) / max(1, self.now_ms - self.first_ms)
        return low + (high - low) * min(1.0, progress)

    def _blocked(self, person: _Person, timestamp: int) -> bool:
        """Whether Cursor refuses the member's request: their spend limit of the cycle is hit."""
        limit = self.limit_cents.get(person.index)
        if limit is None or timestamp < self.cycle_start_ms:
            return False
        return self.cycle_spend(person.index) >= limit

    def _ordinary_event(self, person: _Person, timestamp: int) -> None:
        rng = self.rng
        habits = person.habits
        weights = habits.model_weights
        switch = habits.switch_day
        if switch is not None and timestamp >= self.first_ms + switch * DAY_MS:
            weights = habits.switched_weights
        model = bisect_right(weights, rng.random() * 100.0)
        model = min(model, len(MODELS) - 1)
        if rng.random() < _ERRORED_SHARE:
            self.store.add_row(
                timestamp,
                person.index,
                self.model_ids[model],
                self.kind_errored,
                0,
                0.0,
                0,
                0,
                0,
                0,
                math.nan,
                0.0,
                math.nan,
            )
            self.count[person.index][(timestamp - self.first_ms) // DAY_MS] += 1
            return
        price = MODELS[model]
        max_mode = not price.included and rng.random() < habits.max_mode
        inp = int(rng.lognormvariate(9.4, 0.7))
        out = int(rng.lognormvariate(7.0, 0.8))
        read = int(rng.lognormvariate(11.3, 0.9)) if rng.random() < 0.85 else 0
        write = int(rng.lognormvariate(8.8, 1.0)) if price.cache_write and rng.random() < 0.5 else 0
        if max_mode:
            inp, read = inp * 3, read * 2
        scale = habits.scale * self._ramp_factor(person, timestamp)
        if scale != 1.0:
            inp, out = int(inp * scale), int(out * scale)
            write, read = int(write * scale), int(read * scale)
        self._append(
            person,
            timestamp,
            model,
            max_mode=max_mode,
            headless=rng.random() < _HEADLESS_SHARE,
            tokens=(inp, out, write, read),
        )

    def base_pass(self, people: Sequence[_Person]) -> None:
        """Every member's ordinary days.

        Ordinary events get even millisecond timestamps and planted ones odd, so the two can
        never collide and events stay unique per member without remembering every timestamp.
        """
        rng = self.rng
        hours = range(24)
        for person in people:
            habits = person.habits
            weights = self.hour_weights[person.time_zone]
            last = self.days if person.removed_day is None else person.removed_day
            for day in range(person.first_day, last):
                if any(day in vacation for vacation in person.away):
                    continue
                start = self.first_ms + day * DAY_MS
                weekday = (self.first_day + timedelta(days=day)).weekday()
                if weekday >= 5:
                    if rng.random() >= habits.weekend_chance:
                        continue
                    mean = habits.weekday_events * habits.weekend_share
                elif weekday not in habits.workdays or rng.random() < habits.off_chance:
                    continue
                else:
                    mean = habits.weekday_events
                count = max(1, round(mean * rng.lognormvariate(0.0, habits.noise)))
                stamps = {
                    start + hour * HOUR_MS + 2 * rng.randrange(HOUR_MS // 2)
                    for hour in rng.choices(hours, cum_weights=weights, k=count)
                }
                for stamp in sorted(stamps):
                    if stamp <= self.now_ms and not self._blocked(person, stamp):
                        self._ordinary_event(person, stamp)

    # -- planting

    def _free_stamp(self, person: _Person, low: int, high: int) -> int:
        """A timestamp in ``low..high`` this person has not used yet, odd where possible."""
        low_odd = low | 1
        slots = (high - low_odd) // 2 + 1 if high >= low_odd else 0
        for _ in range(64 if slots else 0):
            stamp = low_odd + 2 * self.rng.randrange(slots)
            if stamp not in person.planted:
                person.planted.add(stamp)
                return stamp
        # A window of a few milliseconds (now at the very start of a month): look at the
        # person's ordinary events too, since even stamps are theirs.
        store = self.store
        taken = person.planted | {
            stamp
            for row, stamp in enumerate(store.timestamps)
            if low <= stamp <= high and store.users[row] == person.index
        }
        for stamp in range(low, high + 1):
            if stamp not in taken:
                person.planted.add(stamp)
                return stamp
        raise RuntimeError("no room left for a planted event")

    def _day_window(self, day: int, *, hours: tuple[int, int] = (0, 24)) -> tuple[int, int]:
        """The part of ``day`` within ``hours`` that is not in the future.

        When that part is empty (``now`` is before those hours today), the whole elapsed
        day instead.
        """
        start = self.first_ms + day * DAY_MS
        low, high = start + hours[0] * HOUR_MS, start + hours[1] * HOUR_MS - 1
        if min(high, self.now_ms) < low:
            low, high = start, start + DAY_MS - 1
        return low, min(high, self.now_ms)

    def _barely_begun(self, day: int) -> bool:
        """Whether ``day`` has had under a second so far (``now`` at 00:00): no room to plant.

        Only the realistic organisation asks, and may plant more than once on the same day;
        the original one keeps its draws unchanged.
        """
        low, high = self._day_window(day)
        return high - low < 1_000 and low >= self.first_ms + day * DAY_MS

    def _costly_event(self, person: _Person, stamp: int, model: int, cents: float) -> float:
        """One max-mode event with a large context, sized to cost about ``cents``."""
        price = MODELS[model]
        base = (120_000, 9_000, 20_000 if price.cache_write else 0, 450_000)
        base_cost = (
            base[0] * price.input
            + base[1] * price.output
            + base[2] * price.cache_write
            + base[3] * price.cache_read
        ) / 10_000
        scale = cents / base_cost
        tokens = tuple(int(t * scale * self.rng.uniform(0.9, 1.1)) for t in base)
        return self._append(
            person,
            stamp,
            model,
            max_mode=True,
            headless=False,
            tokens=(tokens[0], tokens[1], tokens[2], tokens[3]),
        )

    def _top_up(
        self, person: _Person, day: int, target: float, model: int, window: tuple[int, int]
    ) -> None:
        """Add costly events on ``day`` until the person's spend that day reaches ``target``."""
        while self.spend[person.index][day] < target:
            missing = target - self.spend[person.index][day]
            size = min(missing * 1.05 + 1, self.rng.uniform(180, 420))
            self._costly_event(person, self._free_stamp(person, *window), model, size)

    def own_average(self, person: _Person, day: int) -> float:
        """Mean spend of the person's active days among the seven before ``day``."""
        active = [s for s in self.spend[person.index][max(0, day - 7) : day] if s > 0]
        return statistics.fmean(active) if active else 0.0

    def plant_spike(self, person: _Person) -> tuple[int, float]:
        """About ten times the member's own recent average, on today when enough of it passed."""
        day = (
            self.days - 1
            if self.now_ms - day_start_ms(self.today) >= 2 * HOUR_MS
            else self.days - 2
        )
        average = self.own_average(person, day)
        target = max(10.0 * average, 7_500.0) * 1.03
        self._top_up(person, day, target, _OPUS, self._day_window(day, hours=(8, 20)))
        return day, average

    def team_populations(self, person: _Person, day: int) -> list[list[float]]:
        """The others' daily spends a team z-score may compare ``person`` against.

        Zero-filled and active-only, that day alone and the seven days up to it: a planted
        outlier must stand out under each reading of "the team".
        """
        present = [
            p
            for p, removed in enumerate(self.removed_days)
            if p != person.index and (removed is None or removed > day)
        ]
        that_day = [self.spend[p][day] for p in present]
        week = [self.spend[p][d] for p in present for d in range(max(0, day - 6), day + 1)]
        before = [self.spend[p][d] for p in present for d in range(max(0, day - 7), day)]
        populations = [that_day, week, before]
        return populations + [[s for s in pop if s > 0] for pop in populations]

    def plant_team_outlier(self, person: _Person, day: int) -> None:
        needs = [
            statistics.fmean(pop) + 8.0 * statistics.stdev(pop)
            for pop in self.team_populations(person, day)
            if len(pop) >= 2
        ]
        target = max([12_000.0, *needs]) * 1.02
        self._top_up(person, day, target, _GPT5, self._day_window(day, hours=(9, 19)))

    def cycle_spend(self, index: int) -> float:
        return sum(self.spend[index][self.cycle_first :])

    def cycle_median(self, exclude: int) -> float:
        """The larger of the upper medians of active cycle spend with and without one member."""
        others = sorted(
            s for p in range(self.users) if p != exclude and (s := self.cycle_spend(p)) > 0
        )
        with_member = sorted([*others, self.cycle_spend(exclude)])
        upper = [values[len(values) // 2] for values in (others, with_member) if values]
        return max(upper, default=0.0)

    def ensure_cycle_activity(self, people: Sequence[_Person], skip: Iterable[_Person]) -> None:
        """Make sure a short cycle (``now`` early in the month) still has a team to compare to."""
        skipped = {p.index for p in skip}
        active = sum(1 for p in people if p.index not in skipped and self.cycle_spend(p.index) > 0)
        window = (self.cycle_start_ms, self.now_ms)
        for person in people:
            if active >= 6:
                return
            if person.index in skipped or person.removed_day is not None:
                continue
            if self.cycle_spend(person.index) > 0:
                continue
            stamp = self._free_stamp(person, *window)
            tokens = (14_000, 1_200, 6_000, 90_000)
            self._append(person, stamp, 0, max_mode=False, headless=False, tokens=tokens)
            active += 1

    def plant_cycle_outlier(self, person: _Person, avoid: set[int]) -> None:
        """Well over ten times the team median since the cycle began, spread over its days."""
        median = self.cycle_median(person.index)
        missing = 12.5 * median - self.cycle_spend(person.index)
        if missing <= 0:
            return
        days = [
            d
            for d in range(self.cycle_first, self.days)
            if d not in avoid and not (self.realistic and self._barely_begun(d))
        ] or [self.days - 1]
        share = missing / len(days)
        for day in days:
            low, high = self._day_window(day)
            low = max(low, self.cycle_start_ms)
            target = self.spend[person.index][day] + share
            while self.spend[person.index][day] < target:
                size = target - self.spend[person.index][day] + 1
                if high - low > 1_000:
                    size = max(1.0, min(size, 600.0))
                self._costly_event(person, self._free_stamp(person, low, high), _OPUS, size)

    def usual_max_requests(self, person: _Person, day: int) -> int:
        return max(
            self.count[p][d]
            for p in range(self.users)
            for d in range(self.days)
            if not (p == person.index and d == day)
        )

    def plant_flood(self, person: _Person, day: int) -> int:
        """A runaway headless loop: many cheap included calls within a few hours."""
        usual = self.usual_max_requests(person, day)
        target = 6 * usual + 1
        start_hour = self.rng.randrange(1, 16)
        window = self._day_window(day, hours=(start_hour, start_hour + 6))
        rng = self.rng
        while self.count[person.index][day] < target:
            tokens = (rng.randrange(300, 1500), rng.randrange(20, 200), 0, 0)
            stamp = self._free_stamp(person, *window)
            self._append(person, stamp, _CURSOR_SMALL, max_mode=False, headless=True, tokens=tokens)
        return usual

    # -- checks

    def team_z(self, person: _Person, day: int) -> float:
        """The smallest leave-one-out z-score of the person's spend that day."""
        value = self.spend[person.index][day]
        scores = []
        for pop in self.team_populations(person, day):
            if len(pop) >= 2:
                spread = statistics.stdev(pop)
                mean = statistics.fmean(pop)
                if spread:
                    scores.append((value - mean) / spread)
                else:
                    scores.append(math.inf if value > mean else 0.0)
        return min(scores, default=0.0)

    def team_z_max(self, person: _Person, day: int) -> float:
        """The largest such z-score: what an ordinary member must stay well under."""
        value = self.spend[person.index][day]
        scores = []
        for pop in self.team_populations(person, day):
            if len(pop) >= 2 and statistics.stdev(pop) > 0:
                scores.append((value - statistics.fmean(pop)) / statistics.stdev(pop))
        return max(scores, default=0.0)

    def is_ordinary(self, person: _Person, check_days: Iterable[int]) -> bool:
        median = self.cycle_median(person.index)
        if median and self.cycle_spend(person.index) > 3 * median:
            return False
        for day in check_days:
            value = self.spend[person.index][day]
            average = self.own_average(person, day)
            if average == 0 or value > 2.0 * average or value >= 5_000:
                return False
            if self.team_z_max(person, day) > 1.5:
                return False
        return True

    # -- assembly

    def run(self) -> Scenario:
        plan = self.cast()
        if self.realistic:
            plan = self.make_realistic(plan)
        people = plan.people
        self.removed_days = [p.removed_day for p in people]
        self.base_pass(people)
        yesterday = self.days - 2
        spike_day, spike_average = self.plant_spike(plan.spiker)
        self.plant_team_outlier(plan.outlier, yesterday)
        planted = [plan.whale, plan.spiker, plan.outlier, plan.flooder]
        fillers = [p for p in people if p.archetype in ("regular", "light", "heavy")]
        self.ensure_cycle_activity(fillers + plan.steady, planted)
        for _ in range(6):
            self.plant_cycle_outlier(plan.whale, {yesterday, spike_day})
            self.plant_team_outlier(plan.outlier, yesterday)
            if self.cycle_spend(plan.whale.index) > 12 * self.cycle_median(plan.whale.index):
                break
        usual = self.plant_flood(plan.flooder, yesterday)
        check_days = sorted({self.days - 1, yesterday, spike_day})
        normal = [p for p in plan.steady if self.is_ordinary(p, check_days)][:5]
        anomalies = self._describe(plan, spike_day, spike_average, yesterday, usual)
        anomalies += self._describe_patterns(plan)
        self.store.finish()
        members: list[JSONObject] = [
            {
                "id": p.member_id,
                "name": p.name,
                "email": p.email,
                "role": p.role,
                "isRemoved": p.removed_day is not None,
            }
            for p in people
        ]
        scenario = Scenario(
            members=members,
            events=self.store,
            planted_anomalies=anomalies,
            normal_members=[p.email for p in normal],
            now_ms=self.now_ms,
            team_id=self.rng.randrange(10_000, 100_000),
            spend_limits={
                people[index].email: limit / 100 for index, limit in self.limit_cents.items()
            },
        )
        scenario.groups = build_groups_report(
            scenario, billing_cycle_start(self.now_ms), self._layout(people)
        )
        scenario.analytics = scenario.derived_analytics()
        return scenario

    def _describe(
        self, plan: _Plan, spike_day: int, spike_average: float, outlier_day: int, usual: int
    ) -> list[JSONObject]:
        def iso(day: int) -> str:
            return (self.first_day + timedelta(days=day)).isoformat()

        spike = self.spend[plan.spiker.index][spike_day]
        outlier = self.spend[plan.outlier.index][outlier_day]
        whale = self.cycle_spend(plan.whale.index)
        median = self.cycle_median(plan.whale.index)
        flood = self.count[plan.flooder.index][outlier_day]
        checks = (
            spike > 5 * spike_average and spike >= 5_000,
            self.team_z(plan.outlier, outlier_day) > 2.5 and outlier >= 5_000,
            whale > 10 * median,
            flood > 5 * usual,
        )
        if not all(checks):
            raise RuntimeError(f"a planted anomaly did not take hold: {checks}")
        cycle_day = billing_cycle_start(self.now_ms).isoformat()
        return [
            {
                "kind": "spend_spike",
                "email": plan.spiker.email,
                "day": iso(spike_day),
                "description": f"spent ${spike / 100:.2f} in a day, {spike / spike_average:.1f}x"
                f" their 7-day active-day average of ${spike_average / 100:.2f}",
            },
            {
                "kind": "team_outlier",
                "email": plan.outlier.email,
                "day": iso(outlier_day),
                "description": f"spent ${outlier / 100:.2f} in a day, z-score"
                f" {self.team_z(plan.outlier, outlier_day):.1f} against the rest of the team",
            },
            {
                "kind": "cycle_outlier",
                "email": plan.whale.email,
                "day": None,
                "description": f"spent ${whale / 100:.2f} since {cycle_day},"
                f" {whale / median:.1f}x the team median of ${median / 100:.2f}",
            },
            {
                "kind": "request_flood",
                "email": plan.flooder.email,
                "day": iso(outlier_day),
                "description": f"{flood} requests in a day, {flood / usual:.1f}x the team's"
                f" usual daily maximum of {usual}",
            },
        ]

    def _describe_patterns(self, plan: _Plan) -> list[JSONObject]:
        """The ramping and the limited member, for the forecast and the cycle's messages."""
        found: list[JSONObject] = []
        if plan.ramp is not None:
            week = self.spend[plan.ramp.index]
            first, last = sum(week[:7]), sum(week[-8:-1])
            found.append(
                {
                    "kind": "ramp",
                    "email": plan.ramp.email,
                    "day": None,
                    "description": f"spend grows through the window: ${first / 100:.2f} in its"
                    f" first week, ${last / 100:.2f} in the week before today",
                }
            )
        if plan.limited is not None:
            index = plan.limited.index
            spent = self.cycle_spend(index)
            if spent < self.limit_cents[index]:
                # The cycle is too young to reach the limit drawn: Cursor stops them at what
                # they have spent (a limit of $0 stops a member before their first request).
                self.limit_cents[index] = 100.0 * math.floor(spent / 100)
            limit = self.limit_cents[index] / 100
            found.append(
                {
                    "kind": "spend_limited",
                    "email": plan.limited.email,
                    "day": None,
                    "description": f"stopped by Cursor at their ${limit:.0f} monthly spend"
                    f" limit, ${spent / 100:.2f} spent this cycle",
                }
            )
        return found

    def _layout(self, people: Sequence[_Person]) -> list[GroupLayout]:
        rng = self.rng
        count = min(len(GROUP_NAMES), max(3, self.users // 8))
        window_start = datetime(
            self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC
        )
        created = [window_start - timedelta(days=rng.randrange(200, 700)) for _ in range(count)]
        seats: list[list[GroupSeat]] = [[] for _ in range(count)]
        for person in people:
            if rng.random() < 0.1:
                continue
            group = rng.randrange(count)
            span = (window_start - created[group]).days
            joined = created[group] + timedelta(days=rng.randrange(span), hours=rng.randrange(24))
            left = None
            if person.removed_day is not None:
                left = window_start + timedelta(days=person.removed_day)
            seats[group].append(GroupSeat(email=person.email, joined_at=joined, left_at=left))
        return [
            GroupLayout(
                id=f"group_{rng.getrandbits(48):012x}",
                name=GROUP_NAMES[n],
                created_at=created[n],
                seats=tuple(seats[n]),
            )
            for n in range(count)
        ]


def organisation_time(at: datetime) -> datetime:
    """The instant an organisation generated at ``at`` is drawn as of: 00:00 UTC that day.

    The whole of the day is the unit of reproducibility; the current day holds no events yet,
    like a real team's early in the UTC day, and the anomalies are planted in the days before.
    """
    day = at.astimezone(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_with_previous_cycle(now: datetime) -> int:
    """Days from the first day of the previous billing cycle through ``now``'s day.

    The demo's default window: the cycle under way and the whole one before it, so that a
    cycle summary has a last cycle to compare with and a forecast a past cycle to replay.
    """
    today = now.astimezone(UTC).date()
    first = today.replace(day=1) - timedelta(days=1)
    return (today - first.replace(day=1)).days + 1


def generate_scenario(
    *,
    users: int = 40,
    days: int = 45,
    seed: int = 7,
    now: datetime | None = None,
    clock: Clock = utc_now,
    realistic: bool = False,
) -> Scenario:
    """A seeded organisation of ``users`` members over the ``days`` UTC days ending at ``now``.

    ``now`` defaults to :func:`organisation_time` of ``clock()``: the same seed on the same
    UTC day gives the same organisation. The result lists its planted anomalies and ordinary
    members (``plantedAnomalies``, ``normalMembers``); its billing groups and analytics are
    filled in from its events, while daily usage and spend are left to the scenario's
    derivation rules. With ``realistic`` the members are drawn as a real team looks (see
    :meth:`_Generator.make_realistic`); without it, from the original archetypes, unchanged.
    """
    if not MIN_USERS <= users <= MAX_USERS:
        raise ValueError(f"users must be between {MIN_USERS} and {MAX_USERS}")
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be between {MIN_DAYS} and {MAX_DAYS}")
    if now is None:
        now = organisation_time(clock())
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _Generator(users=users, days=days, seed=seed, now=now, realistic=realistic).run()
