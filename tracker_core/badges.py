"""Member badges and the AI-adoption score: the original tool's heuristics, as pure functions.

The original dashboard tags every member with up to four badges over the window (usage,
spend, context, adoption) and scores their AI adoption 0-100 into five tiers. These are
heuristics built on team-relative cut-offs, not measurements: each badge carries its rule as
one human sentence (:data:`RULES`) so every face can show it next to the badge.

Inputs are what the tracker stores: agent requests, accepts/applies, active days and the
most used model come from Cursor's daily usage; spend and cache-read tokens from the usage
events. Two of the original's flaws are fixed here rather than copied: the member's model is
the one most used over the window (the original took the alphabetically last model name), and
every face uses the same period for the adoption score (the original's user page used a
shorter one than its table, so a member could be High on one page and Moderate on the next).

Everything here is arithmetic on plain values; :mod:`tracker_core.views.badges` reads them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

# --- constants (the original's, named) -------------------------------------------------------

LOW_USAGE_REQUESTS: Final = 10
"""Fewer agent requests than this in the window: Low Usage, and no adoption score."""
SPEND_BADGE_REQUESTS: Final = 30
"""Agent requests a member needs before spend and context badges apply (and to count in the
team's spend medians and request percentile)."""
POWER_USER_REQUESTS_PER_DAY: Final = 80
"""Agent requests per active day from which a member is a Power User."""
MAX_MODEL_MARK: Final = "-max"
"""What a model name contains when Cursor ran it in Max mode (the Deep Thinker's mark)."""
OVER_BUDGET_MEDIAN_FACTOR: Final = 5.0
OVER_BUDGET_MIN_CENTS: Final = 100_00
"""Over Budget needs spend above both 5x the team's median and $100."""
PREMIUM_MODEL_CPR_FACTOR: Final = 3.0
COST_EFFICIENT_CPR_FACTOR: Final = 0.5
COST_EFFICIENT_REQUESTS_PERCENTILE: Final = 0.8
LONG_SESSIONS_CACHE_READ: Final = 700_000
SHORT_SESSIONS_CACHE_READ: Final = 300_000
"""Average cache-read tokens per request above which sessions are long, below which short."""
INTENSITY_PERCENTILE: Final = 0.9
DEFAULT_INTENSITY_REFERENCE: Final = 50.0
"""Requests per active day that count as full intensity when no member has 10 requests."""
ACCEPT_WEIGHT: Final = 40.0
INTENSITY_WEIGHT: Final = 40.0
CONSISTENCY_WEIGHT: Final = 20.0


class Tier(StrEnum):
    """An adoption tier, from the score's cut-offs (:data:`TIER_CUTOFFS`)."""

    AI_NATIVE = "AI-Native"
    HIGH = "High"
    MODERATE = "Moderate"
    LOW = "Low"
    MANUAL = "Manual"


TIER_CUTOFFS: Final[tuple[tuple[float, Tier], ...]] = (
    (80.0, Tier.AI_NATIVE),
    (55.0, Tier.HIGH),
    (30.0, Tier.MODERATE),
    (10.0, Tier.LOW),
)
"""Lowest score of each tier, highest first; below the last, :attr:`Tier.MANUAL`."""


def tier_of(score: float) -> Tier:
    """The tier an adoption score falls in (a cut-off belongs to the tier it opens)."""
    for lowest, tier in TIER_CUTOFFS:
        if score >= lowest:
            return tier
    return Tier.MANUAL


# --- the badges and their rules --------------------------------------------------------------


class Category(StrEnum):
    USAGE = "usage"
    SPEND = "spend"
    CONTEXT = "context"
    ADOPTION = "adoption"


@dataclass(frozen=True, slots=True)
class Badge:
    """A badge: its stable id (JSON, filters), its label and the rule that gives it."""

    id: str
    label: str
    category: Category
    rule: str
    """One sentence a face shows so nobody reads the badge as more than a heuristic."""

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "label": self.label,
            "category": self.category.value,
            "rule": self.rule,
        }


