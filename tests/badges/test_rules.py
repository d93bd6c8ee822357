"""The badges' rules and the adoption score on hand-made members, at, below and above each
cut-off, against the original tool's definitions (seed-internals, section 9)."""

from __future__ import annotations

import pytest

from tracker_core.badges import (
    BADGES,
    BALANCED,
    COST_EFFICIENT,
    DEEP_THINKER,
    LONG_SESSIONS,
    LOW_USAGE,
    OVER_BUDGET,
    POWER_USER,
    PREMIUM_MODEL,
    SHORT_SESSIONS,
    TIER_BADGES,
    MemberActivity,
    TeamNorms,
    Tier,
    adoption,
    adoption_parts,
    badge_by_id,
    context_badge,
    labels,
    member_badges,
    most_used_model,
    spend_badge,
    team_badges,
    tier_counts,
    tier_of,
    usage_badge,
)


def someone(
    email: str = "a@x.io",
    *,
    requests: int = 40,
    dollars: float = 10.0,
    days: int = 10,
    accepts: int = 0,
    applies: int = 0,
    model: str | None = "gpt-5",
    cache_read: int = 0,
    cache_requests: int = 0,
) -> MemberActivity:
    return MemberActivity(
        email=email,
        agent_requests=requests,
        spend_cents=dollars * 100,
        active_days=days,
        accepts=accepts,
        applies=applies,
        model=model,
        cache_read_tokens=cache_read,
        cache_read_requests=cache_requests,
    )


# --- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("requests", "expected"), [(9, LOW_USAGE), (10, BALANCED), (11, BALANCED)])
def test_low_usage_is_under_ten_agent_requests(requests: int, expected: object) -> None:
    assert usage_badge(someone(requests=requests, days=5)) == expected


@pytest.mark.parametrize(
    ("requests", "expected"), [(790, BALANCED), (800, POWER_USER), (810, POWER_USER)]
)
def test_power_user_from_eighty_requests_per_active_day(requests: int, expected: object) -> None:
    assert usage_badge(someone(requests=requests, days=10)) == expected


def test_a_max_model_makes_a_deep_thinker_before_a_power_user() -> None:
    assert usage_badge(someone(requests=900, days=10, model="claude-4-opus-MAX")) == DEEP_THINKER
    assert usage_badge(someone(requests=900, days=10, model="claude-4-opus")) == POWER_USER
    assert usage_badge(someone(requests=5, model="claude-4-opus-max")) == LOW_USAGE


def test_the_model_is_the_most_used_not_the_alphabetically_last() -> None:
    uses = [("gpt-5", 120, 3), ("o3-max", 4, 1), ("o3-max", 3, 1), (None, 50, 2)]
    assert most_used_model(uses) == "gpt-5"
    # Equal requests: the model named on more days, then by name.
    assert most_used_model([("b", 5, 1), ("a", 3, 1), ("a", 2, 1)]) == "a"
    assert most_used_model([("a", 5, 1), ("b", 5, 1)]) == "a"
    assert most_used_model([]) is None


# --- spend -----------------------------------------------------------------------------------


def test_medians_are_the_originals_upper_median_over_members_with_thirty_requests() -> None:
    team = [
        someone("a", dollars=10),
        someone("b", dollars=20),
        someone("c", dollars=30),
        someone("d", dollars=40),
        someone("light", requests=29, dollars=1000),  # too few requests to count
        someone("free", dollars=0),  # no spend: out of the medians
    ]
    norms = TeamNorms.of(team)
    assert norms.median_spend_cents == 3000
    assert norms.median_cost_per_request_cents == pytest.approx(3000 / 40)


@pytest.mark.parametrize(("dollars", "over"), [(150.0, False), (150.01, True), (400.0, True)])
def test_over_budget_above_five_times_the_median(dollars: float, over: bool) -> None:
    team = [someone(f"m{i}@x.io", dollars=d) for i, d in enumerate([10, 20, 30, 40])]
    member = someone("big@x.io", dollars=dollars)
    norms = TeamNorms.of([*team, member])
    assert norms.median_spend_cents == 3000
    assert (spend_badge(member, norms) == OVER_BUDGET) is over


