"""The daemon's routes: parse and check the input, make one call into the Tracker (in a worker
thread, as every Tracker call blocks on the database), answer its ``to_json()``.

Nothing is computed here: the objects are the ones the command line prints with ``--json``,
so both faces answer the same figures in the same shape.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from tracker_core.budgets import BudgetInputError
from tracker_core.clock import Clock
from tracker_core.daemon.jobs import JobBusy, JobRunner
from tracker_core.daemon.memo import JsonMemo
from tracker_core.daemon.metrics import CONTENT_TYPE, DaemonMetrics
from tracker_core.daemon.openapi import document
from tracker_core.daemon.scheduler import ScheduleState
from tracker_core.daemon.security import BadInput, Refusals, check_cron_secret, read_json
from tracker_core.detection.settings import SettingError
from tracker_core.groups import GroupInputError
from tracker_core.groups.edits import EditResult
from tracker_core.incidents import LARGEST_INCIDENT_ID, IncidentError
from tracker_core.redact import redact
from tracker_core.service import Tracker
from tracker_core.views.collected import NothingCollectedError

log = logging.getLogger(__name__)

T = TypeVar("T")

TRACKER: Final = web.AppKey("tracker", Tracker)
RUNNER: Final = web.AppKey("runner", JobRunner)
METRICS: Final = web.AppKey("metrics", DaemonMetrics)
SCHEDULE: Final = web.AppKey("schedule", ScheduleState)
MEMO: Final = web.AppKey("memo", JsonMemo)
CRON_SECRET: Final = web.AppKey("cron_secret", str)
REFUSALS: Final = web.AppKey("refusals", Refusals)
"""Empty while ``CRON_SECRET`` is unset (``POST /api/cron`` then refuses every call)."""
SECRETS: Final[web.AppKey[tuple[str, ...]]] = web.AppKey("secrets")
CLOCK: Final[web.AppKey[Clock]] = web.AppKey("clock")

MAX_DAYS: Final = 3660
"""Ten years: beyond any stored history, and date arithmetic stays in range."""
INCIDENT_STATUSES: Final = ("active", "open", "alerted", "acknowledged", "resolved")
INCIDENT_ACTIONS: Final = ("acknowledge", "resolve")
_WHOLE: Final = re.compile(r"-?[0-9]{1,20}")


async def _call(request: web.Request, work: Callable[[Tracker], T]) -> T:
    """One Tracker call off the event loop; the core's refusals become 4xx answers."""
    tracker = request.app[TRACKER]
    try:
        return await asyncio.to_thread(work, tracker)
    except NothingCollectedError as exc:
        raise BadInput(str(exc), status=404) from None


def _days(request: web.Request, default: int = 30) -> int:
    return _whole(request.query.get("days"), "days", default=default, low=1, high=MAX_DAYS)


def _whole(text: str | None, field: str, *, default: int | None, low: int, high: int) -> int:
    if text is None:
        if default is None:
            raise BadInput(f"{field} is required", field=field)
        return default
    # Digits only: int() would also take " 7", "+7" and "1_0", which no caller means.
    if not _WHOLE.fullmatch(text):
        raise BadInput(
            f"{field} must be a whole number between {low} and {high}, got {text[:40]!r}",
            field=field,
        )
    number = int(text)
    if not low <= number <= high:
        raise BadInput(f"{field} must be between {low} and {high}, got {number}", field=field)
    return number


def _incident_id(request: web.Request) -> int:
    return _whole(request.match_info["id"], "id", default=None, low=1, high=LARGEST_INCIDENT_ID)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status)