LOW_USAGE = Badge(
    "low-usage",
    "Low Usage",
    Category.USAGE,
    f"Fewer than {LOW_USAGE_REQUESTS} agent requests in the window.",
)
DEEP_THINKER = Badge(
    "deep-thinker",
    "Deep Thinker",
    Category.USAGE,
    f"{LOW_USAGE_REQUESTS}+ agent requests and the most used model (Cursor's daily usage, most "
    f"requests over the window) has '{MAX_MODEL_MARK}' in its name.",
)
POWER_USER = Badge(
    "power-user",
    "Power User",
    Category.USAGE,
    f"At least {POWER_USER_REQUESTS_PER_DAY} agent requests per active day (and not a Deep "
    "Thinker).",
)
BALANCED = Badge(
    "balanced",
    "Balanced",
    Category.USAGE,
    f"At least {LOW_USAGE_REQUESTS} agent requests, neither Deep Thinker nor Power User.",
)
OVER_BUDGET = Badge(
    "over-budget",
    "Over Budget",
    Category.SPEND,
    f"Spend above {OVER_BUDGET_MEDIAN_FACTOR:g}x the team's median and above "
    f"${OVER_BUDGET_MIN_CENTS // 100} (members with {SPEND_BADGE_REQUESTS}+ agent requests "
    "and some spend).",
)
PREMIUM_MODEL = Badge(
    "premium-model",
    "Premium Model",
    Category.SPEND,
    f"Not Over Budget; the most used model has '{MAX_MODEL_MARK}' in its name and the cost "
    f"per agent request is above {PREMIUM_MODEL_CPR_FACTOR:g}x the team's median.",
)
COST_EFFICIENT = Badge(
    "cost-efficient",
    "Cost Efficient",
    Category.SPEND,
    f"Neither of the above; agent requests at or above the "
    f"{round(COST_EFFICIENT_REQUESTS_PERCENTILE * 100)}th percentile of members with "
    f"{SPEND_BADGE_REQUESTS}+ and a cost per request at most {COST_EFFICIENT_CPR_FACTOR:g}x "
    "the team's median.",
)
LONG_SESSIONS = Badge(
    "long-sessions",
    "Long Sessions",
    Category.CONTEXT,
    f"Over {LONG_SESSIONS_CACHE_READ // 1000}k cache-read tokens per request on average "
    f"(requests that read the cache; {SPEND_BADGE_REQUESTS}+ agent requests).",
)
SHORT_SESSIONS = Badge(
    "short-sessions",
    "Short Sessions",
    Category.CONTEXT,
    f"Under {SHORT_SESSIONS_CACHE_READ // 1000}k cache-read tokens per request on average "
    f"(requests that read the cache; {SPEND_BADGE_REQUESTS}+ agent requests).",
)

_SCORE_RULE = (
    f"adoption score = {ACCEPT_WEIGHT:g} x accepted/applied diffs + {INTENSITY_WEIGHT:g} x "
    "requests per active day against the team's 90th percentile (capped at 1) + "
    f"{CONSISTENCY_WEIGHT:g} x active days / window days; {LOW_USAGE_REQUESTS}+ agent requests"
)


def _tier_badge(tier: Tier, lowest: float | None, below: float | None) -> Badge:
    if lowest is None:
        span = f"under {below:g}"
    elif below is None:
        span = f"{lowest:g} or more"
    else:
        span = f"{lowest:g} to under {below:g}"
    label = tier.value if tier in (Tier.AI_NATIVE, Tier.MANUAL) else f"{tier.value} Adoption"
    ident = "adoption-" + tier.name.lower().replace("_", "-")
    return Badge(ident, label, Category.ADOPTION, f"Score {span} ({_SCORE_RULE}).")


_BOUNDS = [lowest for lowest, _ in TIER_CUTOFFS]
TIER_BADGES: Final[dict[Tier, Badge]] = {
    tier: _tier_badge(tier, lowest, _BOUNDS[index - 1] if index else None)
    for index, (lowest, tier) in enumerate(TIER_CUTOFFS)
} | {Tier.MANUAL: _tier_badge(Tier.MANUAL, None, _BOUNDS[-1])}

