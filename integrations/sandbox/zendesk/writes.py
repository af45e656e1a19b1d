"""Writes our product makes: organization fields (create), organization updates, `update_many` and
`job_statuses`, with Zendesk's validation of field values.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, g, jsonify, request

from integrations.sandbox.context import Fault, SandboxContext
from integrations.sandbox.zendesk.responses import _err
from integrations.sandbox.zendesk.state import API, FIELD_TYPES, UPDATE_MANY_MAX, VENDOR, _iso, _state, org_id
from integrations.sandbox.zendesk.view import _View

# ------------------------------------------------------------------------------------------------ writes


def _write_routes(app: Flask, ctx: SandboxContext, require_write: Any) -> None:
    @app.route(f"{API}/organization_fields.json", methods=["POST"])
    def create_field() -> Response:
        if (denied := require_write()) is not None:
            return denied
        payload = (request.get_json(silent=True) or {}).get("organization_field")
        if not isinstance(payload, dict):
            return _err(400, "InvalidValue", "organization_field is required")
        details = _field_problems(payload)
        with ctx.lock:
            state = _state(ctx)
            if any(f["key"] == payload.get("key") for f in state.custom_fields.values()):
                details.setdefault("key", []).append(
                    {
                        "description": f"Key: {payload['key']} has already been taken",
                        "error": "DuplicateValue",
                    }
                )
            if details:
                return _err(422, "RecordInvalid", "Record validation errors", details=details)
            fid = state.extra["next_field_id"]
            state.extra["next_field_id"] = fid + 1
            options = [
                {
                    "id": fid * 100 + i,
                    "name": o.get("name"),
                    "raw_name": o.get("name"),
                    "value": o.get("value"),
                }
                for i, o in enumerate(payload.get("custom_field_options") or [])
            ]
            body = {
                "url": f"{request.host_url.rstrip('/')}{API}/organization_fields/{fid}.json",
                "id": fid,
                "type": payload["type"],
                "key": payload["key"],
                "title": payload["title"],
                "raw_title": payload["title"],
                "description": payload.get("description", ""),
                "raw_description": payload.get("description", ""),
                "position": len(state.custom_fields),
                "active": True,
                "system": False,
                "regexp_for_validation": payload.get("regexp_for_validation"),
                "created_at": _iso(ctx.now),
                "updated_at": _iso(ctx.now),
            }
            if payload["type"] == "dropdown":
                body["custom_field_options"] = options
            state.custom_fields[payload["key"]] = body
        resp = jsonify({"organization_field": body})
        resp.status_code = 201
        return resp

    @app.route(f"{API}/organizations/update_many.json", methods=["PUT"])
    def update_many() -> Response:
        if (denied := require_write()) is not None:
            return denied
        items = (request.get_json(silent=True) or {}).get("organizations")
        if not isinstance(items, list) or not items:
            return _err(400, "InvalidValue", "organizations must be a non-empty array")
        if len(items) > UPDATE_MANY_MAX:
            return _err(400, "TooManyValues", f"You may update up to {UPDATE_MANY_MAX} organizations at once")
        if any(not isinstance(i, dict) or not isinstance(i.get("id"), int) for i in items):
            return _err(
                422, "RecordInvalid", "Record validation errors", details={"id": [{"error": "blank"}]}
            )
        fault = g.get("row_fault") or ctx.faults.peek(VENDOR, g.key, "reject_rows")
        ids = [str(i["id"]) for i in items]
        if fault is not None and fault.status == 422 and set(fault.ids) & set(ids):
            # whole-request validation failure (one bad record fails the batch), for split-retry tests
            return _err(422, "RecordInvalid", "Record validation errors", details={"base": [fault.message]})
        with ctx.lock:
            view = _View(ctx, "")
            alive = {org_id(c.key) for c in view.zendesk_customers() if view.org_deleted_at(c) is None}
            at = _job_time(ctx)
            results = [_apply_one(ctx, n, item, fault, alive, at) for n, item in enumerate(items)]
            job = secrets.token_hex(16)
            _state(ctx).extra["jobs"][job] = {
                "id": job,
                "results": results,
                "polls": 0,
                "host": request.host_url,
            }
            body = _job_body(_state(ctx).extra["jobs"][job], 10**9)
        return jsonify({"job_status": body})


def _field_problems(payload: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    problems: dict[str, list[dict[str, str]]] = {}
    key = payload.get("key")
    if not isinstance(key, str) or not key or not all(ch.isalnum() or ch == "_" for ch in key):
        problems["key"] = [{"description": "Key: is invalid", "error": "InvalidValue"}]
    if not payload.get("title"):
        problems["title"] = [{"description": "Title: cannot be blank", "error": "BlankValue"}]
    if payload.get("type") not in FIELD_TYPES:
        problems["type"] = [{"description": "Type: is invalid", "error": "InvalidValue"}]
    if payload.get("type") == "dropdown" and not payload.get("custom_field_options"):
        problems["custom_field_options"] = [
            {"description": "Field options: cannot be blank", "error": "BlankValue"}
        ]
    return problems


def _valid(field: dict[str, Any], value: Any) -> bool:
    if value is None:
        return True
    kind = field["type"]
    if kind == "decimal":
        return isinstance(value, int | float) or (isinstance(value, str) and _is_number(value))
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
    if kind == "dropdown":
        return value in {o["value"] for o in field.get("custom_field_options", [])}
    if kind == "checkbox":
        return isinstance(value, bool)
    return isinstance(value, str | int | float)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _job_time(ctx: SandboxContext) -> datetime:
    """When this update_many job runs: Zendesk runs an account's bulk jobs one after another in the
    background, each saving its organizations at its own time. The sandbox clock stands still between
    ticks, so a job is stamped one second after the previous job of the same clock reading (never before
    `now`): a write-back of N organizations spreads over ⌈N/100⌉ seconds, as on Zendesk, instead of putting
    every organization in one frozen second (which no Zendesk account does and which its time-based
    organization export cannot page past when the second holds more than a page)."""
    state = _state(ctx)
    last = state.extra.get("job_clock")
    at = ctx.now if last is None or last < ctx.now else last + timedelta(seconds=1)
    state.extra["job_clock"] = at
    return at


def _apply_one(
    ctx: SandboxContext,
    index: int,
    item: dict[str, Any],
    fault: Fault | None,
    alive: set[int],
    at: datetime,
) -> dict[str, Any]:
    state = _state(ctx)
    oid = item["id"]
    base = {"id": oid, "index": index, "action": "update"}
    if oid not in alive:
        return {
            **base,
            "status": "Failed",
            "success": False,
            "error": "RecordNotFound",
            "errors": "Not found",
        }
    if (
        fault is not None
        and fault.status != 422
        and (str(oid) in fault.ids or (fault.every and (index + 1) % fault.every == 0))
    ):
        message = fault.message or "Organization could not be updated"
        return {**base, "status": "Failed", "success": False, "error": "RecordInvalid", "errors": message}
    values = item.get("organization_fields") or {}
    fields = state.custom_fields
    for key, value in values.items():
        if key in fields and not _valid(fields[key], value):
            message = f"{fields[key]['title']} is invalid"
            return {**base, "status": "Failed", "success": False, "error": "RecordInvalid", "errors": message}
    written = state.written.setdefault(str(oid), {})
    for key, value in values.items():
        if key in fields:  # like Zendesk, values for unknown field keys are dropped silently
            written[key] = value
    state.extra["bumped"][oid] = at  # our write-back bumps updated_at to the job's time, as Zendesk does
    return {**base, "status": "Updated", "success": True}


def _job_body(record: dict[str, Any], polls_needed: int) -> dict[str, Any]:
    total = len(record["results"])
    if record["polls"] == 0:
        status, progress, results = "queued", 0, None
    elif record["polls"] < polls_needed:
        status, progress, results = "working", total // 2, None
    else:
        status, progress, results = "completed", total, record["results"]
    return {
        "id": record["id"],
        "url": f"{record['host'].rstrip('/')}{API}/job_statuses/{record['id']}.json",
        "job_type": record.get("job_type", "bulk_update_organizations"),
        "total": total,
        "progress": progress,
        "status": status,
        "message": "Completed at " + datetime.now(UTC).isoformat() if status == "completed" else None,
        "results": results,
    }