# --- health, metrics, document ----------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    """``ok`` when the database answers and the last job (if any) did not fail outright."""
    runner = request.app[RUNNER]
    last_job = runner.last.to_json() if runner.last is not None else None
    try:
        last = await asyncio.to_thread(request.app[TRACKER].last_collected)
        complete = await asyncio.to_thread(request.app[TRACKER].completeness)
    except SQLAlchemyError as exc:
        secrets: tuple[str, ...] = request.app[SECRETS]
        log.error(
            "health check: the database cannot be read: %s",
            redact(str(exc).splitlines()[0], secrets),
        )
        return _json(
            {
                "status": "unavailable",
                "error": "the database cannot be read",
                "last_collection": None,
                "last_job": last_job,
            },
            status=503,
        )
    degraded = runner.last is not None and runner.last.status == "failed"
    schedule = request.app[SCHEDULE]
    return _json(
        {
            "status": "degraded" if degraded else "ok",
            "last_collection": last.isoformat() if last is not None else None,
            "last_job": last_job,
            "job_running": runner.busy,
            "next_run": schedule.next_run.isoformat() if schedule.next_run else None,
            "missed_runs": schedule.missed,
            "complete_up_to": {
                stream: state.to_json()["complete_up_to"] for stream, state in complete.items()
            },
        }
    )


