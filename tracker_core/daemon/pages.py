"""The dashboard's HTML pages: the console's screens for people who will not open a terminal.

Each handler parses its query, makes one call on the :class:`~tracker_core.service.Tracker`
(in a thread, with the rendering, so a big team's page never stalls the event loop) and renders
its Jinja2 template. Templates autoescape: names, emails, models and messages come from
Cursor's API and are shown as text whatever they hold. Pages carry a strict CSP of their own
(no inline script or style, forms only to this origin), work with JavaScript off (forms post,
tables sort and search through links and GET forms), and the one script only refreshes the
figures while the page is visible.

Writes (acknowledge, resolve, settings) are HTML form posts guarded by a per-browser token
(a cookie the form must echo; SameSite=Strict), since the daemon's ``Referrer-Policy:
no-referrer`` makes browsers send ``Origin: null`` and an origin check would refuse them all.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web
from aiohttp.web import FileField
from multidict import MultiDictProxy

from tracker_core.badges import BADGES, BY_ID, HEURISTIC_NOTE, NOT_SCORED, adoption_parts
from tracker_core.budgets import BudgetInputError
from tracker_core.daemon import charts, group_forms
from tracker_core.daemon.assets import LONG_CACHE, Assets, load_assets
from tracker_core.daemon.page_parts import (
    RANGES,
    Kept,
    PageError,
    day_label,
    done_notice,
    every_nth_label,
    group_filter,
    heat_levels,
    link,
    member_link,
    member_table,
    overview_charts,
    parse_days,
    parse_page,
    version_scale,
)
from tracker_core.detection.settings import SETTINGS, SettingError, format_setting
from tracker_core.formatting import (
    age,
    count,
    display_name,
    duration,
    instant,
    is_stale,
    money,
)
from tracker_core.groups import GroupInputError
from tracker_core.incidents import INCIDENT_STATUSES, IncidentError
from tracker_core.service import Tracker, failure_message
from tracker_core.views.overview import Overview

T = TypeVar("T")

Posted = MultiDictProxy[str | bytes | bytearray | FileField]
"""A posted form as aiohttp reads it: text fields, and files for an upload."""
CSRF_COOKIE: Final = "tracker_csrf"
CSRF_FIELD: Final = "csrf"

PAGE_CSP: Final = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Stricter than nothing, looser than the API's ``default-src 'none'`` only where a page needs
it: its own stylesheet, its own script, its own fetches and forms."""

STATUS_FILTERS: Final = ("all", "active", *INCIDENT_STATUSES)


# --- the pages ---------------------------------------------------------------------------


