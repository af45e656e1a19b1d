"""REST API: webhook endpoints CRUD and secret rotation (routes on api.bp; admin-scope keys)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.readmodels import jsonable
from connector.web.access import db, settings
from connector.web.blueprints import BadRequestError
from connector.web.blueprints import api as bp
from connector.web.errors import problem


def _body(ep: Any, secret: str | None = None) -> dict[str, Any]:
    out = {
        "id": ep.id,
        "url": ep.url,
        "description": ep.description,
        "event_types": list(ep.event_types),
        "enabled": ep.enabled,
        "disabled_reason": ep.disabled_reason,
        "created_at": jsonable(ep.created_at),
        # while a rotation is in progress: when the previous secret stops signing (null: no rotation)
        "rotation_ends_at": jsonable(ep.rotation_ends_at) if _rotating(ep) else None,
    }
    if secret is not None:
        out["secret"] = secret  # only in the create/rotate response
    return out


def _rotating(ep: Any) -> bool:
    return ep.rotation_ends_at is not None and admin_actions.secret_count(settings(), ep) > 1


def _json() -> dict[str, Any]:
    """The body, already checked against the operation's OpenAPI schema (api_validation)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("send a JSON object")
    if "description" in body and body["description"] is None:
        body["description"] = ""  # null clears the description (never the text "None")
    return body


@bp.get("/v1/webhooks")
def list_webhooks() -> Response:
    endpoints = admin_actions.current_endpoints(db(), settings(), g.api_tenant_id)
    db().commit()  # a rotation whose end passed was finished on reading
    return jsonify({"data": [_body(ep) for ep in endpoints]})


@bp.post("/v1/webhooks")
def create_webhook() -> Any:
    body = _json()
    types = body.get("event_types", ["account.band_changed"])
    try:
        created = admin_actions.create_endpoint(
            db(),
            settings(),
            g.api_tenant_id,
            url=body["url"],
            description=body.get("description") or "",
            event_types=list(types),
            actor=g.api_key_name,
        )
    except admin_actions.ActionError as exc:
        return problem(
            422, "invalid_endpoint", "The endpoint cannot be created.", exc.problems[0], problems=exc.problems
        )
    db().commit()
    return jsonify(_body(created.endpoint, created.secret)), 201


@bp.get("/v1/webhooks/<int:endpoint_id>")
def get_webhook(endpoint_id: int) -> Any:
    ep = admin_actions.current_endpoint(db(), settings(), g.api_tenant_id, endpoint_id)
    if ep is None:
        return problem(404, "not_found", "No such webhook endpoint.")
    db().commit()  # a rotation whose end passed was finished on reading
    out = _body(ep)
    out["deliveries"] = jsonable(readmodels.deliveries(db(), g.api_tenant_id, ep.id, limit=20))
    return jsonify(out)


@bp.patch("/v1/webhooks/<int:endpoint_id>")
def update_webhook(endpoint_id: int) -> Any:
    body = _json()  # unknown fields and wrong types were refused by the schema
    try:
        ep = admin_actions.update_endpoint(
            db(), settings(), g.api_tenant_id, endpoint_id, g.api_key_name, **body
        )
    except LookupError:
        return problem(404, "not_found", "No such webhook endpoint.")
    except admin_actions.ActionError as exc:
        return problem(
            422, "invalid_endpoint", "The change cannot be applied.", exc.problems[0], problems=exc.problems
        )
    db().commit()
    return jsonify(_body(ep))


@bp.delete("/v1/webhooks/<int:endpoint_id>")
def delete_webhook(endpoint_id: int) -> Any:
    try:
        admin_actions.delete_endpoint(db(), g.api_tenant_id, endpoint_id, g.api_key_name)
    except LookupError:
        return problem(404, "not_found", "No such webhook endpoint.")
    db().commit()
    return Response(status=204)


@bp.post("/v1/webhooks/<int:endpoint_id>/rotate")
def rotate_webhook(endpoint_id: int) -> Any:
    body = request.get_json(silent=True) if request.get_data(cache=True) else None
    hours = body.get("hours") if isinstance(body, dict) else None  # the schema checked its bounds
    try:
        rotated = admin_actions.rotate_secret(
            db(), settings(), g.api_tenant_id, endpoint_id, g.api_key_name, hours=hours
        )
    except LookupError:
        return problem(404, "not_found", "No such webhook endpoint.")
    except admin_actions.ActionError as exc:
        return problem(
            422, "invalid_rotation", "The secret cannot be rotated.", exc.problems[0], problems=exc.problems
        )
    db().commit()
    return jsonify(_body(rotated.endpoint, rotated.secret))
