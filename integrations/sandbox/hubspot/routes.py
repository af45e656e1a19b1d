"""The HubSpot sandbox Flask app: counters and faults per request, error handlers, and the v4 association
routes; objects, properties and OAuth routes register from their own modules.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.api import (
    HubSpotError,
    _body,
    _fault_response,
    _json,
    _require,
    _validation,
    error_body,
    rate_limit_headers,
)
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import _state
from integrations.sandbox.hubspot.names_api import _register_names
from integrations.sandbox.hubspot.oauth import _register_oauth
from integrations.sandbox.hubspot.objects_api import _register_objects
from integrations.sandbox.hubspot.properties_api import _register_properties
from integrations.sandbox.hubspot.render import associations, get_objects
from integrations.sandbox.hubspot.schema import (
    ASSOC_BATCH_LIMIT,
    ASSOC_TYPES,
    OBJECT_TYPES,
    READ_SCOPE,
    SINGULAR,
    VENDOR,
)
from integrations.sandbox.hubspot.tasks_api import _register_tasks
from integrations.sandbox.limits import Refusal


def _limited(ctx: SandboxContext, refused: Refusal) -> Response:
    """429 as HubSpot sends it when a rate limit is spent (body and X-HubSpot-RateLimit-* headers; HubSpot
    does not promise Retry-After, so the client waits its default window)."""
    daily = refused.window[1] >= 86_400
    policy = "DAILY" if daily else "TEN_SECONDLY_ROLLING"
    body = error_body(
        "You have reached your daily limit."
        if daily
        else "You have reached your ten_secondly_rolling limit.",
        "RATE_LIMITS",
        errorType="RATE_LIMIT",
        policyName=policy,
    )
    headers = rate_limit_headers(_state(ctx), remaining=0)
    if daily:
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
    return _json(body, 429, headers)


def create_app(ctx: SandboxContext) -> Flask:
    """The HubSpot API (CRM v3/v4, properties, OAuth) over the book in `ctx`."""
    app = Flask(f"sandbox-{VENDOR}")
    app.config["JSON_SORT_KEYS"] = False

    @app.before_request
    def _count_and_fault() -> Response | None:
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        key = f"{request.method} {rule}"
        g.fault_key = key
        ctx.counters.record(VENDOR, key)
        if not request.path.startswith("/oauth/") and (refused := ctx.limits.admit(VENDOR)) is not None:
            return _limited(ctx, refused)
        with ctx.lock:
            _state(ctx).extra["daily_used"] = _state(ctx).extra.get("daily_used", 0) + 1
        fault = ctx.faults.take(VENDOR, key)
        if fault is None:
            return None
        if fault.kind == "reject_rows":
            g.row_fault = fault
            return None
        return _fault_response(ctx, fault, request.path)

    @app.after_request
    def _headers(resp: Response) -> Response:
        path = request.path
        if path.startswith("/crm/") and not path.endswith("/search") and resp.status_code != 429:
            left = ctx.limits.remaining(VENDOR)
            for k, v in rate_limit_headers(_state(ctx), remaining=99 if left is None else left).items():
                resp.headers.setdefault(k, v)
        return resp

    @app.errorhandler(HubSpotError)
    def _hs_error(exc: HubSpotError) -> Response:
        return _json(error_body(exc.message, exc.category, **exc.extra), exc.status, exc.headers)

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> Response:
        return _json(
            error_body(f"Unable to route {request.method} request to {request.path}", "OBJECT_NOT_FOUND"), 404
        )

    @app.errorhandler(405)
    def _not_allowed(_exc: Exception) -> Response:
        return _json(
            error_body(f"HTTP method {request.method} is not supported by this URL", "VALIDATION_ERROR"), 405
        )

    _register_oauth(app, ctx)
    for object_type in OBJECT_TYPES:
        _register_objects(app, ctx, object_type)
        _register_properties(app, ctx, object_type)
    _register_associations(app, ctx)
    _register_names(app, ctx)
    _register_tasks(app, ctx)
    return app


# --- associations ------------------------------------------------------------------------------------------


def _assoc_item(from_type: str, to_type: str, to_id: str) -> dict[str, Any]:
    type_id = ASSOC_TYPES.get((from_type, to_type), 1)
    return {
        "toObjectId": int(to_id),
        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
    }


def _register_associations(app: Flask, ctx: SandboxContext) -> None:
    def _check_types(from_type: str, to_type: str) -> None:
        if from_type not in OBJECT_TYPES or to_type not in OBJECT_TYPES:
            raise _validation(
                f"Unable to infer object type from: {from_type if from_type not in OBJECT_TYPES else to_type}"
            )

    @app.get("/crm/v4/objects/<from_type>/<object_id>/associations/<to_type>")
    def assoc_page(from_type: str, object_id: str, to_type: str) -> Response:
        _check_types(from_type, to_type)
        try:
            limit = min(int(request.args.get("limit", "500")), 500)
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        with ctx.lock:
            _require(ctx, READ_SCOPE[from_type])
            ids = associations(ctx, from_type, to_type, [object_id]).get(object_id, [])
        page = ids[after : after + limit]
        out: dict[str, Any] = {"results": [_assoc_item(from_type, to_type, i) for i in page]}
        if after + limit < len(ids):
            out["paging"] = {"next": {"after": str(after + limit), "link": None}}
        return _json(out)

    @app.post("/crm/v4/associations/<from_type>/<to_type>/batch/read")
    def assoc_batch_read(from_type: str, to_type: str) -> Response:
        _check_types(from_type, to_type)
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > ASSOC_BATCH_LIMIT:
            raise _validation(f"Too many inputs: {len(inputs)} > {ASSOC_BATCH_LIMIT}")
        with ctx.lock:
            _require(ctx, READ_SCOPE[from_type])
            wanted = [str(i.get("id")) for i in inputs]
            table = associations(ctx, from_type, to_type, wanted)
            live = set(get_objects(ctx, from_type, wanted))
        results, missing = [], []
        for inp in inputs:
            oid = str(inp.get("id"))
            if oid not in live:
                missing.append(oid)
                continue
            ids = table.get(oid, [])
            if ids:
                results.append({"from": {"id": oid}, "to": [_assoc_item(from_type, to_type, i) for i in ids]})
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.FROM_OBJECT_NOT_FOUND",
                    "message": f"No {SINGULAR[from_type]} found for ids {missing}",
                    "context": {"fromObjectId": missing},
                }
            ]
            return _json(out, 207)
        return _json(out)