async def metrics(request: web.Request) -> web.Response:
    exposition = request.app[METRICS]
    exposition.schedule(request.app[SCHEDULE].next_run)
    try:
        vitals = await asyncio.to_thread(request.app[TRACKER].vitals)
    except SQLAlchemyError:
        # The counters are still worth scraping; the stored figures keep their last values.
        log.error("metrics: the database cannot be read; stored figures not refreshed")
    else:
        exposition.refresh(vitals, request.app[CLOCK]())
    return web.Response(body=exposition.render(), headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return _json(document())


# --- the job ----------------------------------------------------------------------------------


async def cron(request: web.Request) -> web.Response:
    """Run the job now (collect, detect, alert); 409 while one runs, here or elsewhere."""
    try:
        check_cron_secret(request, request.app[CRON_SECRET] or None)
    except BadInput as refused:
        if refused.status == 401:  # a guess: it waits its turn, as a failed login does
            await request.app[REFUSALS].wait(request.remote)
        raise
    runner = request.app[RUNNER]
    try:
        outcome = await runner.run("api")
    except JobBusy as exc:
        raise BadInput(str(exc), status=503 if runner.stopping else 409) from None
    if outcome.result is None:
        status = 503 if outcome.status == "cancelled" else 500
        return _json({"error": outcome.error or "the job failed"}, status=status)
    return _json(outcome.result)


# --- reads ------------------------------------------------------------------------------------


async def _kept(
    request: web.Request, key: tuple[object, ...], work: Callable[[Tracker], Any]
) -> web.Response:
    """``work(tracker)`` as JSON, kept until the data changes (:mod:`.memo`)."""
    fingerprint = await _call(request, lambda tracker: tracker.data_fingerprint())

    async def compute() -> bytes:
        return json.dumps(await _call(request, work)).encode()

    body = await request.app[MEMO].get(key, fingerprint, compute)
    return web.Response(body=body, content_type="application/json")


async def _group_id(request: web.Request) -> str | None:
    """``group=``: a billing group's id or exact name, ``parent:NAME`` or ``unassigned``;
    None for the whole team."""
    given = request.query.get("group")
    if given is None:
        return None
    try:
        return await _call(request, lambda tracker: tracker.group_filter(given))
    except GroupInputError as exc:
        raise BadInput(f"{exc} (GET /api/groups lists them)", field="group", status=404) from None


async def stats(request: web.Request) -> web.Response:
    days = _days(request)
    group_id = await _group_id(request)
    return await _kept(
        request,
        ("stats", days, group_id),
        lambda tracker: tracker.stats(days=days, group_id=group_id).to_json(),
    )


async def forecast(request: web.Request) -> web.Response:
    group_id = await _group_id(request)
    return await _kept(
        request,
        ("forecast", group_id),
        lambda tracker: tracker.forecast(group_id=group_id).to_json(),
    )


async def cycle_summary(request: web.Request) -> web.Response:
    return await _kept(
        request, ("cycle-summary",), lambda tracker: tracker.cycle_summary().to_json()
    )


async def team_spend(request: web.Request) -> web.Response:
    days = _days(request)
    return await _kept(
        request, ("team-spend", days), lambda tracker: tracker.overview(days=days).team_spend_json()
    )


async def model_costs(request: web.Request) -> web.Response:
    days = _days(request)
    return await _kept(
        request,
        ("model-costs", days),
        lambda tracker: tracker.overview(days=days).model_costs_json(),
    )


async def analytics(request: web.Request) -> web.Response:
    days = _days(request)
    return await _kept(
        request, ("analytics", days), lambda tracker: tracker.insights(days=days).to_json()
    )


async def member(request: web.Request) -> web.Response:
    email = request.match_info["email"]
    days = _days(request)
    try:
        page = await _call(request, lambda tracker: tracker.member(email, days=days))
    except LookupError:
        raise BadInput(f"no member {email[:120]!r}", field="email", status=404) from None
    return _json(page.to_json())


async def groups(request: web.Request) -> web.Response:
    result = await _call(request, lambda tracker: tracker.groups())
    return _json(result.to_json())


# --- billing group edits ----------------------------------------------------------------------

GROUP_ACTIONS: Final = ("rename", "create", "delete", "assign", "undo")
API_ACTOR: Final = "api"
"""Who the edit log names for a change made through the API."""


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{key} must be a non-empty string", field=key)
    return value


def _emails(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadInput(f"{key} must be a list of emails", field=key)
    return list(value)


def _group_refusal(exc: GroupInputError, field: str) -> BadInput:
    """The core's refusal as an answer: an unknown group or member is 404, the rest 400/409."""
    message = str(exc)
    if message.startswith("no billing group"):
        return BadInput(message, field="to" if field == "to" else "group", status=404)
    if message.startswith("no member"):
        return BadInput(message, field="emails", status=404)
    if message == "nothing to undo":
        return BadInput(message, field="action", status=409)
    return BadInput(message, field=field)


def _group_edit(action: str, body: dict[str, Any]) -> tuple[Callable[[Tracker], EditResult], str]:
    """The Tracker call an edit makes, and the field its refusal names."""
    if action == "rename":
        given, name = _text(body, "group"), _text(body, "name")
        return (lambda t: t.rename_group(given, name, actor=API_ACTOR)), "name"
    if action == "create":
        created = _text(body, "name")
        return (lambda t: t.create_group(created, actor=API_ACTOR)[1]), "name"
    if action == "delete":
        gone = _text(body, "group")
        return (lambda t: t.delete_group(gone, actor=API_ACTOR)), "group"
    if action == "assign":
        emails, target = _emails(body, "emails"), _text(body, "to")
        return (lambda t: t.assign_members(emails, target, actor=API_ACTOR)), "to"
    return (lambda t: t.undo_group_edit(actor=API_ACTOR)), "action"


async def change_groups(request: web.Request) -> web.Response:
    """One edit (``action`` and its fields, as the ``groups`` commands take them); answers
    the edit and the groups as they now are."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput('the body must be a JSON object like {"action": "undo"}', field="body")
    action = body.get("action")
    if action not in GROUP_ACTIONS:
        shown = repr(action)[:40] if "action" in body else "nothing"
        raise BadInput(
            f"action must be one of {', '.join(GROUP_ACTIONS)}, got {shown}", field="action"
        )
    work, field = _group_edit(str(action), body)
    try:
        result = await _call(request, work)
    except GroupInputError as exc:
        raise _group_refusal(exc, field) from None
    listed = await _call(request, lambda tracker: tracker.groups())
    return _json({"edit": result.to_json(), "groups": listed.to_json()})


async def group_history(request: web.Request) -> web.Response:
    edits = await _call(request, lambda tracker: tracker.group_history())
    return _json({"edits": [edit.to_json() for edit in edits]})


def _csv_body(body: Any, *, example: str) -> tuple[bytes, bool]:
    if not isinstance(body, dict):
        raise BadInput(f"the body must be a JSON object like {example}", field="body")
    text = body.get("csv")
    if not isinstance(text, str):
        raise BadInput("csv must be the file's text", field="csv")
    apply = body.get("apply", False)
    if not isinstance(apply, bool):
        raise BadInput("apply must be true or false", field="apply")
    try:
        return text.encode(), apply
    except UnicodeEncodeError:  # a lone surrogate escape (\ud800): no character at all
        raise BadInput("csv holds an escape that is no character", field="csv") from None


async def import_groups(request: web.Request) -> web.Response:
    """``groups import-hibob``: ``{"csv", "apply", "selected": [emails]}``; the preview (with
    ``applied`` once applied)."""
    body = await read_json(request)
    data, apply = _csv_body(body, example='{"csv": "Email,Department\\n...", "apply": false}')
    selected = None if body.get("selected") is None else _emails(body, "selected")
    try:
        plan = await _call(
            request,
            lambda tracker: tracker.import_hibob(data, apply=apply, only=selected, actor=API_ACTOR),
        )
    except GroupInputError as exc:
        field = "selected" if str(exc).startswith("not among") else "csv"
        raise BadInput(str(exc), field=field) from None
    return _json(plan.to_json())


async def restore_groups(request: web.Request) -> web.Response:
    body = await read_json(request)
    data, apply = _csv_body(body, example='{"csv": "email,name,group\\n...", "apply": false}')
    try:
        plan = await _call(
            request, lambda tracker: tracker.restore_groups(data, apply=apply, actor=API_ACTOR)
        )
    except GroupInputError as exc:
        raise BadInput(str(exc), field="csv") from None
    return _json(plan.to_json())


async def export_groups(request: web.Request) -> web.Response:
    """Every member's group as CSV, named for the day it was taken."""
    text = await _call(request, lambda tracker: tracker.export_groups())
    day = request.app[CLOCK]().date().isoformat()
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="group-mapping-{day}.csv"'},
    )


async def anomalies(request: web.Request) -> web.Response:
    days = _days(request)
    status = request.query.get("status")
    if status is not None and status not in INCIDENT_STATUSES:
        raise BadInput(
            f"status must be one of {', '.join(INCIDENT_STATUSES)}, got {status[:40]!r}",
            field="status",
        )
    result = await _call(request, lambda tracker: tracker.incident_queue(status=status, days=days))
    return _json(result.to_json())


async def incident(request: web.Request) -> web.Response:
    incident_id = _incident_id(request)
    try:
        result = await _call(request, lambda tracker: tracker.incident(incident_id))
    except IncidentError as exc:
        raise BadInput(str(exc), field="id", status=404) from None
    return _json(result.to_json())


async def change_incident(request: web.Request) -> web.Response:
    incident_id = _incident_id(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput('the body must be a JSON object like {"action": "resolve"}', field="body")
    action = body.get("action")
    if action not in INCIDENT_ACTIONS:
        shown = repr(action)[:40] if "action" in body else "nothing"
        raise BadInput(
            f"action must be one of {', '.join(INCIDENT_ACTIONS)}, got {shown}", field="action"
        )
    try:
        await _call(request, lambda tracker: tracker.incident(incident_id))
    except IncidentError as exc:
        raise BadInput(str(exc), field="id", status=404) from None
    try:
        result = await _call(
            request,
            lambda tracker: (
                tracker.acknowledge(incident_id)
                if action == "acknowledge"
                else tracker.resolve(incident_id)
            ),
        )
    except IncidentError as exc:
        # The incident exists (checked above): its state forbids the action.
        raise BadInput(str(exc), field="action", status=409) from None
    return _json(result.to_json())


async def get_settings(request: web.Request) -> web.Response:
    result = await _call(request, lambda tracker: tracker.detection_settings())
    return _json(result.to_json())


async def put_settings(request: web.Request) -> web.Response:
    """Any subset of the settings; every value checked before any is stored."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput('the body must be a JSON object like {"zscore_multiplier": 3}', field="body")
    if not body:
        raise BadInput("the body names no setting to change", field="body")
    changes: dict[str, str | float] = {}
    for key, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise BadInput(
                f"{key} must be a number (or a string holding one), got {type(value).__name__}"
                if value is not None
                else f"{key} must be a number, got null",
                field=str(key),
            )
        changes[str(key)] = value
    try:
        await _call(request, lambda tracker: tracker.update_settings(changes))
    except SettingError as exc:
        raise BadInput(str(exc), field=exc.key) from None
    result = await _call(request, lambda tracker: tracker.detection_settings())
    return _json(result.to_json())


# --- budgets ----------------------------------------------------------------------------------


async def get_budgets(request: web.Request) -> web.Response:
    result = await _call(request, lambda tracker: tracker.budgets())
    return _json(result.to_json())


async def put_budgets(request: web.Request) -> web.Response:
    """Set (or, with amount 0 or null, remove) one budget, as ``budgets set`` does; answers
    the change and every budget as it now stands."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput(
            'the body must be a JSON object like {"scope": "team", "amount": 5000}', field="body"
        )
    scope = body.get("scope")
    if not isinstance(scope, str):
        raise BadInput("scope must be one of team, group, member", field="scope")
    target = body.get("target")
    if target is not None and not isinstance(target, str):
        raise BadInput("target must be a group's id or name, or a member's email", field="target")
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str | None):
        raise BadInput(
            f"amount must be a number of dollars, got {type(amount).__name__}", field="amount"
        )

    def change(tracker: Tracker) -> Any:
        if amount is None:
            return tracker.unset_budget(scope, target)
        return tracker.set_budget(scope, target, amount, actor=API_ACTOR)

    try:
        result = await _call(request, change)
    except BudgetInputError as exc:
        raise BadInput(str(exc), field=exc.field, status=404 if exc.unknown else 400) from None
    listed = await _call(request, lambda tracker: tracker.budgets())
    return _json({"change": result.to_json(), **listed.to_json()})


