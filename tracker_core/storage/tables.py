"""The database schema as SQLAlchemy typed declarative models.

The hand-written migrations in ``migrations/versions`` must produce exactly this schema; a test
compares the two with Alembic's autogenerate so neither can drift. Everything else in the
storage layer uses the Core ``Table`` objects (``Member.__table__`` and friends, exported below
as ``members``, ``daily_usage`` ...) because bulk upserts through the ORM would be far slower.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so a later migration can drop or alter them by name."""

RUN_STATUSES: tuple[str, ...] = ("running", "ok", "partial", "failed")


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back as an aware UTC datetime.

    SQLite has no time zone type: SQLAlchemy would silently drop the offset of an aware value
    and hand back naive datetimes, which is how the original tool ended up with mixed formats.
    Converting to UTC on the way in and tagging UTC on the way out gives both dialects the same
    behaviour. Naive values are refused because their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given where an instant is stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Member(Base):
    """A team member as ``/teams/members`` last described them."""

    __tablename__ = "members"

    email: Mapped[str] = mapped_column(String, primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    is_removed: Mapped[bool] = mapped_column(Boolean)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set when the API flags the member removed or stops listing them; cleared on return."""
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class DailyUsageRow(Base):
    """One member's activity on one UTC day."""

    __tablename__ = "daily_usage"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    email: Mapped[str] = mapped_column(String, primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String)
    is_active: Mapped[bool] = mapped_column(Boolean)
    total_lines_added: Mapped[int] = mapped_column(Integer)
    total_lines_deleted: Mapped[int] = mapped_column(Integer)
    accepted_lines_added: Mapped[int] = mapped_column(Integer)
    accepted_lines_deleted: Mapped[int] = mapped_column(Integer)
    total_applies: Mapped[int] = mapped_column(Integer)
    total_accepts: Mapped[int] = mapped_column(Integer)
    total_rejects: Mapped[int] = mapped_column(Integer)
    total_tabs_shown: Mapped[int] = mapped_column(Integer)
    total_tabs_accepted: Mapped[int] = mapped_column(Integer)
    composer_requests: Mapped[int] = mapped_column(Integer)
    chat_requests: Mapped[int] = mapped_column(Integer)
    agent_requests: Mapped[int] = mapped_column(Integer)
    cmdk_usages: Mapped[int] = mapped_column(Integer)
    subscription_included_reqs: Mapped[int] = mapped_column(Integer)
    api_key_reqs: Mapped[int] = mapped_column(Integer)
    usage_based_reqs: Mapped[int] = mapped_column(Integer)
    bugbot_usages: Mapped[int] = mapped_column(Integer)
    most_used_model: Mapped[str | None] = mapped_column(String)
    apply_most_used_extension: Mapped[str | None] = mapped_column(String)
    tab_most_used_extension: Mapped[str | None] = mapped_column(String)
    client_version: Mapped[str | None] = mapped_column(String)
    collected_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_daily_usage_email_day", "email", "day"),)


class MemberSpendRow(Base):
    """One member's spend in one billing cycle, as ``/teams/spend`` last reported it."""

    __tablename__ = "member_spend"

    cycle_start: Mapped[date] = mapped_column(Date, primary_key=True)
    email: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    user_id: Mapped[str | None] = mapped_column(String)
    spend_cents: Mapped[float] = mapped_column(Float)
    overall_spend_cents: Mapped[float | None] = mapped_column(Float)
    fast_premium_requests: Mapped[int] = mapped_column(Integer)
    hard_limit_override_dollars: Mapped[float] = mapped_column(Float)
    monthly_limit_dollars: Mapped[float | None] = mapped_column(Float)
    collected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UsageEventRow(Base):
    """One usage event; the biggest table by far, so it carries nothing it does not need."""

    __tablename__ = "usage_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
    """UTC day of the timestamp, stored so day filters can use an index."""
    user_email: Mapped[str] = mapped_column(String)
    model: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    max_mode: Mapped[bool] = mapped_column(Boolean)
    requests_costs: Mapped[float] = mapped_column(Float)
    is_token_based_call: Mapped[bool] = mapped_column(Boolean)
    is_chargeable: Mapped[bool] = mapped_column(Boolean)
    is_headless: Mapped[bool] = mapped_column(Boolean)
    is_free_bugbot: Mapped[bool] = mapped_column(Boolean)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    """64-bit: one agent request can exceed 2^31 cache tokens (the parser's bound is 10^12)."""
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    token_cents: Mapped[float | None] = mapped_column(Float)
    charged_cents: Mapped[float | None] = mapped_column(Float)
    cursor_token_fee: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_usage_events_user_email_day", "user_email", "day"),
        Index("ix_usage_events_day", "day"),
        Index("ix_usage_events_timestamp_ms", "timestamp_ms"),
    )


