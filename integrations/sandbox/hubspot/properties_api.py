"""CRM v3 property and property-group routes: list, read and create (our product's custom properties)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.api import HubSpotError, _body, _json, _require, _validation
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import _state
from integrations.sandbox.hubspot.render import property_defs
from integrations.sandbox.hubspot.schema import BUILTIN_GROUPS, TYPE_IDS

# --- properties --------------------------------------------------------------------------------------------

_PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_FIELD_TYPES = {
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "html",
    "file",
    "phonenumber",
}


def _register_properties(app: Flask, ctx: SandboxContext, object_type: str) -> None:
    base = f"/crm/v3/properties/{object_type}"
    read_scope = f"crm.schemas.{object_type}.read"
    write_scope = f"crm.schemas.{object_type}.write"

    def _groups() -> dict[str, dict[str, Any]]:
        groups = _state(ctx).extra.setdefault("groups", {}).setdefault(object_type, {})
        builtin = BUILTIN_GROUPS[object_type]
        return {
            builtin: {"name": builtin, "label": builtin.title(), "displayOrder": -1, "archived": False},
            **groups,
        }

    def list_properties() -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            return _json({"results": list(property_defs(ctx, object_type).values())})

    def get_property(name: str) -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            prop = property_defs(ctx, object_type).get(name)
        if prop is None:
            raise HubSpotError(
                404,
                f"Unable to find property named '{name}' for object type {TYPE_IDS[object_type]}",
                "OBJECT_NOT_FOUND",
            )
        return _json(prop)

    def create_property() -> Response:
        body = _body()
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: a property definition object is required")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise _validation(f"Invalid input JSON: missing required field(s) {', '.join(missing)}")
        if body["type"] not in _PROPERTY_TYPES or body["fieldType"] not in _FIELD_TYPES:
            raise _validation(f"Invalid type/fieldType combination: {body['type']}/{body['fieldType']}")
        if body["type"] == "enumeration" and not body.get("options"):
            raise _validation("Enumeration properties need at least one option")
        with ctx.lock:
            _require(ctx, write_scope)
            name = str(body["name"])
            if name in property_defs(ctx, object_type):
                raise HubSpotError(
                    409,
                    f"Property named '{name}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                    subCategory="PropertyValidationError.PROPERTY_EXISTS",
                )
            if body["groupName"] not in _groups():
                raise _validation(f"Property group '{body['groupName']}' does not exist.")
            now = hs_time(ctx.now)
            prop = {
                "name": name,
                "label": body["label"],
                "type": body["type"],
                "fieldType": body["fieldType"],
                "description": body.get("description", ""),
                "groupName": body["groupName"],
                "options": [
                    {
                        "label": o.get("label", o.get("value")),
                        "value": o.get("value"),
                        "displayOrder": o.get("displayOrder", i),
                        "hidden": bool(o.get("hidden", False)),
                    }
                    for i, o in enumerate(body.get("options") or [])
                ],
                "displayOrder": body.get("displayOrder", -1),
                "calculated": False,
                "externalOptions": False,
                "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
                "hidden": bool(body.get("hidden", False)),
                "hubspotDefined": False,
                "modificationMetadata": {
                    "archivable": True,
                    "readOnlyDefinition": False,
                    "readOnlyValue": False,
                },
                "formField": bool(body.get("formField", False)),
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "objectType": object_type,
            }
            _state(ctx).custom_fields[name] = prop
        return _json({k: v for k, v in prop.items() if k != "objectType"}, 201)

    def list_groups() -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            return _json({"results": list(_groups().values())})

    def create_group() -> Response:
        body = _body()
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise _validation("Invalid input JSON: name and label are required")
        with ctx.lock:
            _require(ctx, write_scope)
            name = str(body["name"])
            if name in _groups():
                raise HubSpotError(
                    409, f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            group = {
                "name": name,
                "label": body["label"],
                "displayOrder": body.get("displayOrder", -1),
                "archived": False,
            }
            _state(ctx).extra.setdefault("groups", {}).setdefault(object_type, {})[name] = group
        return _json(group, 201)

    app.add_url_rule(base, f"{object_type}_props", list_properties, methods=["GET"])
    app.add_url_rule(base, f"{object_type}_props_create", create_property, methods=["POST"])
    app.add_url_rule(f"{base}/groups", f"{object_type}_groups", list_groups, methods=["GET"])
    app.add_url_rule(f"{base}/groups", f"{object_type}_groups_create", create_group, methods=["POST"])
    app.add_url_rule(f"{base}/<name>", f"{object_type}_prop", get_property, methods=["GET"])
