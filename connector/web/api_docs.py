"""The OpenAPI 3.1 document of the REST API, served at /api/openapi.json (routes on api.bp)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from connector import readmodels
from connector.web.access import settings
from connector.web.api_play_schemas import paths as play_paths
from connector.web.api_schemas import INT, SCHEMAS, VENDOR
from connector.web.blueprints import api as bp


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/Problem"},
    "401": {"$ref": "#/components/responses/Problem"},
    "403": {"$ref": "#/components/responses/Problem"},
}
NOT_FOUND = {"404": {"$ref": "#/components/responses/Problem"}}
METHODS = frozenset({"get", "put", "post", "patch", "delete"})
# What is left of the API key's budget, on every answer once the key is known (connector/web/api.py
# _quota_headers); the names and meaning are Flask-Limiter's. Several windows ("50 per second;1200 per
# minute"): the one with the fewest requests left.
RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests the API key's budget allows in its current window (of several windows, the "
        "one with the fewest requests left).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that window, this one counted; at 0 the next one is a 429.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "When that window resets, in Unix epoch seconds (UTC).",
        "schema": {"type": "integer"},
    },
}
RATE_HEADER_REFS = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_HEADERS}
TOO_MANY = {
    "description": "A rate limit is used up: the API key's own (every route), the client address's for "
    "requests without a valid key, or the workspace's backtest budget. Retry after `Retry-After` seconds; "
    "the X-RateLimit-* headers describe the budget that is used up.",
    "headers": {
        "Retry-After": {"description": "seconds until the budget resets", "schema": {"type": "integer"}},
        **RATE_HEADER_REFS,
    },
    "content": {
        "application/problem+json": {
            "schema": {
                "allOf": [
                    _ref("Problem"),
                    {
                        "type": "object",
                        "properties": {
                            "limit": {"type": "string", "description": "e.g. '1200 per 1 minute'"},
                            "retry_after": {"type": "integer", "minimum": 1},
                        },
                    },
                ]
            }
        }
    },
}


# Every request with a NUL character is refused (400) before routing (connector/web/__init__.py); free-text
# parameters say so, or a client generating from this document sends what we refuse (schemathesis found it).
NO_NUL = "^[^\\u0000]*$"


def _text(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema:
        return {**schema, "pattern": NO_NUL}
    return schema


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": _text(schema),
        "description": description,
    }


def _p(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _text(schema or {"type": "string"})}


def document() -> dict[str, Any]:
    """The whole OpenAPI document; `servers` is this deployment's public URL."""
    paths: dict[str, Any] = {
        "/api/v1/accounts": {
            "get": {
                "summary": "List accounts with their current score",
                "operationId": "listAccounts",
                "parameters": [
                    _q("band", {"type": "string"}, "green | yellow | red | unscored"),
                    _q("segment", {"type": "string"}, "exact segment"),
                    _q("q", {"type": "string"}, "name contains, or CRM id"),
                    _q(
                        "sort",
                        {"type": "string", "enum": list(readmodels.SORTS)},
                        "sort key; '-' = descending",
                    ),
                    _q(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"
                    ),
                    _q(
                        "page",
                        {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1},
                        "page number",
                    ),
                ],
                "responses": {"200": _ok(_ref("AccountPage")), **ERRORS},
            }
        },
        "/api/v1/accounts/{account_id}": {
            "get": {
                "summary": "One account with score history",
                "operationId": "getAccount",
                "parameters": [_p("account_id", INT)],
                "responses": {"200": _ok(_ref("AccountDetail")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/accounts/{account_id}/week-on-week": {
            "get": {
                "summary": "Week-on-week index per dimension and metric (now vs the snapshot a week older)",
                "operationId": "getAccountWeekOnWeek",
                "parameters": [_p("account_id", INT)],
                "responses": {"200": _ok({"type": "object"}), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/health/{vendor}/{external_id}": {
            "get": {
                "summary": "Current health by a vendor record id (CRM account, or a linked Zendesk organization)",
                "operationId": "getHealth",
                "parameters": [_p("vendor", VENDOR), _p("external_id")],
                "responses": {"200": _ok(_ref("Health")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/tickets": {
            "get": {
                "summary": "Tickets with sentiment, newest first",
                "operationId": "listTickets",
                "parameters": [
                    _q("vendor", VENDOR, "source system"),
                    _q("status", {"type": "string"}, "vendor status"),
                    _q("sentiment", {"type": "string", "enum": ["negative", "neutral", "positive"]}, "label"),
                    _q("account_id", INT, "linked account"),
                    _q(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"
                    ),
                    _q("cursor", {"type": "string"}, "next_cursor of the previous page"),
                ],
                "responses": {"200": _ok(_ref("TicketPage")), **ERRORS},
            }
        },
        "/api/v1/tickets/{vendor}/{external_id}": {
            "get": {
                "summary": "One ticket's sentiment",
                "operationId": "getTicket",
                "parameters": [_p("vendor", VENDOR), _p("external_id")],
                "responses": {"200": _ok(_ref("Ticket")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/webhooks": {
            "get": {
                "summary": "Webhook endpoints",
                "operationId": "listWebhooks",
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"data": {"type": "array", "items": _ref("Webhook")}},
                        }
                    ),
                    **ERRORS,
                },
            },
            "post": {
                "summary": "Add an endpoint (the response carries its secret, once)",
                "operationId": "createWebhook",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("WebhookInput")}},
                },
                "responses": {
                    "201": _ok(_ref("Webhook"), "Created"),
                    "422": {"$ref": "#/components/responses/Problem"},
                    **ERRORS,
                },
            },
        },
        "/api/v1/webhooks/{endpoint_id}": {
            "parameters": [_p("endpoint_id", INT)],
            "get": {
                "summary": "One endpoint with recent deliveries",
                "operationId": "getWebhook",
                "responses": {"200": _ok(_ref("Webhook")), **ERRORS, **NOT_FOUND},
            },
            "patch": {
                "summary": "Change an endpoint",
                "operationId": "updateWebhook",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("WebhookPatch")}},
                },
                "responses": {
                    "200": _ok(_ref("Webhook")),
                    "422": {"$ref": "#/components/responses/Problem"},
                    **ERRORS,
                    **NOT_FOUND,
                },
            },
            "delete": {
                "summary": "Delete an endpoint",
                "operationId": "deleteWebhook",
                "responses": {"204": {"description": "Deleted"}, **ERRORS, **NOT_FOUND},
            },
        },
        "/api/v1/webhooks/{endpoint_id}/rotate": {
            "post": {
                "summary": "New signing secret (the old one keeps signing too until the rotation ends: "
                "24 hours, or the hours given, 1 to 168)",
                "operationId": "rotateWebhook",
                "parameters": [_p("endpoint_id", INT)],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("WebhookRotate")}},
                },
                "responses": {"200": _ok(_ref("Webhook")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/models": {
            "get": {
                "summary": "Scoring model versions",
                "operationId": "listModels",
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"data": {"type": "array", "items": _ref("ModelVersion")}},
                        }
                    ),
                    **ERRORS,
                },
            }
        },
        "/api/v1/models/{version_id}": {
            "get": {
                "summary": "One model version",
                "operationId": "getModel",
                "parameters": [_p("version_id", INT)],
                "responses": {"200": _ok(_ref("ModelVersion")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/backtest": {
            "post": {
                "summary": "Backtest a model (YAML) on this tenant's history",
                "operationId": "backtest",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["yaml"],
                                "additionalProperties": False,
                                "properties": {
                                    "yaml": {"type": "string", "maxLength": 200000},
                                    "as_of": {
                                        "type": "string",
                                        "format": "date",
                                        "pattern": r"^\d{4}-\d{2}-\d{2}$",
                                        "description": "Score as of this date (default: now minus the "
                                        "horizon); after the newest data in the store: 422 as_of_after_data; before the "
                                        "oldest ticket, survey answer or deal: 422 as_of_before_data",
                                    },
                                    "horizon_days": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "maximum": 3650,
                                        "description": "Outcome window after as_of, in days (default 90)",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok({"type": "object"}),
                    "422": {"$ref": "#/components/responses/Problem"},
                    "501": {"$ref": "#/components/responses/Problem"},
                    **ERRORS,
                },
            }
        },
        "/api/v1/sync": {
            "get": {
                "summary": "Installations and recent runs",
                "operationId": "syncStatus",
                "responses": {"200": _ok(_ref("SyncStatus")), **ERRORS},
            }
        },
    }
    paths.update(play_paths())  # plays: connector/web/api_play_schemas.py
    for item in paths.values():  # every operation has a budget (connector/web/ratelimits.py)
        for method, op in item.items():
            if method in METHODS:
                op["responses"].setdefault("429", {"$ref": "#/components/responses/TooManyRequests"})
                for code, resp in op["responses"].items():
                    if code.startswith("2") and "$ref" not in resp:  # what is left of the key's budget
                        op["responses"][code] = {
                            **resp,
                            "headers": {**resp.get("headers", {}), **RATE_HEADER_REFS},
                        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "healthscore API",
            "version": "1.0.0",
            "description": "Customer health scores. Authenticate with an API key: `Authorization: Bearer hsk_…`. "
            "Keys have a scope: read (every GET but webhook endpoints), installation (Zendesk health and ticket lookups only; "
            "bound to the workspace's Zendesk connection, refused once it is disconnected), "
            "admin (everything, webhook endpoints included). "
            "Each key has a rate limit of its own; POST /api/v1/backtest also has one per workspace. "
            "Every answer to a request with a valid key says what is left of its budget: `X-RateLimit-Limit` "
            "(requests in the current window), `X-RateLimit-Remaining` and `X-RateLimit-Reset` (when the window "
            "resets, Unix epoch seconds); with several windows, the one with the fewest requests left. "
            "Past a limit the answer is 429 with `Retry-After` (seconds) and the X-RateLimit-* headers of the "
            "budget that is used up.",
        },
        "servers": [{"url": settings().public_base_url.rstrip("/")}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "hsk_<prefix>_<secret>"}
            },
            "schemas": SCHEMAS,
            "headers": RATE_HEADERS,
            "responses": {
                "Problem": {
                    "description": "Problem details (RFC 9457)",
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                },
                "TooManyRequests": TOO_MANY,
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