class BillingGroupRow(Base):
    """A billing group as the API last described it (local overrides live elsewhere)."""

    __tablename__ = "billing_groups"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    directory_group_id: Mapped[str | None] = mapped_column(String)
    member_count: Mapped[int] = mapped_column(Integer)
    spend_cents: Mapped[float] = mapped_column(Float)
    is_unassigned: Mapped[bool] = mapped_column(Boolean)
    cycle_start: Mapped[date | None] = mapped_column(Date)
    cycle_end: Mapped[date | None] = mapped_column(Date)
    collected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupMemberRow(Base):
    """A member's place in a billing group, replaced wholesale on every groups sync."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        String, ForeignKey("billing_groups.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String, primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    spend_cents: Mapped[float] = mapped_column(Float)
    collected_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_group_members_email", "email"),)


class LocalGroupRow(Base):
    """A billing group someone created here; Cursor never hears of it, so no sync touches it."""

    __tablename__ = "local_groups"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupRenameRow(Base):
    """The local name of one of Cursor's groups: kept apart so a groups sync cannot undo it."""

    __tablename__ = "group_renames"

    group_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    renamed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupAssignmentRow(Base):
    """A member placed in a group here; it wins over every membership Cursor reports.

    ``group_id`` None places the member in no group. No foreign key: the group may be one of
    Cursor's (replaced on every sync) or a local one.
    """

    __tablename__ = "group_assignments"

    email: Mapped[str] = mapped_column(String, primary_key=True)
    group_id: Mapped[str | None] = mapped_column(String)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupEditRow(Base):
    """One local change to the groups, with what it replaced, so it can be listed and undone.

    Edits made by one command share a ``batch`` (an import is one step to undo); ``before`` and
    ``after`` are JSON objects describing the state of ``subject`` on either side.
    """

    __tablename__ = "group_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    subject: Mapped[str] = mapped_column(String)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_group_edits_batch", "batch"),)


class BudgetRow(Base):
    """A spending budget per billing cycle for the team, one billing group or one member.

    ``scope_key`` is empty for the team, the group's id or the member's email otherwise. No
    foreign key: a group may be Cursor's (replaced on every sync) or a local one, and a
    budget outlives a member leaving, as their spend this cycle does.
    """

    __tablename__ = "budgets"

    scope: Mapped[str] = mapped_column(String, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String, primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    set_by: Mapped[str] = mapped_column(String)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("scope IN ('team', 'group', 'member')", name="scope_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )


class AnalyticsValueRow(Base):
    """One number of an Analytics API endpoint in long form (see ``domain.AnalyticsValue``)."""

    __tablename__ = "analytics_values"

    metric: Mapped[str] = mapped_column(String, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String, primary_key=True)
    subdimension: Mapped[str] = mapped_column(String, primary_key=True)
    field: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class DetectionSetting(Base):
    """A detection setting as text; the detector owns the keys, defaults and parsing."""

    __tablename__ = "detection_settings"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CollectionRun(Base):
    """One run of the collector, so a person can see when data was last fetched and how."""

    __tablename__ = "collection_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('running', 'ok', 'partial', 'failed')", name="status_known"),
    )


class CollectionStream(Base):
    """What one stream (members, events, ...) did during one run."""

    __tablename__ = "collection_streams"

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("collection_runs.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fetched: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class Watermark(Base):
    """How far a stream has been collected, in epoch milliseconds."""

    __tablename__ = "watermarks"

    stream: Mapped[str] = mapped_column(String, primary_key=True)
    value_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CollectionPlanRow(Base):
    """A stream's re-fetch plan between runs: tiers' last runs, a re-fetch to resume, and how
    far the stream is complete (see :mod:`tracker_core.refetch`)."""

    __tablename__ = "collection_plan"

    stream: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    complete_up_to_ms: Mapped[int | None] = mapped_column(BigInteger)
    max_lag_ms: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LeaseRow(Base):
    """A named lease; the collector holds ``collector`` so only one runs at a time."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


ANOMALY_STATUSES: tuple[str, ...] = ("open", "resolved")
INCIDENT_STATUSES: tuple[str, ...] = ("open", "alerted", "acknowledged", "resolved")
OUTBOX_STATUSES: tuple[str, ...] = ("pending", "sent", "failed", "skipped")


class AnomalyRow(Base):
    """One rule firing for one member in one period; there is only ever one per fingerprint.

    A later detection run updates the value and message in place, so the row always says what
    the data says now, and a fingerprint a person resolved is never raised again.
    """

    __tablename__ = "anomalies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String)
    email: Mapped[str] = mapped_column(String)
    period: Mapped[date] = mapped_column(Date)
    """The UTC day for daily rules, the billing-cycle start day for cycle rules."""
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text)
    top_model: Mapped[str | None] = mapped_column(String)
    top_model_share: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String)
    """``person`` or ``auto`` (a cycle rule whose condition cleared)."""

    __table_args__ = (
        Index("ix_anomalies_rule_email_period", "rule", "email", "period", unique=True),
        Index("ix_anomalies_status", "status"),
        CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        CheckConstraint("severity IN ('warning', 'critical')", name="severity_known"),
    )


class IncidentRow(Base):
    """The response to one anomaly: when it began, was announced, acknowledged and resolved."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    anomaly_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("anomalies.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String)
    onset_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """Time of the usage event at which the value crossed the threshold."""
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String)

    __table_args__ = (
        Index("ix_incidents_status", "status"),
        CheckConstraint(
            "status IN ('open', 'alerted', 'acknowledged', 'resolved')", name="status_known"
        ),
    )


class DeliveryState:
    """Where one outbox row's delivery stands, the same for alerts and the cycle's messages:
    both are sent by one dispatcher, which retries a failure later and settles an attempt cut
    short by asking the channel before posting again."""

    status: Mapped[str] = mapped_column(String)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempt_id: Mapped[str | None] = mapped_column(String)
    """The delivery attempt in flight: set before the post, cleared once its outcome is known.

    A row that keeps it after a dispatch was cut short; the next dispatch asks the channel
    whether that attempt's message arrived before posting again."""
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AlertOutboxRow(DeliveryState, Base):
    """One announcement of one incident on one channel, kept until it is delivered.

    ``reason`` is ``new`` or ``escalated``: an anomaly that turns critical is announced once
    more, and the unique key makes sure each announcement exists once per channel.
    """

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("incidents.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)

    __table_args__ = (
        Index(
            "ix_alert_outbox_incident_id_channel_reason",
            "incident_id",
            "channel",
            "reason",
            unique=True,
        ),
        Index("ix_alert_outbox_status", "status"),
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status_known"),
    )


class MessageOutboxRow(DeliveryState, Base):
    """One of the billing cycle's messages on one channel, kept until it is delivered.

    ``kind`` names the message (``plan_exhaustion``, ``members_limited``, ``cycle_summary``)
    and ``period`` the day or cycle it is for: the unique key makes each exist once per period
    and channel, across processes. ``payload`` holds the message as it will be sent (JSON), so
    a retry sends what was first meant, not what a later day's figures would say.
    """

    __tablename__ = "message_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String)
    period: Mapped[str] = mapped_column(String)
    channel: Mapped[str] = mapped_column(String)
    payload: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_message_outbox_kind_period_channel", "kind", "period", "channel", unique=True),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
    )