BADGES: Final[tuple[Badge, ...]] = (
    LOW_USAGE,
    DEEP_THINKER,
    POWER_USER,
    BALANCED,
    OVER_BUDGET,
    PREMIUM_MODEL,
    COST_EFFICIENT,
    LONG_SESSIONS,
    SHORT_SESSIONS,
    *TIER_BADGES.values(),
)
"""Every badge, in the order faces list them (by category)."""
RULES: Final[dict[str, str]] = {badge.id: badge.rule for badge in BADGES}
SHORT: Final[dict[str, str]] = {
    LOW_USAGE.id: "Low use",
    DEEP_THINKER.id: "Deep",
    POWER_USER.id: "Power",
    BALANCED.id: "",
    OVER_BUDGET.id: "Over budget",
    PREMIUM_MODEL.id: "Premium",
    COST_EFFICIENT.id: "Efficient",
    LONG_SESSIONS.id: "Long ctx",
    SHORT_SESSIONS.id: "Short ctx",
} | {badge.id: tier.value for tier, badge in TIER_BADGES.items()}
"""A badge in a table cell, where every member's badges line up; Balanced, the usage badge
of everyone unremarkable, is left out there."""
BY_ID: Final[dict[str, Badge]] = {badge.id: badge for badge in BADGES}


def badge_by_id(ident: str) -> Badge:
    """Raises ``ValueError`` naming the unknown id and the known ones (a filter's input)."""
    try:
        return BY_ID[ident]
    except KeyError:
        known = ", ".join(BY_ID)
        raise ValueError(f"no badge {ident!r}; badges are {known}") from None


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """One member's figures over the window, as the badges need them."""

    email: str
    agent_requests: int
    """Agent requests summed from daily usage (the original's "reqs")."""
    spend_cents: float
    active_days: int
    """Days of the window with at least one agent request."""
    accepts: int
    applies: int
    """Diffs accepted and diffs applied, from daily usage."""
    model: str | None = None
    """The model most used over the window (see :func:`most_used_model`)."""
    cache_read_tokens: int = 0
    cache_read_requests: int = 0
    """Cache-read tokens summed over the requests that read the cache, and how many did."""

    @property
    def cost_per_request_cents(self) -> float:
        return self.spend_cents / self.agent_requests if self.agent_requests else 0.0

    @property
    def intensity(self) -> float:
        """Agent requests per active day."""
        return self.agent_requests / self.active_days if self.active_days else 0.0

    @property
    def average_cache_read(self) -> float:
        """Cache-read tokens per request that read the cache (0 when none did)."""
        if not self.cache_read_requests:
            return 0.0
        return self.cache_read_tokens / self.cache_read_requests

    @property
    def uses_max_model(self) -> bool:
        return self.model is not None and MAX_MODEL_MARK in self.model.lower()


def most_used_model(uses: Iterable[tuple[str | None, int, int]]) -> str | None:
    """The model a member used most. ``uses`` holds (model, agent requests, days) for the
    days Cursor's daily usage named that model the day's most used, possibly in several
    parts. The model with the most requests wins, then the one named on more days, then by
    name; the original took the alphabetically last name whatever its use."""
    requests: dict[str, int] = {}
    named: dict[str, int] = {}
    for model, count, days in uses:
        if not model:
            continue
        requests[model] = requests.get(model, 0) + max(count, 0)
        named[model] = named.get(model, 0) + max(days, 0)
    if not requests:
        return None
    return min(requests, key=lambda model: (-requests[model], -named[model], model))


# --- the team's cut-offs ---------------------------------------------------------------------


def _at(values: Sequence[float], fraction: float) -> float:
    """The original's percentile: ``sorted[floor(n x fraction)]`` (so its median is the upper
    one); ``values`` must not be empty."""
    ordered = sorted(values)
    return ordered[min(math.floor(len(ordered) * fraction), len(ordered) - 1)]