class Pages:
    """The handlers, bound to the app's tracker, templates and assets."""

    def __init__(self, tracker_key: web.AppKey[Tracker], assets: Assets) -> None:
        self.tracker_key = tracker_key
        self.assets = assets
        self.kept: Kept[Overview] = Kept()
        self.kept_pages: Kept[str] = Kept(size=64)
        """Overview pages as rendered, ~90 kB each on a team of thousands."""
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("tracker_core.daemon", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            money=money,
            count=count,
            instant=instant,
            duration=duration,
            name=display_name,
            member_link=member_link,
            day=day_label,
        )
        self.templates.globals.update(link=link, assets=assets, ranges=RANGES)
        self.templates.globals.update(
            badges=BY_ID,
            badge_rules=BADGES,
            heuristic_note=HEURISTIC_NOTE,
            not_scored=NOT_SCORED,
            adoption_parts=adoption_parts,
        )

    # --- plumbing ------------------------------------------------------------------------

    def tracker(self, request: web.Request) -> Tracker:
        return request.app[self.tracker_key]

    def render(
        self,
        request: web.Request,
        template: str,
        *,
        tracker: Tracker,
        status: int = 200,
        collected: datetime | None = None,
        stamp: bool = True,
        **context: Any,
    ) -> web.Response:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        body = self.render_body(
            request,
            template,
            tracker=tracker,
            collected=collected,
            stamp=stamp,
            csrf=token,
            **context,
        )
        return self.respond(request, body, status=status, token=token)

    def render_body(
        self,
        request: web.Request,
        template: str,
        *,
        tracker: Tracker,
        collected: datetime | None,
        stamp: bool = True,
        csrf: str | None = None,
        **context: Any,
    ) -> str:
        """The page's HTML. A page rendered without ``csrf`` holds no per-browser token, so
        one rendering can answer every browser (see :meth:`overview`)."""
        now = tracker.clock()
        return self.templates.get_template(template).render(
            now=now,
            collected=collected,
            collected_age=age(collected, now),
            stale=is_stale(collected, now),
            path=request.path,
            csrf=csrf,
            stamp=stamp,
            **context,
        )

    def respond(
        self, request: web.Request, body: str, *, status: int = 200, token: str | None = None
    ) -> web.Response:
        """An HTML answer with the page headers, setting the browser's form token cookie when
        it has none yet."""
        token = token or request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = web.Response(text=body, content_type="text/html", status=status)
        self.decorate(response)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                path="/",
                secure=request.secure,
            )
        return response

    @staticmethod
    def decorate(response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["Cache-Control"] = "no-store"

    async def run(
        self, request: web.Request, work: Callable[[Tracker], web.Response]
    ) -> web.Response:
        """``work`` in a thread; a refused input or a failure becomes a page saying so."""
        tracker = self.tracker(request)
        try:
            return await asyncio.to_thread(work, tracker)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        except (IncidentError, LookupError) as exc:
            return self.problem(request, tracker, failure_message(exc), 404)
        except Exception as exc:  # the page says what failed instead of a bare 500
            return self.problem(request, tracker, failure_message(exc, tracker.database_url), 500)

    def problem(
        self, request: web.Request, tracker: Tracker, message: str, status: int
    ) -> web.Response:
        return self.render(
            request,
            "problem.html",
            tracker=tracker,
            status=status,
            message=message,
            title="Problem",
            stamp=False,
        )

    async def check_form(self, request: web.Request) -> Mapping[str, str]:
        """The posted form, if it carries this browser's token; else a PageError (403)."""
        form = await self.checked_post(request)
        return {key: value for key, value in form.items() if isinstance(value, str)}

    async def checked_post(self, request: web.Request) -> Posted:
        """The whole posted form (repeated fields, uploaded files) if it carries this
        browser's token and comes from this dashboard's own pages; else a PageError (403).

        The token is the cookie's, and a page on another port of the same host (or a sibling
        name) can set that cookie: cookies ignore ports. So what the browser says of the
        form's origin is checked too: ``Origin`` must be this dashboard's own, and
        ``Sec-Fetch-Site`` must not say another site or a sibling one.
        """
        if not _from_this_dashboard(request):
            raise PageError(
                "this form was sent from another site, not from this dashboard: open the "
                "dashboard and send it from there",
                status=403,
            )
        try:
            form = await request.post()
        except (LookupError, UnicodeDecodeError, ValueError) as exc:
            # An unknown charset, bytes that are not text, a field the form parser refuses.
            raise PageError(f"the form could not be read: {type(exc).__name__}") from None
        given = form.get(CSRF_FIELD)
        expected = request.cookies.get(CSRF_COOKIE)
        if (
            not isinstance(given, str)
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            raise PageError(
                "this form expired or was not sent from this dashboard: reload the page and "
                "try again",
                status=403,
            )
        return form

    # --- overview ------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        query = request.query

        def work(tracker: Tracker) -> web.Response:
            days = parse_days(query)
            page = parse_page(query)
            group = group_filter(tracker, query)
            search = query.get("q", "")
            sort = query.get("sort", "spend")
            order = query.get("order", "")
            badge = query.get("badge", "").strip()
            fingerprint = f"{tracker.data_fingerprint()}#{tracker.incidents_fingerprint()}"
            view = self.kept.get(
                (days, group),
                fingerprint,
                lambda: tracker.overview(days=days, group_id=group),
            )

            def rendered() -> str:
                table = member_table(
                    view.members, search=search, sort=sort, order=order, page=page, badge=badge
                )
                return self.render_body(
                    request,
                    "overview.html",
                    tracker=tracker,
                    collected=view.last_collected,
                    title="Overview",
                    view=view,
                    group_menu=tracker.group_menu(group) if len(view.groups) > 1 else [],
                    table=table,
                    search=search,
                    order=order,
                    badge=badge,
                    badge_counts=Counter(ident for row in view.members for ident in row.badges),
                    charts=overview_charts(view),
                    daily_rows=[(day_label(d.day), money(d.spend_cents)) for d in view.daily_spend],
                    spender_rows=[(s.name, money(s.spend_cents)) for s in view.top_spenders],
                    model_rows=[(m.model, money(m.spend_cents)) for m in view.model_spend],
                )

            # The page holds no form, so no per-browser token: one rendering answers every
            # viewer of the same query until the data, the incidents or the freshness stamp
            # ("collected 3 minutes ago") change.
            now = tracker.clock()
            stamp = (age(view.last_collected, now), is_stale(view.last_collected, now))
            key = (days, group, search, sort, order, page, badge, stamp)
            return self.respond(request, self.kept_pages.get(key, fingerprint, rendered))

        return await self.run(request, work)

    # --- insights ------------------------------------------------------------------------

    async def insights(self, request: web.Request) -> web.Response:
        query = request.query

        def work(tracker: Tracker) -> web.Response:
            days = parse_days(query)
            view = tracker.insights(days=days)
            every = every_nth_label(days)
            labels = tuple(day_label(point.day) for point in view.dau)
            adoption = tuple(
                (series.model, tuple(float(point.count) for point in series.daily))
                for series in view.model_adoption
            )
            drawn = {
                "dau": charts.line_chart(
                    "Daily active users",
                    labels,
                    (("Active users", tuple(float(point.count) for point in view.dau)),),
                    label_every=every,
                )
                if view.has_analytics
                else None,
                "adoption": charts.line_chart(
                    "Messages per model per day",
                    tuple(day_label(point.day) for point in view.model_adoption[0].daily),
                    adoption,
                    stacked=True,
                    label_every=every,
                )
                if view.model_adoption
                else None,
                "efficiency": charts.horizontal_bars(
                    "Cents per request by model",
                    tuple(m.model for m in view.model_efficiency[:10]),
                    tuple(m.cents_per_request for m in view.model_efficiency[:10]),
                    money=False,
                )
                if view.model_efficiency
                else None,
            }
            return self.render(
                request,
                "insights.html",
                tracker=tracker,
                collected=tracker.last_collected(),
                title="Insights",
                view=view,
                charts=drawn,
                version_scale=version_scale(view.client_versions),
                dau_rows=[(day_label(point.day), count(point.count)) for point in view.dau],
                adoption_rows=[
                    (series.model, count(sum(point.count for point in series.daily)))
                    for series in view.model_adoption
                ],
                efficiency_rows=[
                    (
                        m.model,
                        money(m.spend_cents),
                        count(m.requests),
                        f"{m.cents_per_request:.1f}¢",
                    )
                    for m in view.model_efficiency
                ],
            )

        return await self.run(request, work)

    # --- member --------------------------------------------------------------------------

    async def member(self, request: web.Request) -> web.Response:
        email = request.match_info["email"]
        query = request.query

        def work(tracker: Tracker) -> web.Response:
            days = parse_days(query)
            page = tracker.member(email, days=days)
            detail = page.detail
            every = every_nth_label(days)
            labels = tuple(day_label(point.day) for point in detail.daily)
            drawn = {
                "spend": charts.bar_chart(
                    "Spend per day (dollars)",
                    labels,
                    tuple(point.spend_cents / 100 for point in detail.daily),
                    money=True,
                    label_every=every,
                ),
                "tokens": charts.bar_chart(
                    "Tokens per day",
                    labels,
                    tuple(float(point.tokens) for point in detail.daily),
                    label_every=every,
                ),
            }
            peak = max((max(row) for row in detail.activity), default=0)
            return self.render(
                request,
                "member.html",
                tracker=tracker,
                collected=tracker.last_collected(),
                title=detail.name or detail.email,
                page=page,
                detail=detail,
                charts=drawn,
                spend_rows=[
                    (day_label(point.day), money(point.spend_cents)) for point in detail.daily
                ],
                token_rows=[
                    (day_label(point.day), count(point.tokens), count(point.requests))
                    for point in detail.daily
                ],
                heat=heat_levels(detail.activity, peak),
                peak=peak,
                weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            )

        return await self.run(request, work)

    async def old_member_link(self, request: web.Request) -> web.Response:
        """The original tool's ``/users/{email}``, which older alerts still link to."""
        target = member_link(request.match_info["email"])
        if request.query:  # encoded again: a decoded "&", "#" or line break stays a value
            target += "?" + urlencode(list(request.query.items()))
        return redirect(target, status=308)

    # --- incidents -----------------------------------------------------------------------

    async def incidents(self, request: web.Request) -> web.Response:
        query = request.query

        def work(tracker: Tracker) -> web.Response:
            status = query.get("status", "all").strip() or "all"
            if status not in STATUS_FILTERS:
                raise PageError(
                    f"status must be one of {', '.join(STATUS_FILTERS)}, got {status!r}"
                )
            queue = tracker.incident_queue(status=None if status == "all" else status)
            return self.render(
                request,
                "incidents.html",
                tracker=tracker,
                collected=tracker.last_collected(),
                title="Incidents",
                queue=queue,
                shown=status,
                statuses=STATUS_FILTERS,
                done=done_notice(query.get("done", "")),
            )

        return await self.run(request, work)

    async def incident(self, request: web.Request) -> web.StreamResponse:
        """An alert's link to one incident: the queue, scrolled to it."""
        incident_id = _incident_id(request)
        tracker = self.tracker(request)
        try:
            await asyncio.to_thread(tracker.incident, incident_id)
        except IncidentError as exc:
            return self.problem(request, tracker, failure_message(exc), 404)
        return redirect(f"/incidents#incident-{incident_id}")

    async def acknowledge(self, request: web.Request) -> web.StreamResponse:
        return await self._change(request, "acknowledge")

    async def confirm_resolve(self, request: web.Request) -> web.Response:
        incident_id = _incident_id(request)

        def work(tracker: Tracker) -> web.Response:
            detail = tracker.incident(incident_id)
            return self.render(
                request,
                "resolve.html",
                tracker=tracker,
                collected=tracker.last_collected(),
                title=f"Resolve incident {incident_id}",
                incident=detail.incident,
            )

        return await self.run(request, work)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        return await self._change(request, "resolve")

    async def _change(self, request: web.Request, action: str) -> web.StreamResponse:
        incident_id = _incident_id(request)
        tracker = self.tracker(request)
        try:
            await self.check_form(request)
            change = tracker.acknowledge if action == "acknowledge" else tracker.resolve
            await asyncio.to_thread(change, incident_id)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        except IncidentError as exc:
            return self.problem(request, tracker, failure_message(exc), 409)
        done = "acknowledged" if action == "acknowledge" else "resolved"
        return redirect(f"/incidents?done={done}-{incident_id}#incident-{incident_id}")

    # --- settings ------------------------------------------------------------------------

    async def settings(self, request: web.Request) -> web.Response:
        saved = request.query.get("saved") == "1"
        budget_saved = request.query.get("budget") == "saved"

        def work(tracker: Tracker) -> web.Response:
            page = tracker.settings_page()
            values = {
                key: format_setting(key, getattr(page.detection.settings, key)) for key in SETTINGS
            }
            notice = group_forms.notice_for(request.query.get("groups", ""))
            pane = replace(group_forms.load_pane(tracker), notice=notice)
            return self.settings_form(
                request,
                tracker,
                page,
                values,
                saved=saved,
                pane=pane,
                budget_saved="Budget saved." if budget_saved else "",
            )

        return await self.run(request, work)

    async def save_budget(self, request: web.Request) -> web.StreamResponse:
        """One budget from the settings page's form (amount 0 removes it), as
        ``budgets set`` makes it; a refusal shows the page again with the reason."""
        tracker = self.tracker(request)
        try:
            form = await self.check_form(request)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        scope = form.get("scope", "").strip()
        target = form.get("target", "").strip() or None
        amount = form.get("amount", "").strip()

        def work(tracker: Tracker) -> web.Response:
            try:
                tracker.set_budget(scope, target, amount, actor="dashboard")
            except BudgetInputError as exc:
                page = tracker.settings_page()
                values = {
                    key: format_setting(key, getattr(page.detection.settings, key))
                    for key in SETTINGS
                }
                return self.settings_form(
                    request, tracker, page, values, budget_error=exc, status=400
                )
            return redirect("/settings?budget=saved#budgets")

        return await self.run(request, work)

    def settings_form(
        self,
        request: web.Request,
        tracker: Tracker,
        page: Any,
        values: Mapping[str, str],
        *,
        saved: bool = False,
        error: SettingError | None = None,
        status: int = 200,
        pane: group_forms.GroupPane | None = None,
        budget_error: BudgetInputError | None = None,
        budget_saved: str = "",
    ) -> web.Response:
        return self.render(
            request,
            "settings.html",
            tracker=tracker,
            collected=tracker.last_collected(),
            title="Settings",
            page=page,
            specs=list(SETTINGS.values()),
            values=values,
            saved=saved,
            error=error,
            status=status,
            groups_pane=pane or group_forms.load_pane(tracker),
            budget_error=budget_error,
            budget_saved=budget_saved,
        )

    async def save_settings(self, request: web.Request) -> web.StreamResponse:
        tracker = self.tracker(request)
        try:
            form = await self.check_form(request)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        submitted = {key: form.get(key, "").strip() for key in SETTINGS}

        def work(tracker: Tracker) -> web.Response:
            page = tracker.settings_page()
            current = {
                key: format_setting(key, getattr(page.detection.settings, key)) for key in SETTINGS
            }
            changes = {
                key: text for key, text in submitted.items() if text and text != current[key]
            }
            try:
                tracker.update_settings(changes)
            except SettingError as exc:
                shown = {key: submitted[key] or current[key] for key in SETTINGS}
                return self.settings_form(request, tracker, page, shown, error=exc, status=400)
            return redirect("/settings?saved=1")

        return await self.run(request, work)

    # --- billing groups (settings page; tracker_core.daemon.group_forms) -------------------

    async def save_groups(self, request: web.Request) -> web.StreamResponse:
        """One group edit from the settings page's forms, as ``PATCH /api/groups`` makes it."""
        tracker = self.tracker(request)
        try:
            posted = await self.checked_post(request)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        form = {key: value for key, value in posted.items() if isinstance(value, str)}
        emails = [value for value in posted.getall("emails", []) if isinstance(value, str)]
        action = form.get("action", "")
        if action not in group_forms.ACTIONS:
            return self.problem(
                request, tracker, f"action must be one of {', '.join(group_forms.ACTIONS)}", 400
            )

        def work(tracker: Tracker) -> web.Response:
            try:
                group_forms.edit_call(action, form, emails)(tracker)
            except GroupInputError as exc:
                message = str(exc)
                pane = replace(
                    group_forms.load_pane(tracker),
                    error=message,
                    form=action,
                    values=form,
                    chosen=frozenset(emails),
                )
                return self.groups_refused(request, tracker, pane, message)
            done = "undone" if action == "undo" else "saved"
            return redirect(f"/settings?groups={done}#groups")

        return await self.run(request, work)

    async def import_groups(self, request: web.Request) -> web.StreamResponse:
        """The HiBob import: ``preview`` a file (uploaded, or its text sent back), or
        ``apply`` the moves ticked in the preview, in one transaction, one step to undo."""
        tracker = self.tracker(request)
        try:
            posted = await self.checked_post(request)
        except PageError as exc:
            return self.problem(request, tracker, exc.message, exc.status)
        apply = posted.get("action") == "apply"
        data = group_forms.upload_text(posted.get("file")) or group_forms.upload_text(
            posted.get("csv")
        )
        chosen = [value for value in posted.getall("selected", []) if isinstance(value, str)]

        def work(tracker: Tracker) -> web.Response:
            try:
                if not data:
                    raise GroupInputError("choose a HiBob People Directory CSV file to preview")
                if apply and not chosen:
                    raise GroupInputError("tick at least one move to apply")
                plan = tracker.import_hibob(
                    data, apply=apply, only=chosen if apply else None, actor=group_forms.ACTOR
                )
            except GroupInputError as exc:
                message = str(exc)
                pane = replace(group_forms.load_pane(tracker), error=message, form="import")
                return self.groups_refused(request, tracker, pane, message)
            if apply:
                return redirect(f"/settings?groups=imported-{plan.applied or 0}#groups")
            text = data.decode("utf-8", errors="replace")
            pane = replace(group_forms.load_pane(tracker), preview=plan, csv_text=text)
            return self.groups_page(request, tracker, pane, 200)

        return await self.run(request, work)

    def groups_refused(
        self, request: web.Request, tracker: Tracker, pane: group_forms.GroupPane, message: str
    ) -> web.Response:
        return self.groups_page(request, tracker, pane, group_forms.refusal_status(message))

    def groups_page(
        self, request: web.Request, tracker: Tracker, pane: group_forms.GroupPane, status: int
    ) -> web.Response:
        page = tracker.settings_page()
        values = {
            key: format_setting(key, getattr(page.detection.settings, key)) for key in SETTINGS
        }
        return self.settings_form(request, tracker, page, values, status=status, pane=pane)


def _from_this_dashboard(request: web.Request) -> bool:
    """Whether the browser says a form was posted by this dashboard's own page (or says
    nothing, as a script does: the token alone decides then).

    ``Sec-Fetch-Site`` first: the browser compares the page with the form's target itself,
    so a proxy in front that rewrites ``Host`` changes nothing. Older browsers send only
    ``Origin``, compared with the name the request was addressed to (``Host``, or the
    proxy's ``X-Forwarded-Host``: a page of another site cannot set either).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        sent = urlsplit(origin)
    except ValueError:
        return False
    forwarded = ",".join(request.headers.getall("X-Forwarded-Host", []))  # proxies append
    names = {request.host, *forwarded.split(",")}
    return sent.scheme in ("http", "https") and sent.netloc.lower() in {
        name.strip().lower() for name in names if name.strip()
    }


def _incident_id(request: web.Request) -> int:
    # The routes only match digits.
    return int(request.match_info["id"])


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect answered, not raised: the daemon's error middleware turns every raised
    HTTP exception into a JSON error."""
    response = web.Response(status=status, headers={"Location": location})
    Pages.decorate(response)
    return response


PAGE_ROUTE_PREFIX: Final = "page-"
"""Every route of the pages is named with this prefix: the daemon's JSON API (its OpenAPI
document, its route tests) can tell its own routes from the HTML pages'."""
PAGE_UPLOADS: Final = frozenset({"/settings/groups/import"})
"""The page whose form carries a whole file: ``[daemon] max_upload_bytes`` applies."""


def is_page_route(route: web.AbstractRoute) -> bool:
    return (route.name or "").startswith(PAGE_ROUTE_PREFIX)


async def keep_asset_cache(request: web.Request, response: web.StreamResponse) -> None:
    """The hashed assets' long cache, over the daemon's "nothing is cached" (its header
    hook runs first): a new stylesheet or script is a new name, so a year is safe."""
    if response.status == 200 and request.path.startswith("/static/"):
        response.headers["Cache-Control"] = LONG_CACHE


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


def add_pages(app: web.Application, tracker_key: web.AppKey[Tracker]) -> None:
    """Mount the dashboard's pages and assets on ``app``, whose ``tracker_key`` holds the
    Tracker (opened and closed by the app's own cleanup context)."""
    assets = load_assets(extra_css=charts.chart_css())
    pages = Pages(tracker_key, assets)

    async def cached(request: web.Request) -> web.StreamResponse:
        return assets.response(request.match_info["name"])

    routes: list[tuple[str, str, Any]] = [
        ("GET", "/", pages.overview),
        ("GET", "/insights", pages.insights),
        ("GET", "/members/{email}", pages.member),
        ("GET", "/users/{email}", pages.old_member_link),
        ("GET", "/incidents", pages.incidents),
        ("GET", r"/incidents/{id:\d+}", pages.incident),
        ("POST", r"/incidents/{id:\d+}/acknowledge", pages.acknowledge),
        ("GET", r"/incidents/{id:\d+}/resolve", pages.confirm_resolve),
        ("POST", r"/incidents/{id:\d+}/resolve", pages.resolve),
        ("GET", "/settings", pages.settings),
        ("POST", "/settings", pages.save_settings),
        ("POST", "/settings/groups", pages.save_groups),
        ("POST", "/settings/groups/import", pages.import_groups),
        ("POST", "/settings/budgets", pages.save_budget),
        ("GET", "/static/{name}", cached),
        # Browsers ask for it on every site; a 404 there would be a console error on each page.
        ("GET", "/favicon.ico", no_icon),
    ]
    for number, (method, path, handler) in enumerate(routes):
        app.router.add_route(method, path, handler, name=f"{PAGE_ROUTE_PREFIX}r{number}")
    app.on_response_prepare.append(keep_asset_cache)
