"""The plays part of the OpenAPI document: JSON Schemas (merged into api_schemas.SCHEMAS, so the validation
layer resolves them) and the paths (merged by api_docs.document). Plain data: no imports of our own, so
both of those modules can import it without a cycle.

Band and segment names are the tenant's scoring model's, so the schema states their shape and the view
answers 422 naming the allowed ones (tests/reliability/test_api_schema.py lists these operations as
semantic); a name another play of the workspace has (case ignored) is 422 too, naming that play.
"""

from __future__ import annotations

from typing import Any

NO_NUL = "^[^\\u0000]*$"  # every request with a NUL is refused before routing (api_docs.NO_NUL)
NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL}
PROBLEM = {"$ref": "#/components/responses/Problem"}
ERRORS = {"400": PROBLEM, "401": PROBLEM, "403": PROBLEM}
NOT_FOUND = {"404": PROBLEM}
INVALID = {"422": PROBLEM}  # a band/segment outside the model, or a name another play has
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _fields(required: bool) -> dict[str, Any]:
    """The writable fields of a play (create: name and to_band required; patch: any subset)."""
    return {
        "type": "object",
        "additionalProperties": False,
        **({"required": ["name", "to_band"]} if required else {"minProperties": 1}),
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
                "description": "one play per name in the workspace (case and surrounding spaces ignored): "
                "a name another play has is 422",
            },
            "to_band": {**NAME, "description": "the band the account enters (a band of the tenant's model)"},
            "from_bands": {
                "type": "array",
                "maxItems": 20,
                "items": NAME,
                "description": "empty: from any band",
            },
            "segments": {
                "type": "array",
                "maxItems": 50,
                "items": {**NAME, "maxLength": 100},
                "description": "empty: every segment",
            },
            "subject": {
                "type": "string",
                "maxLength": 255,
                "pattern": NO_NUL,
                "description": "{account} and {band} are filled in; empty: the default subject",
            },
            "next_step": {"type": "string", "maxLength": 2000, "pattern": NO_NUL},
            "due_days": {"type": "integer", "minimum": 0, "maximum": 90},
            "cooldown_days": {"type": "integer", "minimum": 0, "maximum": 365},
            "zendesk_ticket": {"type": "boolean"},
            "on_recovery": {"type": "string", "enum": ["close", "leave"]},
            "enabled": {
                "type": "boolean",
                "description": "true turns the play on and backfills the accounts already in its band",
            },
        },
    }


SCHEMAS: dict[str, Any] = {
    "Play": {
        "type": "object",
        "required": ["id", "name", "to_band", "enabled"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "to_band": {"type": "string"},
            "from_bands": {"type": "array", "items": {"type": "string"}},
            "segments": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "next_step": {"type": "string"},
            "due_days": {"type": "integer"},
            "cooldown_days": {"type": "integer"},
            "zendesk_ticket": {"type": "boolean"},
            "on_recovery": {"type": "string", "enum": ["close", "leave"]},
            "enabled": {"type": "boolean"},
            "created_at": TIME,
            "updated_at": TIME,
            "tasks": {
                "type": "object",
                "description": "task count per state (queued, open, closing, closed, failed)",
                "additionalProperties": {"type": "integer"},
            },
            "backfill": {
                "oneOf": [_ref("PlayDryRun"), {"type": "null"}],
                "description": "in a create or update that turned the play on: the tasks it queued",
            },
        },
    },
    "PlayInput": _fields(required=True),
    "PlayPatch": _fields(required=False),
    "PlayDryRun": {
        "type": "object",
        "required": ["play_id", "creates", "closes", "summary"],
        "properties": {
            "play_id": {"type": "integer"},
            "creates": {"type": "integer", "description": "tasks turning the play on creates now"},
            "closes": {"type": "integer"},
            "no_crm": {"type": "integer", "description": "matching accounts without a connected CRM"},
            "lookback_days": {"type": "integer"},
            "as_of": TIME,
            "written": {"type": "boolean", "description": "false for a dry run"},
            "sending_now": {
                "type": "boolean",
                "description": "after turning a play on: true when its tasks are on their way to the CRM now; "
                "false when the next scheduled pass sends them (nothing to send, or no worker reachable)",
            },
            "summary": {"type": "string"},
            "accounts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                },
            },
        },
    },
    "PlayTask": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "play_id": {"type": "integer"},
            "play": {"type": "string"},
            "subject": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "open", "closing", "closed", "failed"]},
            "state_text": {"type": "string"},
            "vendor": {"type": "string"},
            "vendor_task_id": {"type": ["string", "null"]},
            "ticket_id": {"type": ["string", "null"]},
            "fired_at": TIME,
            "due_at": TIME,
            "closed_at": TIME_OR_NULL,
            "problem": {"type": ["string", "null"]},
        },
    },
}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def paths() -> dict[str, Any]:
    """The plays operations (merged into api_docs.document's paths)."""
    play_id = _id("play_id")
    return {
        "/api/v1/plays": {
            "get": {
                "summary": "Plays (band change → CRM task) with their task counts",
                "operationId": "listPlays",
                "responses": {
                    "200": _ok(
                        {"type": "object", "properties": {"data": {"type": "array", "items": _ref("Play")}}}
                    ),
                    **ERRORS,
                },
            },
            "post": {
                "summary": "Define a play (admin); `enabled: true` turns it on and backfills its band",
                "operationId": "createPlay",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PlayInput")}},
                },
                "responses": {"201": _ok(_ref("Play"), "Created"), **INVALID, **ERRORS},
            },
        },
        "/api/v1/plays/{play_id}": {
            "parameters": [play_id],
            "get": {
                "summary": "One play with its task counts",
                "operationId": "getPlay",
                "responses": {"200": _ok(_ref("Play")), **ERRORS, **NOT_FOUND},
            },
            "patch": {
                "summary": "Change a play, or turn it on/off (admin); turning it on backfills its band",
                "operationId": "updatePlay",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PlayPatch")}},
                },
                "responses": {"200": _ok(_ref("Play")), **INVALID, **ERRORS, **NOT_FOUND},
            },
            "delete": {
                "summary": "Delete a play and its task rows (tasks already in the CRM stay there) (admin)",
                "operationId": "deletePlay",
                "responses": {"204": {"description": "Deleted"}, **ERRORS, **NOT_FOUND},
            },
        },
        "/api/v1/plays/{play_id}/dry-run": {
            "post": {
                "summary": "What turning the play on would create now (nothing is written) (admin)",
                "operationId": "dryRunPlay",
                "parameters": [play_id],
                "responses": {"200": _ok(_ref("PlayDryRun")), **ERRORS, **NOT_FOUND},
            }
        },
        "/api/v1/accounts/{account_id}/plays": {
            "get": {
                "summary": "The plays fired for an account and their tasks' state, newest first",
                "operationId": "listAccountPlays",
                "parameters": [
                    _id("account_id"),
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                        "description": "page size",
                    },
                ],
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"data": {"type": "array", "items": _ref("PlayTask")}},
                        }
                    ),
                    **ERRORS,
                    **NOT_FOUND,
                },
            }
        },
    }
