"""The OpenAPI 3.1 document of the daemon (``GET /api/openapi.json``).

Written by hand, next to the routes rather than generated from them, so that it says what a
caller needs (parameters, bodies, errors, auth); a test walks the live router and compares it
with :data:`PATHS` in both directions, so neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from tracker_core import __version__

_ERROR = {"$ref": "#/components/responses/Error"}
_GROUP: dict[str, Any] = {
    "name": "group",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "a billing group's id or exact name, parent:NAME (every group NAME or "
    "'NAME > ...') or unassigned (GET /api/groups): only its current members",
}
_DAYS = {
    "name": "days",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 3660, "default": 30},
    "description": "UTC days ending today",
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
_OBJECT = {"type": "object"}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _OBJECT}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _ERROR for status in statuses}


_GROUP_ACTIONS = ("rename", "create", "delete", "assign", "undo")


def _csv_request(*, selected: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "csv": {"type": "string", "description": "the file's text"},
        "apply": {"type": "boolean", "default": False},
    }
    if selected:
        properties["selected"] = {"type": "array", "items": {"type": "string"}}
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["csv"], "properties": properties}
            }
        },
    }


_PUBLIC: list[dict[str, list[str]]] = []
_CRON: list[dict[str, list[str]]] = [{"cronSecret": []}]

PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {
        "get": {
            "summary": "Health: the database answers; the last collection and job",
            "security": _PUBLIC,
            "responses": {
                "200": _ok("ok or degraded (the last job failed)"),
                "503": _ok("the database cannot be read"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus text exposition",
            "responses": {
                "200": {
                    "description": "metrics",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors(401),
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": _ok("OpenAPI 3.1"), **_errors(401)},
        }
    },
    "/api/cron": {
        "post": {
            "summary": "Collect, detect and alert now (the `cron --json` object)",
            "description": "Needs the x-cron-secret header (never a query parameter); refused "
            "with 403 while CRON_SECRET is unset; 409 while a job runs, naming its holder.",
            "security": _CRON,
            "responses": {
                "200": _ok("the `cron --json` object: {collect, detect, messages}"),
                **_errors(400, 401, 403, 409, 413, 415, 500),
            },
        }
    },
    "/api/cycle-summary": {
        "get": {
            "summary": "The `summary --json` object: this billing cycle so far",
            "responses": {
                "200": _ok(
                    "spend, forecast, the last cycle's spend, seats, plan exhaustion, members"
                    " limited, top spenders and adoption tiers"
                ),
                "404": {**_ERROR, "description": "nothing collected yet"},
                **_errors(401),
            },
        }
    },
    "/api/forecast": {
        "get": {
            "summary": "The `forecast --json` object: the cycle-end forecast",
            "parameters": [
                _GROUP,
            ],
            "responses": {
                "200": _ok("the team's (or the group's) total, groups and members by forecast"),
                "404": {**_ERROR, "description": "no such group, or nothing collected yet"},
                **_errors(401),
            },
        }
    },
    "/api/stats": {
        "get": {
            "summary": "The `stats --json` object",
            "parameters": [
                _DAYS,
                _GROUP,
            ],
            "responses": {
                "200": _ok("team statistics"),
                "404": {**_ERROR, "description": "no such group, or nothing collected yet"},
                **_errors(400, 401),
            },
        }
    },
    "/api/model-costs": {
        "get": {
            "summary": "Spend per model over the window",
            "parameters": [_DAYS],
            "responses": {
                "200": _ok(
                    "[{model, users, requests, spend}], highest spend first",
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "model": {"type": "string"},
                                "users": {"type": "integer"},
                                "requests": {"type": "integer"},
                                "spend": {"type": "number"},
                            },
                        },
                    },
                ),
                **_errors(400, 401),
            },
        }
    },
    "/api/analytics": {
        "get": {
            "summary": "The Insights figures: adoption, model efficiency, tools, versions",
            "parameters": [_DAYS],
            "responses": {"200": _ok("the insights"), **_errors(400, 401)},
        }
    },
    "/api/users/{email}": {
        "get": {
            "summary": "One member's drilldown and incidents",
            "parameters": [
                {"name": "email", "in": "path", "required": True, "schema": {"type": "string"}},
                _DAYS,
            ],
            "responses": {"200": _ok("the member's figures"), **_errors(400, 401, 404)},
        }
    },
    "/api/groups": {
        "get": {
            "summary": "The `groups list --json` object: groups, members, who is in none",
            "responses": {
                "200": _ok(
                    "{groups: [{id, name, source, members, member_count, spend_cycle}], unassigned}"
                ),
                **_errors(401),
            },
        },
        "patch": {
            "summary": "One local edit of the groups, as the `groups` commands make it",
            "description": "A collection never undoes it; `undo` reverts the newest step. "
            "GROUP is an id or exact name; `to` may also be `unassigned`. Nothing is changed "
            "when refused (400, 404 for an unknown group or member, 409 with nothing to undo).",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["action"],
                            "properties": {
                                "action": {"type": "string", "enum": list(_GROUP_ACTIONS)},
                                "group": {"type": "string"},
                                "name": {"type": "string"},
                                "emails": {"type": "array", "items": {"type": "string"}},
                                "to": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("{edit: {batch, changes, summary}, groups: the groups now}"),
                **_errors(400, 401, 404, 409, 413, 415),
            },
        },
    },
    "/api/groups/history": {
        "get": {
            "summary": "The `groups history --json` object: every edit, oldest first",
            "responses": {"200": _ok("{edits: [{id, step, at, who, kind, ...}]}"), **_errors(401)},
        }
    },
    "/api/groups/import": {
        "post": {
            "summary": "Preview (or apply) a HiBob People Directory CSV",
            "description": "The `groups import-hibob --json` object; with `apply`, the moves "
            "(all matched by email, or those `selected` names) in one transaction. The body "
            "may be as large as `[daemon] max_upload_bytes` (8 MiB by default).",
            "requestBody": _csv_request(selected=True),
            "responses": {
                "200": _ok("the preview, with `applied` once applied"),
                **_errors(400, 401, 413, 415),
            },
        }
    },
    "/api/groups/restore": {
        "post": {
            "summary": "Preview (or apply) a groups backup (`email,name,group` CSV)",
            "description": "The body may be as large as `[daemon] max_upload_bytes`.",
            "requestBody": _csv_request(selected=False),
            "responses": {
                "200": _ok("the `groups restore --json` object"),
                **_errors(400, 401, 413, 415),
            },
        }
    },
    "/api/groups/export": {
        "get": {
            "summary": "Every member's group as `email,name,group` CSV (a backup)",
            "responses": {
                "200": {
                    "description": "the CSV, as an attachment group-mapping-DATE.csv",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_errors(401),
            },
        }
    },
    "/api/team-spend": {
        "get": {
            "summary": "Team spend per day",
            "parameters": [_DAYS],
            "responses": {
                "200": _ok(
                    "[{day, spend}]",
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "day": {"type": "string", "format": "date"},
                                "spend": {"type": "number"},
                            },
                        },
                    },
                ),
                **_errors(400, 401, 404),
            },
        }
    },
    "/api/anomalies": {
        "get": {
            "summary": "The `incidents list --json` object",
            "parameters": [
                {**_DAYS, "description": "window of the response-time averages"},
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "enum": ["active", "open", "alerted", "acknowledged", "resolved"],
                    },
                },
            ],
            "responses": {"200": _ok("incidents and response times"), **_errors(400, 401)},
        }
    },
    "/api/incidents/{id}": {
        "get": {
            "summary": "One incident as `incidents list --json` lists it",
            "parameters": [_ID],
            "responses": {"200": _ok("the incident"), **_errors(400, 401, 404)},
        },
        "patch": {
            "summary": "Acknowledge or resolve an incident",
            "parameters": [_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["action"],
                            "properties": {
                                "action": {"type": "string", "enum": ["acknowledge", "resolve"]}
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("the incident as it now is, with `already`"),
                **_errors(400, 401, 404, 409, 413, 415),
            },
        },
    },
    "/api/budgets": {
        "get": {
            "summary": "The `budgets list --json` object: each budget and this cycle's spend",
            "responses": {
                "200": _ok(
                    "{cycle: {start, end, day, length}, budgets: [{scope, key, name, amount, "
                    "spent, percent, forecast, forecast_percent, set_by, set_at}]}"
                ),
                **_errors(401),
            },
        },
        "put": {
            "summary": "Set one budget, as `budgets set` does (amount 0 or null removes it)",
            "description": "`scope` is team, group or member; `target` a group's id or exact "
            "name or a member's email (none for the team); `amount` dollars per cycle. A bad "
            "amount or scope is 400 and an unknown group or member 404, naming the `field`; "
            "nothing is changed then.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["scope"],
                            "properties": {
                                "scope": {"type": "string", "enum": ["team", "group", "member"]},
                                "target": {"type": "string"},
                                "amount": {"type": ["number", "string", "null"]},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _ok(
                    "{change: {scope, key, name, amount, changed, summary}, cycle, budgets}"
                ),
                **_errors(400, 401, 404, 413, 415),
            },
        },
    },
    "/api/settings": {
        "get": {
            "summary": "The `settings show --json` object",
            "responses": {"200": _ok("every detection setting"), **_errors(401)},
        },
        "put": {
            "summary": "Change any subset of the detection settings",
            "description": "Every value is checked as `settings set` checks it; if one is "
            "refused, nothing is stored (400 naming it in `field`).",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": {"type": ["number", "string"]},
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("every detection setting, as stored now"),
                **_errors(400, 401, 413, 415),
            },
        },
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cursor Usage Tracker daemon",
            "version": __version__,
            "description": "JSON API of `cursor-tracker daemon`. Every error is "
            '{"error": message} with "field" when one input is at fault.',
        },
        "security": [{"basicAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "DASHBOARD_USER / DASHBOARD_PASSWORD, when a password is set",
                },
                "cronSecret": {"type": "apiKey", "in": "header", "name": "x-cron-secret"},
            },
            "responses": {
                "Error": {
                    "description": "the request was refused or failed",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["error"],
                                "properties": {
                                    "error": {"type": "string"},
                                    "field": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }
