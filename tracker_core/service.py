"""The tracker's one seam: every face (command line, console, daemon) calls a ``Tracker``.

A face parses its input and shows the result; everything between (which database, which
transaction, the write lock, which read model, which jobs run in which order) is decided here
once. Each method opens its own connection or transaction, so a ``Tracker`` can be shared by
threads (the console's workers, the daemon's handlers run through ``asyncio.to_thread``), and
each result is a frozen object with a ``to_json()`` giving the JSON that CONTRACT.md promises.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import URL, Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from tracker_core import incidents
from tracker_core.alerting.message_outbox import MessagesResult
from tracker_core.budgets import edits as budget_edits
from tracker_core.budgets.edits import BudgetChange
from tracker_core.clock import Clock, utc_now
from tracker_core.collector import CollectionSummary, Progress
from tracker_core.config import Settings
from tracker_core.detection.backtest import Backtest
from tracker_core.detection.settings import (
    DetectionSettings,
    SettingValue,
    format_setting,
    parse_setting,
)
from tracker_core.errors import TrackerError
from tracker_core.groups import edits as group_edits
from tracker_core.groups.backup import RestorePlan, export_csv, parse_backup
from tracker_core.groups.edits import EditResult
from tracker_core.groups.hibob import MIN_TEAM_SIZE, ImportPlan, parse_people
from tracker_core.incidents import Announcement, IncidentView, ResponseTimes
from tracker_core.jobs.backtest import run_backtest
from tracker_core.jobs.collect import collect_once
from tracker_core.jobs.cycle_messages import send_cycle_messages
from tracker_core.jobs.detect import DetectionReport, load_settings, run_detection
from tracker_core.jobs.stoppable import StoppableRun
from tracker_core.storage import (
    begin_write,
    database_error,
    open_database,
    repo,
    set_detection_setting,
    tables,
)
from tracker_core.storage.budgets import budgets_version
from tracker_core.storage.groups import StoredEdit, groups_version
from tracker_core.storage.groups import edits as stored_edits
from tracker_core.views import DEFAULT_DAYS
from tracker_core.views.budgets import (
    BudgetLine,
    BudgetList,
    budget_standings,
    member_budget,
    team_budget,
)
from tracker_core.views.collected import require_collected
from tracker_core.views.cycle_summary import CycleSummary, cycle_summary
from tracker_core.views.forecast import ForecastView, forecast_moment, team_forecast
from tracker_core.views.groups import (
    BillingGroups,
    GroupRoster,
    MenuSection,
    billing_groups,
    filter_menu,
)
from tracker_core.views.insights import Insights, insights
from tracker_core.views.member import MemberDetail, member_detail
from tracker_core.views.overview import (
    Overview,
    completed_overview,
    overview,
    remembered_overview,
    warm_overview,
)
from tracker_core.views.stats import StreamCompleteness, TeamStats, stream_completeness, team_stats

RESPONSE_WINDOW_DAYS = 30
"""The window of the MTTD / MTTI / MTTR averages unless a face asks for another."""


def failure_message(error: BaseException | None, database: str | URL | None = None) -> str:
    """A failed use case in words for a person: the domain message as is, anything else with
    its kind.

    A database failure reads as the command line says it (naming ``database`` and the cause),
    never as the SQL statement and its parameters that SQLAlchemy attaches, so a face can
    show any error without knowing the storage underneath.
    """
    if error is None:
        return "unknown error"
    if isinstance(error, SQLAlchemyError):
        return str(database_error(error, database))
    if isinstance(error, TrackerError | LookupError):
        return str(error).strip("'\"")
    return f"{type(error).__name__}: {error}"


# --- results that are more than one read model -------------------------------------------------


@dataclass(frozen=True)
class IncidentQueue:
    """The incident queue with each incident's alert fates and the response-time averages:
    the ``incidents list --json`` object."""

    incidents: list[IncidentView]
    announced: dict[int, list[Announcement]]
    response_times: ResponseTimes
    days: int

    def to_json(self) -> dict[str, Any]:
        return {
            "incidents": [
                incident_json(view, self.announced.get(view.id, [])) for view in self.incidents
            ],
            "response_times": {"days": self.days, **self.response_times.to_json()},
        }


def incident_json(view: IncidentView, announced: Iterable[Announcement]) -> dict[str, Any]:
    """One incident as ``incidents list --json`` lists it."""
    return {**view.to_json(), "alerts": [item.to_json() for item in announced]}


@dataclass(frozen=True)
class IncidentDetail:
    """One incident and the fate of each of its alerts."""

    incident: IncidentView
    announced: list[Announcement]

    def to_json(self) -> dict[str, Any]:
        return incident_json(self.incident, self.announced)


@dataclass(frozen=True)
class IncidentChange:
    """An acknowledgement or resolution: the incident as it now is, and whether it already was."""

    incident: IncidentView
    already: bool
    """The incident was already in the asked-for state: nothing changed (and no error)."""
    announced: list[Announcement] = field(default_factory=list)
    """Its alerts' fates, so an answer to a change reads as the incident itself does."""

    def to_json(self) -> dict[str, Any]:
        return {**incident_json(self.incident, self.announced), "already": self.already}


@dataclass(frozen=True)
class SettingsView:
    """The detection settings in effect, and stored values that were ignored (and why)."""

    settings: DetectionSettings
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``settings show --json`` object: every key and its value."""
        return self.settings.to_json()


@dataclass(frozen=True)
class SettingsPage:
    """The settings screen: detection settings and the billing groups with their members."""

    detection: SettingsView
    groups: list[GroupRoster]
    budgets: BudgetList | None = None


@dataclass(frozen=True)
class MemberPage:
    """A member's drilldown and their anomaly history."""

    detail: MemberDetail
    history: list[IncidentView]
    budget: BudgetLine | None = None
    """The member's own budget and where they stand against it, when one is set."""

    def to_json(self) -> dict[str, Any]:
        """The drilldown's figures and the member's incidents, as ``incidents list`` shows them."""
        return {
            **self.detail.to_json(),
            "incidents": [view.to_json() for view in self.history],
            "budget": None if self.budget is None else self.budget.to_json(),
        }


@dataclass(frozen=True)
class Vitals:
    """The few stored figures a monitoring system scrapes (the daemon's ``/metrics``)."""

    spend_today_cents: float
    spend_cycle_cents: float
    open_incidents: dict[str, int]
    """Incidents not resolved, per severity."""
    alert_backlog: int
    """Alert messages still waiting to be delivered."""
    last_collected: datetime | None


@dataclass(frozen=True)
class CronResult:
    """One scheduled job: the collection, then detection, then the billing cycle's messages
    (the ``cron --json`` object)."""

    collect: CollectionSummary
    detect: DetectionReport
    messages: MessagesResult = field(default_factory=MessagesResult)

    def to_json(self) -> dict[str, Any]:
        return {
            "collect": self.collect.to_json(),
            "detect": self.detect.to_json(),
            "messages": self.messages.to_json(),
        }


# --- the seam --------------------------------------------------------------------------------


class Tracker:
    """The use cases of the tracker over one database; a context manager owning its engine."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def _today(self) -> date:
        return self.clock().date()

    # --- reads ---------------------------------------------------------------------------

    def stats(self, *, days: int, group_id: str | None = None) -> TeamStats:
        """The ``stats`` figures of the ``days`` UTC days ending today (of one group's members
        when ``group_id`` is given).

        Raises :class:`~tracker_core.views.collected.NothingCollectedError` on a database
        nothing was ever collected into, naming it, rather than reporting an empty team.
        """
        with self.engine.connect() as conn:
            require_collected(conn, self.database_url)
            return team_stats(
                conn, days=days, today=self._today(), group_id=group_id, now=self.clock()
            )

    def overview(
        self, *, days: int = DEFAULT_DAYS, group_id: str | None = None, hurried: bool = False
    ) -> Overview:
        """The overview; ``hurried=True`` leaves out the forecast unless remembered
        (``Overview.pending``), for a first paint that cannot wait for it."""
        with self.engine.connect() as conn:
            view = overview(
                conn,
                days=days,
                today=self._today(),
                group_id=group_id,
                now=self.clock(),
                hurried=hurried,
            )
            return self._with_team_budget(conn, view, group_id, recall_only=hurried)

    def complete_overview(self, first: Overview) -> Overview:
        """A hurried overview (``pending``) with its forecast added; the same overview
        :meth:`overview` would give, its other figures as ``first`` read them."""
        with self.engine.connect() as conn:
            view = completed_overview(conn, first, now=self.clock())
            return self._with_team_budget(conn, view, view.group_id, recall_only=False)

    def remembered_overview(self, *, days: int = DEFAULT_DAYS) -> Overview | None:
        """The whole team's overview if the view cache holds it (no scan), else None."""
        with self.engine.connect() as conn:
            view = remembered_overview(conn, days=days, today=self._today(), now=self.clock())
            if view is None:
                return None
            return self._with_team_budget(conn, view, None, recall_only=True)

    def _with_team_budget(
        self, conn: Connection, view: Overview, group_id: str | None, *, recall_only: bool
    ) -> Overview:
        """The team's budget standing on the whole team's overview (a filtered one has none),
        read fresh: budgets change without the events changing."""
        if group_id is not None:
            return view
        team = team_budget(conn, self.clock(), recall_only=recall_only)
        return view if team is None else replace(view, team_budget=team)

    def insights(self, *, days: int = DEFAULT_DAYS) -> Insights:
        with self.engine.connect() as conn:
            return insights(conn, days=days, today=self._today())

    def cycle_summary(self) -> CycleSummary:
        """This billing cycle's spend against the last, seats, plan exhaustion, limits: the
        summary the cycle's last days send, at any day of the cycle.

        Raises :class:`~tracker_core.views.collected.NothingCollectedError` on a database
        nothing was ever collected into.
        """
        with self.engine.connect() as conn:
            require_collected(conn, self.database_url)
            return cycle_summary(conn, self._today(), self.clock())

    def member(self, email: str, *, days: int = DEFAULT_DAYS) -> MemberPage:
        with self.engine.connect() as conn:
            detail = member_detail(conn, email, days=days, today=self._today(), now=self.clock())
            history = incidents.list_incidents(conn, email=email)
            budget = member_budget(conn, detail.email, self.clock())
        return MemberPage(detail, history, budget)

    def forecast(self, *, group_id: str | None = None) -> ForecastView:
        """Where this cycle's spend ends for the team (or one group filter's members), each
        group and each member, as of now.

        Raises :class:`~tracker_core.views.collected.NothingCollectedError` on a database
        nothing was ever collected into, rather than forecasting an empty team.
        """
        with self.engine.connect() as conn:
            require_collected(conn, self.database_url)
            return team_forecast(conn, now=self.clock(), group_id=group_id)

    def last_collected(self) -> datetime | None:
        """When the latest collection that stored data finished, if any did."""
        with self.engine.connect() as conn:
            return repo.last_successful_run(conn)

    def completeness(self) -> dict[str, StreamCompleteness]:
        """How far each windowed stream is complete (see :mod:`tracker_core.refetch`)."""
        with self.engine.connect() as conn:
            return stream_completeness(conn)

    def data_fingerprint(self) -> str:
        """A text that changes whenever the collected figures may have: every stored usage
        event counts the events' data version up, and members, spend and groups change only
        inside a collection run, whose start and end move the newest run; a local group edit
        counts the groups' data version up, a budget change the budgets'; the cycle-end
        forecast is made as of the hour, so the hour is part of it too. A face may keep a
        figure it computed until this changes (the daemon keeps its JSON answers so)."""
        runs = tables.collection_runs
        with self.engine.connect() as conn:
            events = repo.data_version(conn, repo.USAGE_EVENTS_VERSION)
            groups = groups_version(conn)
            budgets = budgets_version(conn)
            newest = conn.execute(
                select(runs.c.id, runs.c.finished_at).order_by(runs.c.id.desc()).limit(1)
            ).one_or_none()
        run = f"{newest[0]}:{newest[1]}" if newest is not None else "-"
        hour = forecast_moment(self.clock()).isoformat()
        return f"{hour}:{events}:{run}:groups={groups}:budgets={budgets}"

    def incidents_fingerprint(self) -> str:
        """A text that changes whenever an incident is opened, escalated, updated,
        acknowledged or resolved: with :meth:`data_fingerprint`, what a face may key a kept
        overview on (its open-incident counts)."""
        with self.engine.connect() as conn:
            return incidents.state_fingerprint(conn)

    def vitals(self) -> Vitals:
        """Spend today and in the cycle, open incidents by severity, alert backlog, last run."""
        with self.engine.connect() as conn:
            today = team_stats(conn, days=1, today=self._today())
            active = incidents.list_incidents(conn, status="active")
            backlog = conn.execute(
                select(func.count())
                .select_from(tables.alert_outbox)
                .where(tables.alert_outbox.c.status == "pending")
            ).scalar()
            last = repo.last_successful_run(conn)
        severities = Counter(view.severity for view in active)
        return Vitals(
            spend_today_cents=today.total_spend_cents,
            spend_cycle_cents=today.cycle_spend_cents,
            open_incidents={str(severity): count for severity, count in severities.items()},
            alert_backlog=int(backlog or 0),
            last_collected=last,
        )

    def incident_queue(
        self,
        *,
        status: str | None = None,
        days: int = RESPONSE_WINDOW_DAYS,
        require_data: bool = False,
    ) -> IncidentQueue:
        """Incidents worst first, their alerts, and the response times of the last ``days``.

        ``require_data`` refuses a database nothing was ever collected into (the command line
        says which database it read rather than showing an empty queue).
        """
        with self.engine.connect() as conn:
            if require_data:
                require_collected(conn, self.database_url)
            views = incidents.list_incidents(conn, status=status)
            times = incidents.response_times(conn, since=self.clock() - timedelta(days=days))
            announced = incidents.announcements(conn, (view.id for view in views))
        return IncidentQueue(views, announced, times, days)

    def incident(self, incident_id: int) -> IncidentDetail:
        """One incident; :class:`~tracker_core.incidents.IncidentError` if there is none."""
        with self.engine.connect() as conn:
            view = incidents.get_incident(conn, incident_id)
            announced = incidents.announcements(conn, [incident_id])
        return IncidentDetail(view, announced.get(incident_id, []))

    def newest_incident_id(self) -> int:
        with self.engine.connect() as conn:
            return incidents.newest_incident_id(conn)

    def incidents_opened_after(self, incident_id: int) -> list[IncidentView]:
        with self.engine.connect() as conn:
            return incidents.opened_after(conn, incident_id)

    def detection_settings(self) -> SettingsView:
        with self.engine.connect() as conn:
            current, problems = load_settings(conn)
        return SettingsView(current, problems)

    def groups(self) -> BillingGroups:
        """The billing groups with their members, and the members in none."""
        with self.engine.connect() as conn:
            return billing_groups(conn)

    def settings_page(self) -> SettingsPage:
        with self.engine.connect() as conn:
            current, problems = load_settings(conn)
            groups = billing_groups(conn).groups
            budgets = budget_standings(conn, self.clock())
        return SettingsPage(SettingsView(current, problems), groups, budgets)

    # --- billing groups (local edits: tracker_core.groups) -------------------------------

    def group_filter(self, given: str) -> str:
        """A face's ``group`` filter (id, exact name, ``parent:NAME``, ``unassigned``) as
        the views take it; :class:`GroupInputError` names an unknown one."""
        with self.engine.connect() as conn:
            return group_edits.resolve_filter(conn, given)

    def group_menu(self, current: str | None = None) -> list[MenuSection]:
        """The group filter's choices for a face's select: parents, teams, Unassigned (and
        ``current``, the resolved filter shown, whatever it is)."""
        with self.engine.connect() as conn:
            return filter_menu(conn, current)

    def group_history(self) -> list[StoredEdit]:
        """Every local group edit, oldest first, with who made it and what it replaced."""
        with self.engine.connect() as conn:
            return stored_edits(conn)

    def rename_group(self, given: str, name: str, *, actor: str) -> EditResult:
        with begin_write(self.engine) as conn:
            return group_edits.rename(conn, given, name, actor=actor, at=self.clock())

    def create_group(self, name: str, *, actor: str) -> tuple[str, EditResult]:
        with begin_write(self.engine) as conn:
            return group_edits.create(conn, name, actor=actor, at=self.clock())

    def delete_group(self, given: str, *, actor: str) -> EditResult:
        with begin_write(self.engine) as conn:
            return group_edits.delete(conn, given, actor=actor, at=self.clock())

    def assign_members(self, emails: Iterable[str], target: str, *, actor: str) -> EditResult:
        with begin_write(self.engine) as conn:
            return group_edits.assign(conn, emails, target, actor=actor, at=self.clock())

    def undo_group_edit(self, *, actor: str) -> EditResult:
        with begin_write(self.engine) as conn:
            return group_edits.undo(conn, actor=actor, at=self.clock())

    def export_groups(self) -> str:
        """Every member's effective group as ``email,name,group`` CSV (a backup)."""
        with self.engine.connect() as conn:
            return export_csv(group_edits.export_rows(conn))

    def restore_groups(self, data: bytes, *, apply: bool = False, actor: str) -> RestorePlan:
        """The preview of restoring a backup; with ``apply``, made in one transaction."""
        rows = parse_backup(data)
        opened = begin_write(self.engine) if apply else self.engine.connect()
        with opened as conn:
            return group_edits.restore_mapping(
                conn, rows, apply=apply, actor=actor, at=self.clock()
            )

    def import_hibob(
        self,
        data: bytes,
        *,
        apply: bool = False,
        only: Sequence[str] | None = None,
        min_team_size: int = MIN_TEAM_SIZE,
        actor: str,
    ) -> ImportPlan:
        """The preview of a HiBob People Directory CSV, applied in one transaction if asked.

        :class:`GroupInputError` names the file's fault (missing columns, the line and column
        of a bad row) before anything is read from the database or stored.
        """
        people = parse_people(data)
        opened = begin_write(self.engine) if apply else self.engine.connect()
        with opened as conn:
            return group_edits.import_people(
                conn,
                people,
                apply=apply,
                only=only,
                min_team_size=min_team_size,
                actor=actor,
                at=self.clock(),
            )

    # --- budgets (tracker_core.budgets) ------------------------------------------------

    def budgets(self) -> BudgetList:
        """Every budget with this cycle's spend, percentage and forecast against it."""
        with self.engine.connect() as conn:
            return budget_standings(conn, self.clock())

    def set_budget(
        self, scope: str, target: str | None, amount: str | float, *, actor: str
    ) -> BudgetChange:
        """Set the team's (``target`` None), a group's or a member's budget in dollars per
        cycle; 0 removes it. :class:`~tracker_core.budgets.BudgetInputError` names a bad
        scope, amount, group or member, and nothing is stored then."""
        with begin_write(self.engine) as conn:
            return budget_edits.set_budget(
                conn, scope, target, amount, actor=actor, at=self.clock()
            )

    def unset_budget(self, scope: str, target: str | None = None) -> BudgetChange:
        with begin_write(self.engine) as conn:
            return budget_edits.unset_budget(conn, scope, target)

    # --- writes --------------------------------------------------------------------------

    def acknowledge(self, incident_id: int) -> IncidentChange:
        return self._change_incident(incident_id, incidents.acknowledge)

    def resolve(self, incident_id: int) -> IncidentChange:
        return self._change_incident(incident_id, incidents.resolve)

    def _change_incident(
        self, incident_id: int, action: Callable[..., IncidentView]
    ) -> IncidentChange:
        # Reads the incident, then changes it: hold the write lock from the start.
        with begin_write(self.engine) as conn:
            before = incidents.get_incident(conn, incident_id).status
            view = action(conn, incident_id, now=self.clock())
            announced = incidents.announcements(conn, [incident_id])
        return IncidentChange(
            view, already=view.status == before, announced=announced.get(incident_id, [])
        )

    def update_settings(self, changes: Mapping[str, str | float]) -> dict[str, SettingValue]:
        """Validate every change, then store them all in one transaction, or none.

        Raises :class:`~tracker_core.detection.settings.SettingError` (naming the key and its
        allowed range) for the first value refused; nothing is stored then. Each value is
        stored as :func:`format_setting` writes it, whichever face it came from.
        """
        parsed = {key: parse_setting(key, text) for key, text in changes.items()}
        if parsed:
            # Storing reads whether each setting is new before it writes: write lock first.
            with begin_write(self.engine) as conn:
                for key, value in parsed.items():
                    set_detection_setting(conn, key, format_setting(key, value), at=self.clock())
        return parsed

    # --- jobs ----------------------------------------------------------------------------

    async def collect(self, progress: Progress) -> CollectionSummary:
        """One incremental collection pass, then the console's first screen computed ahead."""
        summary = await collect_once(self.settings, progress, engine=self.engine)
        if any(result.fetched for result in summary.streams):
            await asyncio.to_thread(self.warm)
        return summary

    def detect(self, *, dry_run: bool = False, as_of: date | None = None) -> DetectionReport:
        """Detection, incidents and alerts; then the console's first screen computed ahead.

        ``as_of`` replays the run at the end of that past day (always dry).
        """
        report = run_detection(
            self.engine, self.settings, dry_run=dry_run, clock=self.clock, as_of=as_of
        )
        if not report.dry_run:
            self.warm()
        return report

    def backtest(
        self,
        *,
        days: int,
        changes: Mapping[str, str | float] | None = None,
        until: date | None = None,
    ) -> Backtest:
        """Detection replayed over the ``days`` days ending ``until`` (today); nothing is kept.

        ``changes`` are proposed setting values, validated like ``update_settings``.
        """
        return run_backtest(
            self.engine, until=until or self._today(), days=days, changes=changes or {}
        )

    def cron(
        self,
        progress: Progress,
        *,
        run: StoppableRun | None = None,
        on_detect: Callable[[], None] | None = None,
    ) -> CronResult:
        """The hourly job: a collection pass, then detection, even after a partial pass.

        Blocking; a face that must stay responsive runs it in a thread and passes ``run``,
        whose ``stop()`` ends the collection at its next safe point (raising ``Stopped``).
        """
        job = run or StoppableRun()
        summary = job.run(collect_once(self.settings, progress, engine=self.engine))
        job.check()
        if on_detect is not None:
            on_detect()
        # What was stored is worth a look even when the pass was partial.
        report = self.detect()
        return CronResult(summary, report, self.send_cycle_messages())

    def send_cycle_messages(self) -> MessagesResult:
        """The plan-exhaustion notice, members limited and the cycle summary, when due;
        each once per period and channel (see ``jobs.cycle_messages``)."""
        return send_cycle_messages(self.engine, self.settings, clock=self.clock)

    def warm(self) -> bool:
        """Compute the console's first screen while nobody waits for it (a courtesy)."""
        return warm_overview(self.engine, today=self._today())


def open_tracker(settings: Settings, *, clock: Clock = utc_now) -> Tracker:
    """A tracker on the configured database (migrated to the current schema on opening)."""
    return Tracker(settings, open_database(settings.database_url), clock=clock)