API_UPLOADS: Final = frozenset({"/api/groups/import", "/api/groups/restore"})
"""The routes whose body carries a whole file: ``[daemon] max_upload_bytes`` applies."""


def add_routes(app: web.Application) -> None:
    """Every route of the daemon (``tests/daemon`` compares this table with the document)."""
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/metrics", metrics, allow_head=False)
    app.router.add_get("/api/openapi.json", openapi, allow_head=False)
    app.router.add_post("/api/cron", cron)
    app.router.add_get("/api/stats", stats, allow_head=False)
    app.router.add_get("/api/forecast", forecast, allow_head=False)
    app.router.add_get("/api/cycle-summary", cycle_summary, allow_head=False)
    app.router.add_get("/api/team-spend", team_spend, allow_head=False)
    app.router.add_get("/api/model-costs", model_costs, allow_head=False)
    app.router.add_get("/api/analytics", analytics, allow_head=False)
    app.router.add_get("/api/users/{email}", member, allow_head=False)
    app.router.add_get("/api/groups", groups, allow_head=False)
    app.router.add_patch("/api/groups", change_groups)
    app.router.add_get("/api/groups/history", group_history, allow_head=False)
    app.router.add_post("/api/groups/import", import_groups)
    app.router.add_post("/api/groups/restore", restore_groups)
    app.router.add_get("/api/groups/export", export_groups, allow_head=False)
    app.router.add_get("/api/anomalies", anomalies, allow_head=False)
    app.router.add_get("/api/incidents/{id}", incident, allow_head=False)
    app.router.add_patch("/api/incidents/{id}", change_incident)
    app.router.add_get("/api/settings", get_settings, allow_head=False)
    app.router.add_put("/api/settings", put_settings)
    app.router.add_get("/api/budgets", get_budgets, allow_head=False)
    app.router.add_put("/api/budgets", put_budgets)