@pytest.mark.parametrize(("dollars", "over"), [(100.0, False), (100.01, True)])
def test_over_budget_also_needs_more_than_a_hundred_dollars(dollars: float, over: bool) -> None:
    team = [someone(f"m{i}@x.io", dollars=d) for i, d in enumerate([1, 2, 3, 4])]
    member = someone("big@x.io", dollars=dollars)
    norms = TeamNorms.of([*team, member])
    assert (spend_badge(member, norms) == OVER_BUDGET) is over


def test_no_spend_badge_under_thirty_requests_or_without_spend() -> None:
    norms = TeamNorms.of([someone(f"m{i}@x.io", dollars=1) for i in range(5)])
    assert spend_badge(someone(requests=29, dollars=5000), norms) is None
    assert spend_badge(someone(requests=30, dollars=5000), norms) == OVER_BUDGET
    assert spend_badge(someone(requests=500, dollars=0), norms) is None


@pytest.mark.parametrize(("dollars", "premium"), [(30.0, False), (30.4, True)])
def test_premium_model_is_a_max_model_above_three_times_the_median_cost(
    dollars: float, premium: bool
) -> None:
    # Median cost per request: $10 / 40 requests = 25 cents; three times that is 75 cents.
    norms = TeamNorms.of([someone(f"m{i}@x.io", dollars=10) for i in range(5)])
    member = someone(dollars=dollars, model="claude-4-opus-max")
    assert (spend_badge(member, norms) == PREMIUM_MODEL) is premium
    assert spend_badge(someone(dollars=dollars, model="claude-4-opus"), norms) is None


@pytest.mark.parametrize(
    ("requests", "dollars", "efficient"),
    [
        (100, 12.5, True),  # at the 80th percentile of requests and at half the median cost
        (99, 12.375, False),  # just below the percentile
        (100, 12.6, False),  # just above half the median cost
    ],
)
def test_cost_efficient_among_the_most_requests_at_half_the_median_cost(
    requests: int, dollars: float, efficient: bool
) -> None:
    # Four members at 40 requests and two at 100, 25 and 50 cents a request: with the member,
    # the requests' p80 is sorted[floor(7 x 0.8)] = 100 and the median cost 25 cents.
    team = [someone(f"m{i}@x.io", requests=40, dollars=10) for i in range(4)]
    team += [someone(f"top{i}@x.io", requests=100, dollars=50) for i in range(2)]
    member = someone(requests=requests, dollars=dollars)
    norms = TeamNorms.of([*team, member])
    assert norms.requests_p80 == 100
    assert norms.median_cost_per_request_cents == 25
    assert (spend_badge(member, norms) == COST_EFFICIENT) is efficient


# --- context ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("average", "expected"),
    [
        (700_001, LONG_SESSIONS),
        (700_000, None),
        (300_000, None),
        (299_999, SHORT_SESSIONS),
        (0, None),  # nothing read from the cache: no context badge
    ],
)
def test_context_badges_by_average_cache_read(average: int, expected: object) -> None:
    reads = 10 if average else 0
    assert context_badge(someone(cache_read=average * reads, cache_requests=reads)) == expected


def test_no_context_badge_under_thirty_requests() -> None:
    assert context_badge(someone(requests=29, cache_read=8_000_000, cache_requests=10)) is None


# --- adoption --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (100.0, Tier.AI_NATIVE),
        (80.0, Tier.AI_NATIVE),
        (79.99, Tier.HIGH),
        (55.0, Tier.HIGH),
        (54.99, Tier.MODERATE),
        (30.0, Tier.MODERATE),
        (29.99, Tier.LOW),
        (10.0, Tier.LOW),
        (9.99, Tier.MANUAL),
        (0.0, Tier.MANUAL),
    ],
)
def test_tier_cut_offs(score: float, tier: Tier) -> None:
    assert tier_of(score) == tier