@dataclass(frozen=True, slots=True)
class TeamNorms:
    """The team-relative cut-offs, computed once from every member of the window."""

    median_spend_cents: float | None
    median_cost_per_request_cents: float | None
    """Over members with 30+ agent requests and some spend; None when there are none."""
    requests_p80: float | None
    """80th percentile of agent requests over members with 30+; None when there are none."""
    intensity_p90: float
    """90th percentile of requests per active day over members with 10+ requests (else 50)."""

    @classmethod
    def of(cls, members: Iterable[MemberActivity]) -> TeamNorms:
        everyone = list(members)
        spenders = [
            m for m in everyone if m.agent_requests >= SPEND_BADGE_REQUESTS and m.spend_cents > 0
        ]
        heavy = [m.agent_requests for m in everyone if m.agent_requests >= SPEND_BADGE_REQUESTS]
        scored = [
            m.intensity
            for m in everyone
            if m.agent_requests >= LOW_USAGE_REQUESTS and m.active_days > 0
        ]
        return cls(
            median_spend_cents=_at([m.spend_cents for m in spenders], 0.5) if spenders else None,
            median_cost_per_request_cents=(
                _at([m.cost_per_request_cents for m in spenders], 0.5) if spenders else None
            ),
            requests_p80=(
                _at([float(r) for r in heavy], COST_EFFICIENT_REQUESTS_PERCENTILE)
                if heavy
                else None
            ),
            intensity_p90=(
                _at(scored, INTENSITY_PERCENTILE) if scored else DEFAULT_INTENSITY_REFERENCE
            ),
        )


# --- the score -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adoption:
    """A member's adoption score and its three parts (what the drilldown's card shows)."""

    score: float
    tier: Tier
    accept_rate: float
    """Accepted / applied diffs, 0 when nothing was applied."""
    intensity: float
    """Agent requests per active day."""
    intensity_reference: float
    """The team's 90th percentile of requests per active day (full marks from there)."""
    active_days: int
    period_days: int
    accept_points: float
    intensity_points: float
    consistency_points: float

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 1),
            "tier": self.tier.value,
            "accept_rate": round(self.accept_rate, 4),
            "requests_per_active_day": round(self.intensity, 2),
            "intensity_reference": round(self.intensity_reference, 2),
            "active_days": self.active_days,
            "period_days": self.period_days,
        }


def adoption(member: MemberActivity, norms: TeamNorms, period_days: int) -> Adoption | None:
    """The member's adoption over ``period_days``; None below 10 agent requests or without an
    active day (the original scores nobody there: too little to say anything)."""
    if period_days < 1:
        raise ValueError(f"an adoption period needs at least one day, not {period_days}")
    if member.agent_requests < LOW_USAGE_REQUESTS or member.active_days <= 0:
        return None
    accept_rate = member.accepts / member.applies if member.applies > 0 else 0.0
    accept_rate = min(max(accept_rate, 0.0), 1.0)
    reference = norms.intensity_p90 if norms.intensity_p90 > 0 else DEFAULT_INTENSITY_REFERENCE
    accept = ACCEPT_WEIGHT * accept_rate
    intensity = INTENSITY_WEIGHT * min(member.intensity / reference, 1.0)
    consistency = CONSISTENCY_WEIGHT * min(member.active_days / period_days, 1.0)
    score = accept + intensity + consistency
    return Adoption(
        score=score,
        tier=tier_of(score),
        accept_rate=accept_rate,
        intensity=member.intensity,
        intensity_reference=reference,
        active_days=member.active_days,
        period_days=period_days,
        accept_points=accept,
        intensity_points=intensity,
        consistency_points=consistency,
    )


# --- the badges ------------------------------------------------------------------------------


def usage_badge(member: MemberActivity) -> Badge:
    if member.agent_requests < LOW_USAGE_REQUESTS:
        return LOW_USAGE
    if member.uses_max_model:
        return DEEP_THINKER
    if member.intensity >= POWER_USER_REQUESTS_PER_DAY:
        return POWER_USER
    return BALANCED


def spend_badge(member: MemberActivity, norms: TeamNorms) -> Badge | None:
    if member.agent_requests < SPEND_BADGE_REQUESTS or member.spend_cents <= 0:
        return None
    median = norms.median_spend_cents
    if (
        median is not None
        and member.spend_cents > OVER_BUDGET_MEDIAN_FACTOR * median
        and member.spend_cents > OVER_BUDGET_MIN_CENTS
    ):
        return OVER_BUDGET
    cpr, median_cpr = member.cost_per_request_cents, norms.median_cost_per_request_cents
    if median_cpr is None:
        return None
    if member.uses_max_model and cpr > PREMIUM_MODEL_CPR_FACTOR * median_cpr:
        return PREMIUM_MODEL
    p80 = norms.requests_p80
    if (
        p80 is not None
        and member.agent_requests >= p80
        and cpr <= COST_EFFICIENT_CPR_FACTOR * (median_cpr)
    ):
        return COST_EFFICIENT
    return None


