"""CRM v3 object routes per type: list, get, search, batch read and batch update (207 multi-status)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, request

from integrations.sandbox.context import Fault, SandboxContext
from integrations.sandbox.hubspot.api import HubSpotError, _body, _json, _props_arg, _require, _validation
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.history import names_from, property_history
from integrations.sandbox.hubspot.index import HubObject, _state
from integrations.sandbox.hubspot.render import FORWARD, associations, get_objects, list_page, property_defs
from integrations.sandbox.hubspot.schema import (
    BATCH_LIMIT,
    HISTORY_LIMIT,
    LIST_LIMIT,
    OBJECT_TYPES,
    READ_SCOPE,
    SINGULAR,
    VENDOR,
    WRITE_SCOPE,
)
from integrations.sandbox.hubspot.search import _validate_properties, run_search

# --- objects ------------------------------------------------------------------------------------------------


def _with_history(
    ctx: SandboxContext, obj: HubObject, props: list[str] | None, history: list[str], **kw: Any
) -> dict[str, Any]:
    """An object's JSON; with `propertiesWithHistory` asked, the history and (as HubSpot does) the current
    values of those properties too."""
    if not history:
        return obj.json(props, **kw)
    out = obj.json([*(props or []), *history], **kw)
    out["propertiesWithHistory"] = property_history(ctx, obj, history)
    return out


def _register_objects(app: Flask, ctx: SandboxContext, object_type: str) -> None:
    base = f"/crm/v3/objects/{object_type}"
    read_scope = READ_SCOPE[object_type]

    def list_objects() -> Response:
        try:
            limit = int(request.args.get("limit", "10"))
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        if limit < 1 or limit > LIST_LIMIT:
            raise _validation(f"limit must be between 1 and {LIST_LIMIT}")
        history = names_from(request.args.getlist("propertiesWithHistory"))
        if history and limit > HISTORY_LIMIT:
            raise _validation(
                f"limit must be between 1 and {HISTORY_LIMIT} when propertiesWithHistory is requested"
            )
        archived = request.args.get("archived", "false").lower() == "true"
        with_assoc = [a for raw in request.args.getlist("associations") for a in raw.split(",") if a]
        with ctx.lock:
            _require(ctx, read_scope)
            page, nxt_id = list_page(ctx, object_type, after=after, limit=limit, archived=archived)
            for to_type in with_assoc:
                if to_type in OBJECT_TYPES and (object_type, to_type) not in FORWARD:
                    reverse = associations(ctx, object_type, to_type, [o.id for o in page])
                    for o in page:
                        o.assoc[to_type] = reverse.get(o.id, [])
            out: dict[str, Any] = {
                "results": [_with_history(ctx, o, _props_arg(), history, with_assoc=with_assoc) for o in page]
            }
            if nxt_id is not None:
                nxt = str(nxt_id)
                query = urlencode([("limit", limit), ("after", nxt), *(("archived", "true"),) * archived])
                out["paging"] = {
                    "next": {"after": nxt, "link": f"{request.host_url.rstrip('/')}{base}?{query}"}
                }
            return _json(out)

    def get_object(object_id: str) -> Response:
        archived = request.args.get("archived", "false").lower() == "true"
        with ctx.lock:
            _require(ctx, read_scope)
            found = get_objects(ctx, object_type, [object_id], archived=archived).get(object_id)
            if found is not None:
                history = names_from(request.args.getlist("propertiesWithHistory"))
                return _json(_with_history(ctx, found, _props_arg(), history))
        raise HubSpotError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")

    def search() -> Response:
        body = _body()
        with ctx.lock:
            _require(ctx, read_scope)
            return _json(run_search(ctx, object_type, body))

    def batch_read() -> Response:
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(
                f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}", context={"inputs": [str(len(inputs))]}
            )
        asked = body.get("propertiesWithHistory") or []
        history = names_from(asked if isinstance(asked, list) else [asked])
        if history and len(inputs) > HISTORY_LIMIT:
            raise _validation(
                f"Too many inputs: {len(inputs)} > {HISTORY_LIMIT} when propertiesWithHistory is requested",
                context={"inputs": [str(len(inputs))]},
            )
        started = ctx.now
        archived = bool(request.args.get("archived", "false").lower() == "true")
        with ctx.lock:
            _require(ctx, read_scope)
            by_id = get_objects(ctx, object_type, [str(i.get("id")) for i in inputs], archived=archived)
            found, missing = [], []
            for inp in inputs:
                oid = str(inp.get("id"))
                (found if oid in by_id else missing).append(oid)
            results = [
                _with_history(ctx, by_id[i], body.get("properties"), history) for i in dict.fromkeys(found)
            ]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(started),
            "completedAt": hs_time(ctx.now),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return _json(out, 207)
        return _json(out)

    def batch_update() -> Response:
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(
                f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}", context={"inputs": [str(len(inputs))]}
            )
        row_fault: Fault | None = g.get("row_fault") or ctx.faults.peek(VENDOR, g.fault_key, "reject_rows")
        with ctx.lock:
            _require(ctx, WRITE_SCOPE[object_type])
            defs = property_defs(ctx, object_type)
            _validate_properties(defs, inputs)
            by_id = get_objects(ctx, object_type, [str(i.get("id")) for i in inputs])
            state = _state(ctx)
            errors: list[dict[str, Any]] = []
            updated: list[str] = []
            missing: list[str] = []
            for i, inp in enumerate(inputs, start=1):
                oid = str(inp.get("id"))
                if oid not in by_id:
                    missing.append(oid)
                    continue
                if row_fault and (oid in row_fault.ids or (row_fault.every and i % row_fault.every == 0)):
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": row_fault.message or f"Record {oid} was rejected by a validation rule",
                            "context": {"ids": [oid]},
                        }
                    )
                    continue
                state.written.setdefault(oid, {}).update(inp.get("properties") or {})
                state.extra["touched"][oid] = ctx.now
                updated.append(oid)
            if missing:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist. Check that ids are valid.",
                        "context": {"ids": missing},
                    }
                )
            fresh = get_objects(ctx, object_type, updated)
            results = [fresh[i].json(list((inputs[0].get("properties") or {}).keys())) for i in updated]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return _json(out, 207)
        return _json(out)

    app.add_url_rule(base, f"{object_type}_list", list_objects, methods=["GET"])
    app.add_url_rule(f"{base}/<object_id>", f"{object_type}_get", get_object, methods=["GET"])
    app.add_url_rule(f"{base}/search", f"{object_type}_search", search, methods=["POST"])
    app.add_url_rule(f"{base}/batch/read", f"{object_type}_batch_read", batch_read, methods=["POST"])
    app.add_url_rule(f"{base}/batch/update", f"{object_type}_batch_update", batch_update, methods=["POST"])
