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
    }
    if secret is not None:
        out["secret"] = secret  # only in the create/rotate response
    return out


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
    return jsonify({"data": [_body(ep) for ep in readmodels.webhook_endpoints(db(), g.api_tenant_id)]})


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
    ep = readmodels.webhook_endpoint(db(), g.api_tenant_id, endpoint_id)
    if ep is None:
        return problem(404, "not_found", "No such webhook endpoint.")
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
    try:
        rotated = admin_actions.rotate_secret(db(), settings(), g.api_tenant_id, endpoint_id, g.api_key_name)
    except LookupError:
        return problem(404, "not_found", "No such webhook endpoint.")
    db().commit()
    return jsonify(_body(rotated.endpoint, rotated.secret))