def context_badge(member: MemberActivity) -> Badge | None:
    if member.agent_requests < SPEND_BADGE_REQUESTS:
        return None
    average = member.average_cache_read
    if average > LONG_SESSIONS_CACHE_READ:
        return LONG_SESSIONS
    if 0 < average < SHORT_SESSIONS_CACHE_READ:
        return SHORT_SESSIONS
    return None


@dataclass(frozen=True, slots=True)
class MemberBadges:
    """A member's badges (usage first, then spend, context, adoption) and adoption score."""

    email: str
    badges: tuple[Badge, ...]
    adoption: Adoption | None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(badge.id for badge in self.badges)

    def has(self, ident: str) -> bool:
        return ident in self.ids


def member_badges(member: MemberActivity, norms: TeamNorms, period_days: int) -> MemberBadges:
    """Every badge of one member against the team's ``norms``."""
    scored = adoption(member, norms, period_days)
    found = [
        usage_badge(member),
        spend_badge(member, norms),
        context_badge(member),
        TIER_BADGES[scored.tier] if scored is not None else None,
    ]
    return MemberBadges(member.email, tuple(b for b in found if b is not None), scored)


def team_badges(members: Iterable[MemberActivity], period_days: int) -> dict[str, MemberBadges]:
    """Every member's badges over a window of ``period_days``, by email.

    ``members`` is the whole population the cut-offs are relative to (the team, or a group
    when a face filters by one); a member without activity can be left out (they get Low
    Usage and nothing else).
    """
    everyone = list(members)
    norms = TeamNorms.of(everyone)
    return {m.email: member_badges(m, norms, period_days) for m in everyone}


def tier_counts(badges: Mapping[str, MemberBadges]) -> dict[Tier, int]:
    """How many members are in each tier (every tier present, in order; the unscored left out):
    what the cycle summary's adoption line shows."""
    counts = dict.fromkeys(Tier, 0)
    for found in badges.values():
        if found.adoption is not None:
            counts[found.adoption.tier] += 1
    return counts


# --- what faces show -------------------------------------------------------------------------


def labels(ids: Iterable[str]) -> list[str]:
    """The labels of badge ids (ids of another version's badges are left out)."""
    return [BY_ID[ident].label for ident in ids if ident in BY_ID]


def cell(ids: Iterable[str]) -> str:
    """Badges in a table cell: short labels, the adoption tier last, "—" when none says much."""
    shown = [SHORT.get(ident, "") for ident in ids]
    return " · ".join(label for label in shown if label) or "—"


def adoption_parts(scored: Adoption) -> list[tuple[str, str]]:
    """The score's three parts as (what, how much) lines, the same on every face: the figure,
    then the points it earns of the most it could (short: a drilldown's panel is narrow)."""
    return [
        (
            "Accepted diffs",
            f"{scored.accept_rate:.0%} → {scored.accept_points:.1f}/{ACCEPT_WEIGHT:g}",
        ),
        (
            "Requests / active day",
            f"{scored.intensity:.1f} of p90 {scored.intensity_reference:.1f} → "
            f"{scored.intensity_points:.1f}/{INTENSITY_WEIGHT:g}",
        ),
        (
            "Active days",
            f"{scored.active_days} of {scored.period_days} → "
            f"{scored.consistency_points:.1f}/{CONSISTENCY_WEIGHT:g}",
        ),
    ]


NOT_SCORED: Final = (
    f"Not scored: fewer than {LOW_USAGE_REQUESTS} agent requests in the window "
    "(Cursor's daily usage)."
)
HEURISTIC_NOTE: Final = (
    "Badges and the adoption score are heuristics after the original tool, relative to the "
    "team over the window: a hint where to look, not a measure of anyone's work."
)
