"""sObject describe and the writes our product makes: single-record PATCH, sObject Collections update
(allOrNone, per-record errors, row faults) and Tooling API CustomField creation.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from integrations.sandbox.context import Fault, SandboxContext
from integrations.sandbox.salesforce.render import account_index
from integrations.sandbox.salesforce.schema import (
    CUSTOM_TYPES,
    DATA,
    HISTORY_OBJECT,
    KEY_PREFIX,
    NUMERIC,
    RELATIONS,
    STRINGY,
    UNFILTERABLE,
    VENDOR,
    SalesforceApiError,
    _b62,
    _canonical,
    _next_seq,
    field_types,
)
from integrations.sandbox.salesforce.soql_parser import _parse_dt

# ----------------------------------------------------------------------------------------------------------
# Describe, record writes, Tooling
# ----------------------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return name.removesuffix("__c").replace("_", " ")


# Standard fields whose Salesforce label is not their API name split into words.
_STANDARD_LABELS = {"IsDeleted": "Deleted", "IsClosed": "Closed", "IsWon": "Won", "StageName": "Stage"}


def _field_label(name: str, sobject: str) -> str:
    """A field's label as Salesforce's describe gives it: a custom field's from its metadata (else its name
    without __c, underscores as spaces); a standard field's API name in words with ID for Id ('Account ID',
    'Annual Revenue', 'Owner ID', 'Created Date', 'Deleted')."""
    if "_" in name:
        return _label(name)
    if name == "Id":
        return f"{_label(sobject)} ID"
    if name in _STANDARD_LABELS:
        return _STANDARD_LABELS[name]
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name) or [name]
    return " ".join("ID" if w == "Id" else w for w in words)


def describe(ctx: SandboxContext, sobject: str) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    readonly: set[str] = vs.extra.setdefault("readonly_fields", set())
    fields = []
    for name, ftype in field_types(vs, sobject).items():
        meta = vs.custom_fields.get(name, {}) if sobject == "Account" else {}
        system = name in (
            "Id",
            "IsDeleted",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
            "CaseNumber",
        )
        computed = name in ("IsClosed", "IsWon", "Name") and sobject in ("Opportunity", "Contact")
        updateable = not system and not computed and name not in readonly and sobject != HISTORY_OBJECT
        rel = next((r for r, (_, fk) in RELATIONS[sobject].items() if fk == name), None)
        fields.append(
            {
                "name": name,
                "label": meta.get("label") or _field_label(name, sobject),
                "type": ftype,
                "custom": name.endswith("__c"),
                "updateable": updateable,
                "createable": updateable,
                "nillable": name not in ("Id", "IsDeleted", "Name"),
                "filterable": ftype != "textarea" and ftype not in UNFILTERABLE,
                "sortable": ftype != "textarea",
                "calculated": False,
                "externalId": False,
                "unique": False,
                "idLookup": name == "Id",
                "length": int(meta.get("length", 255 if ftype in STRINGY else 0)),
                "precision": int(meta.get("precision", 18 if ftype in NUMERIC else 0)),
                "scale": int(meta.get("scale", 2 if ftype in NUMERIC else 0)),
                "digits": 0,
                "referenceTo": [RELATIONS[sobject][rel][0]] if rel else [],
                "relationshipName": rel,
                "picklistValues": [
                    {"active": True, "defaultValue": False, "label": v["label"], "value": v["value"]}
                    for v in meta.get("picklist", [])
                ],
            }
        )
    return {
        "name": sobject,
        "label": _label(sobject),
        "labelPlural": _label(sobject) + "s",
        "keyPrefix": KEY_PREFIX[sobject],
        "custom": sobject.endswith("__c"),
        # history rows are written by Salesforce alone
        "createable": sobject != HISTORY_OBJECT,
        "updateable": sobject != HISTORY_OBJECT,
        "deletable": sobject != HISTORY_OBJECT,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "fields": fields,
        "childRelationships": [],
        "recordTypeInfos": [],
        "urls": {
            "sobject": f"{DATA}/sobjects/{sobject}",
            "describe": f"{DATA}/sobjects/{sobject}/describe",
            "rowTemplate": f"{DATA}/sobjects/{sobject}/{{ID}}",
        },
    }


def _coerce(name: str, ftype: str, value: Any, length: int) -> tuple[Any, str | None]:
    """(stored value, per-record error code) for one written value; raises for whole-request JSON errors."""
    if value is None:
        return None, None
    if ftype in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value), None
                except ValueError:
                    pass
            raise SalesforceApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of double from VALUE_STRING value {value} or request may be "
                "missing a required field",
            )
        return float(value), None
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}"
            )
        return value, None
    if ftype in ("datetime", "date"):
        try:
            parsed = _parse_dt(str(value)) if ftype == "datetime" else date.fromisoformat(str(value))
        except ValueError as exc:
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize value of type {ftype} from String {value!r}"
            ) from exc
        return parsed, None
    text = str(value)
    if length and len(text) > length:
        return None, "STRING_TOO_LONG"
    return text, None


def update_records(
    ctx: SandboxContext,
    sobject_default: str,
    records: list[dict[str, Any]],
    all_or_none: bool,
    row_fault: Fault | None,
) -> list[dict[str, Any]]:
    """sObject Collections update semantics: per-record SaveResults in request order."""
    vs = ctx.vendors[VENDOR]
    accounts = account_index(ctx)
    types = field_types(vs, "Account")
    canon = _canonical(types)
    describe_fields = {f["name"]: f for f in describe(ctx, "Account")["fields"]}
    planned: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]] = []
    for index, rec in enumerate(records):
        attrs = rec.get("attributes") or {}
        sobject = attrs.get("type") or sobject_default
        if sobject != "Account":
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported for update here"
            )
        rid = rec.get("id") or rec.get("Id")
        values: dict[str, Any] = {}
        error: dict[str, Any] | None = None
        for key, value in rec.items():
            if key in ("attributes", "id", "Id"):
                continue
            name = canon.get(key.lower())
            if name is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type Account"
                )
            meta = describe_fields[name]
            stored, code = _coerce(name, types[name], value, int(meta.get("length") or 0))
            if not meta["updateable"] and error is None:
                error = _err(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [name],
                )
            if code and error is None:
                error = _err(
                    code, f"{meta['label']}: data value too large (max length={meta['length']})", [name]
                )
            values[name] = stored
        if error is None:
            error = _id_error(rid, accounts)
        if error is None and row_fault is not None and _row_rejected(row_fault, rid, index):
            error = _err(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION", row_fault.message or "Rejected by a validation rule", []
            )
        planned.append((rid, values, error))
    failed = any(err is not None for _, _, err in planned)
    results = []
    for rid, values, error in planned:
        if all_or_none and failed:
            err = error or _err(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
                [],
            )
            results.append({"id": rid, "success": False, "errors": [err]})
            continue
        if error is not None:
            results.append({"success": False, "errors": [error]})
            continue
        _apply_write(ctx, str(rid), values)
        results.append({"id": rid, "success": True, "errors": []})
    return results


def _err(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields}


def _row_rejected(fault: Fault, rid: Any, index: int) -> bool:
    return rid in fault.ids or (fault.every > 0 and (index + 1) % fault.every == 0)


def _id_error(rid: Any, accounts: dict[str, bool]) -> dict[str, Any] | None:
    if not rid:
        return _err("MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not isinstance(rid, str) or len(rid) not in (15, 18) or not rid.startswith(KEY_PREFIX["Account"]):
        return _err("MALFORMED_ID", f"Account ID: id value of incorrect type: {rid}", ["Id"])
    deleted = accounts.get(rid)
    if deleted is None:
        return _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if deleted:
        return _err("ENTITY_IS_DELETED", "entity is deleted", [])
    return None


def _apply_write(ctx: SandboxContext, rid: str, values: dict[str, Any]) -> None:
    vs = ctx.vendors[VENDOR]
    written = vs.written.setdefault(rid, {})
    written.update(values)
    # Our own write bumps SystemModstamp, as a real update does.
    vs.extra.setdefault("modstamps", {})[rid] = ctx.book.now
    vs.extra["writes"] = int(vs.extra.get("writes", 0)) + 1  # render.rendered: cached Account rows are stale


CUSTOM_FIELD_RE = re.compile(r"^Account\.([A-Za-z][A-Za-z0-9_]*__c)$")


def create_custom_field(ctx: SandboxContext, body: Any) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    if "CustomizeApplication" in vs.extra.setdefault("missing_permissions", set()):
        raise SalesforceApiError(
            403,
            "INSUFFICIENT_ACCESS",
            "insufficient access rights on object id: the user needs the Customize Application permission",
        )
    if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", "The request body is not a CustomField with Metadata"
        )
    full_name = str(body.get("FullName") or "")
    m = CUSTOM_FIELD_RE.match(full_name)
    if not m:
        raise SalesforceApiError(
            400, "INVALID_FIELD", f"Invalid FullName for a custom field on Account: {full_name}"
        )
    name = m.group(1)
    meta = body["Metadata"]
    ftype = meta.get("type")
    if ftype not in CUSTOM_TYPES:
        raise SalesforceApiError(
            400, "FIELD_INTEGRITY_EXCEPTION", f"Field type: bad value for restricted picklist field: {ftype}"
        )
    existing = {n.lower() for n in field_types(vs, "Account")}
    if name.lower() in existing:
        raise SalesforceApiError(
            400,
            "DUPLICATE_DEVELOPER_NAME",
            f"There is already a field named {name.removesuffix('__c')} on Account.",
        )
    picklist = [  # a value's label defaults to its API name, as in Setup
        {"value": v.get("fullName"), "label": v.get("label") or v.get("fullName")}
        for v in (meta.get("valueSet") or {}).get("valueSetDefinition", {}).get("value", [])
        if isinstance(v, dict)
    ]
    fid = "00N5g" + _b62(_next_seq(vs)).rjust(10, "0") + "AAA"
    vs.custom_fields[name] = {
        "id": fid,
        "label": meta.get("label") or _label(name),
        "type": ftype,
        "length": meta.get("length", 0),
        "precision": meta.get("precision", 0),
        "scale": meta.get("scale", 0),
        "picklist": picklist,
    }
    return {"id": fid, "success": True, "errors": [], "warnings": [], "infos": []}