class DataVersionRow(Base):
    """How many times a kind of data has changed, counted by the code that changes it.

    A view cache entry's fingerprint reads one row here instead of counting the usage events,
    which takes a scan of the largest table on every console start and refresh.
    """

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ViewCacheRow(Base):
    """Figures a screen computed from a scan of the events, kept for the next start.

    ``fingerprint`` describes the data the figures came from (the events' version in
    ``data_versions``, the window); a reader uses ``body`` only when the fingerprint it
    computes now is the same, so a stale entry is never shown, only recomputed.
    """

    __tablename__ = "view_cache"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String)
    body: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventRollupRow(Base):
    """The usage events summed per UTC day, member and model.

    Every figure of spend the product shows or checks (overview, stats, detection) is a sum
    over these keys, so keeping them summed spares each reader a scan of the events. Events
    are the truth: a day listed in ``rollup_stale_days`` is summed from them instead, until a
    refresh recomputes it (see ``tracker_core.storage.rollups``).
    """

    __tablename__ = "event_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_email: Mapped[str] = mapped_column(String, primary_key=True)
    model: Mapped[str] = mapped_column(String, primary_key=True)
    spend_cents: Mapped[float] = mapped_column(Float)
    requests: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[float] = mapped_column(Float)
    """Summed as a double, like every token sum (see ``repo.tokens_expr``): no count of events
    can overflow it on either database, and it is exact up to 2^53 tokens."""
    cache_read_tokens: Mapped[float] = mapped_column(Float, server_default="0")
    """The cache-read tokens of the events that read the cache (the member badges' figure)."""
    cache_reads: Mapped[int] = mapped_column(Integer, server_default="0")
    """How many of the events read the cache."""


class WeeklyRollupRow(Base):
    """The usage rollup summed again per ISO week (from its Monday), member and model.

    A window of a month holds some 90,000 daily rows for 2,000 members, and grouping them by
    member and model is most of the console's cold start; its whole weeks hold a quarter as
    many rows here. Kept by the same refresh as the daily rows, from them: a week with a day
    in ``rollup_stale_days`` is read from its days until the refresh has summed it again.
    """

    __tablename__ = "event_rollups_weekly"

    week: Mapped[date] = mapped_column(Date, primary_key=True)
    """The Monday the week starts on (UTC days)."""
    user_email: Mapped[str] = mapped_column(String, primary_key=True)
    model: Mapped[str] = mapped_column(String, primary_key=True)
    spend_cents: Mapped[float] = mapped_column(Float)
    requests: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[float] = mapped_column(Float)
    last_day: Mapped[date] = mapped_column(Date)
    """The latest day of the week with usage: a member's last active day needs no days."""


class MemberDayRollupRow(Base):
    """The usage rollup summed again per UTC day and member, every model together.

    What reads a member's days, not their models (the cycle forecast's recency-weighted
    rates, the badges' cache reads, the team's active members per day), reads half as many
    rows here, and needs no grouping of its own to have a day's total. Kept by the same
    refresh as the daily rows, from them: a day in ``rollup_stale_days`` is summed from its
    events by readers until the refresh has summed it again.
    """

    __tablename__ = "event_rollups_members"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_email: Mapped[str] = mapped_column(String, primary_key=True)
    spend_cents: Mapped[float] = mapped_column(Float)
    requests: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[float] = mapped_column(Float)
    cache_read_tokens: Mapped[float] = mapped_column(Float)
    cache_reads: Mapped[int] = mapped_column(Integer)


class RollupStaleDayRow(Base):
    """A day whose events changed after its rollup was computed.

    ``marks`` counts the writes that touched the day, so a refresh removes the entry only if
    no write came after the sums it computed (on PostgreSQL a collector may commit new
    events while a refresh runs).
    """

    __tablename__ = "rollup_stale_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    marks: Mapped[int] = mapped_column(BigInteger)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


metadata = Base.metadata
members = _table(Member)
daily_usage = _table(DailyUsageRow)
member_spend = _table(MemberSpendRow)
usage_events = _table(UsageEventRow)
billing_groups = _table(BillingGroupRow)
group_members = _table(GroupMemberRow)
local_groups = _table(LocalGroupRow)
group_renames = _table(GroupRenameRow)
group_assignments = _table(GroupAssignmentRow)
group_edits = _table(GroupEditRow)
budgets = _table(BudgetRow)
analytics_values = _table(AnalyticsValueRow)
detection_settings = _table(DetectionSetting)
collection_runs = _table(CollectionRun)
collection_streams = _table(CollectionStream)
watermarks = _table(Watermark)
collection_plan = _table(CollectionPlanRow)
leases = _table(LeaseRow)
anomalies = _table(AnomalyRow)
incidents = _table(IncidentRow)
alert_outbox = _table(AlertOutboxRow)
message_outbox = _table(MessageOutboxRow)
view_cache = _table(ViewCacheRow)
data_versions = _table(DataVersionRow)
event_rollups = _table(EventRollupRow)
rollup_stale_days = _table(RollupStaleDayRow)
weekly_rollups = _table(WeeklyRollupRow)
member_day_rollups = _table(MemberDayRollupRow)