def test_the_score_weighs_accepts_intensity_and_consistency_forty_forty_twenty() -> None:
    # 3 of 4 diffs accepted, 20 requests a day against a reference of 40, 15 of 30 days.
    member = someone(requests=300, days=15, accepts=3, applies=4)
    norms = TeamNorms(None, None, None, intensity_p90=40.0)
    scored = adoption(member, norms, period_days=30)
    assert scored is not None
    assert scored.accept_points == pytest.approx(30.0)
    assert scored.intensity_points == pytest.approx(20.0)
    assert scored.consistency_points == pytest.approx(10.0)
    assert scored.score == pytest.approx(60.0)
    assert scored.tier == Tier.HIGH
    assert scored.to_json()["score"] == 60.0


def test_intensity_is_capped_at_the_reference_and_no_applies_is_no_accept_rate() -> None:
    member = someone(requests=1000, days=10, accepts=5, applies=0)
    scored = adoption(member, TeamNorms(None, None, None, 50.0), period_days=10)
    assert scored is not None
    assert scored.score == pytest.approx(0 + 40 + 20)


def test_the_intensity_reference_is_the_teams_ninetieth_percentile_else_fifty() -> None:
    team = [someone(f"m{i}@x.io", requests=10 * (i + 1), days=1) for i in range(10)]
    team.append(someone("idle@x.io", requests=9, days=1))  # under 10: not in the percentile
    assert TeamNorms.of(team).intensity_p90 == 100.0  # sorted[floor(10 x 0.9)]
    assert TeamNorms.of([]).intensity_p90 == 50.0


def test_nobody_is_scored_under_ten_requests_or_without_an_active_day() -> None:
    norms = TeamNorms.of([])
    assert adoption(someone(requests=9, days=3), norms, 30) is None
    assert adoption(someone(requests=50, days=0), norms, 30) is None
    assert adoption(someone(requests=10, days=3), norms, 30) is not None


@pytest.mark.parametrize(
    ("accepts", "tier"), [(100, Tier.AI_NATIVE), (99, Tier.HIGH), (0, Tier.HIGH)]
)
def test_a_members_adoption_badge_is_their_tier(accepts: int, tier: Tier) -> None:
    # Full intensity and consistency give 60 points; the accept rate does the rest.
    member = someone(requests=500, days=10, accepts=accepts, applies=200)
    found = member_badges(member, TeamNorms(None, None, None, 50.0), period_days=10)
    assert found.adoption is not None and found.adoption.tier == tier
    assert TIER_BADGES[tier] in found.badges
    # 40 x 100/200 + 60 = 80: the cut-off belongs to the tier it opens.
    assert sum(badge.category == "adoption" for badge in found.badges) == 1


def test_team_badges_and_tier_counts() -> None:
    team = [
        someone("native@x.io", requests=500, days=10, accepts=10, applies=10),
        someone("manual@x.io", requests=10, days=1),
        someone("idle@x.io", requests=3, days=1),
    ]
    found = team_badges(team, period_days=30)
    assert found["idle@x.io"].ids == ("low-usage",)
    assert found["native@x.io"].has("adoption-ai-native")
    counts = tier_counts(found)
    assert list(counts) == list(Tier)
    assert counts[Tier.AI_NATIVE] == 1
    assert counts[Tier.HIGH] + counts[Tier.MODERATE] + counts[Tier.LOW] + counts[Tier.MANUAL] == 1


def test_every_badge_has_a_rule_and_an_unknown_id_is_named() -> None:
    assert len({badge.id for badge in BADGES}) == len(BADGES)
    assert all(badge.rule.strip() for badge in BADGES)
    assert "$100" in OVER_BUDGET.rule and "5x" in OVER_BUDGET.rule
    with pytest.raises(ValueError, match="no badge 'gold'"):
        badge_by_id("gold")


def test_the_adoption_parts_read_as_the_score_adds_up() -> None:
    member = someone(requests=300, days=15, accepts=3, applies=4)
    scored = adoption(member, TeamNorms(None, None, None, intensity_p90=40.0), period_days=30)
    assert scored is not None
    assert adoption_parts(scored) == [
        ("Accepted diffs", "75% → 30.0/40"),
        ("Requests / active day", "20.0 of p90 40.0 → 20.0/40"),
        ("Active days", "15 of 30 → 10.0/20"),
    ]
    assert labels(["power-user", "gone-badge", "adoption-high"]) == ["Power User", "High Adoption"]
