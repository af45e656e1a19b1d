"""Tasks through sObject Collections: `POST composite/sobjects` creates, `PATCH composite/sobjects` with
`attributes.type = "Task"` updates (e.g. Status=Completed). Semantics from the REST API guide
("sObject Collections", "Create Multiple Records", "Update Multiple Records") and the Object Reference
(Task): per-record SaveResults in request order, HTTP 200 even when records fail, allOrNone rolls back
every record, ≤ 200 records a call; `WhatId` must name a live record (here: an Account), `OwnerId` a User
(the calling user when omitted), `Status`/`Priority` are restricted picklists, `IsClosed` follows Status.

Created tasks live in `VendorState.extra["tasks"]` (id → row) and render.py lists them, so
`SELECT Id, Subject, Status FROM Task WHERE WhatId = '…'` and `sobjects/Task/<id>` see them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.salesforce.render import render_accounts, render_users
from integrations.sandbox.salesforce.schema import (
    KEY_PREFIX,
    VENDOR,
    SalesforceApiError,
    _b62,
    _canonical,
    _next_seq,
)

STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED = frozenset({"Completed"})
PRIORITIES = ("High", "Normal", "Low")
WRITABLE = ("WhatId", "OwnerId", "Subject", "Description", "ActivityDate", "Status", "Priority")
LENGTHS = {"Subject": 255, "Description": 32000}
COUNTER = f"{VENDOR}.tasks"  # a second ledger: task calls, for the write-back benchmark


def _err(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields}


def _values(rec: dict[str, Any]) -> dict[str, Any]:
    """The record's Task fields by canonical name; unknown or read-only fields refuse the whole call."""
    canon = _canonical({n: "" for n in WRITABLE})
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if key in ("attributes", "id", "Id"):
            continue
        name = canon.get(key.lower())
        if name is None:
            raise SalesforceApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type Task")
        if name == "ActivityDate" and value is not None:
            try:
                value = date.fromisoformat(str(value))
            except ValueError as exc:
                raise SalesforceApiError(
                    400, "JSON_PARSER_ERROR", f"Cannot deserialize value of type date from String {value!r}"
                ) from exc
        out[name] = value
    return out


def _row_error(ctx: SandboxContext, values: dict[str, Any], creating: bool) -> dict[str, Any] | None:
    accounts = {r["Id"]: r for r in render_accounts(ctx)} if "WhatId" in values or creating else {}
    what = values.get("WhatId")
    if creating and not what:
        return _err("REQUIRED_FIELD_MISSING", "Required fields are missing: [WhatId]", ["WhatId"])
    if what is not None and (what not in accounts or accounts[what]["IsDeleted"]):
        return _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["WhatId"])
    owner = values.get("OwnerId")
    known = owner is None or owner == ctx.vendors[VENDOR].extra.get("user_id")
    if not known and owner not in {u["Id"] for u in render_users(ctx)}:
        return _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
    if values.get("Status") is not None and values["Status"] not in STATUSES:
        return _err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Status: bad value for restricted picklist field: "
            f"{values['Status']}", ["Status"],
        )  # fmt: skip
    if values.get("Priority") is not None and values["Priority"] not in PRIORITIES:
        return _err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Priority: bad value for restricted picklist field: {values['Priority']}",
            ["Priority"],
        )
    for name, limit in LENGTHS.items():
        text = values.get(name)
        if isinstance(text, str) and len(text) > limit:
            return _err("STRING_TOO_LONG", f"{name}: data value too large (max length={limit})", [name])
    return None


def _check_type(records: list[Any]) -> None:
    for rec in records:
        kind = (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
        if kind != "Task":
            raise SalesforceApiError(
                400,
                "INVALID_TYPE",
                f"sObject type '{kind}' is not supported here: this sandbox creates and updates Tasks in "
                "sObject Collections (Accounts are updated on their own)",
            )


def _finish(
    planned: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]], all_or_none: bool
) -> list[tuple[str | None, dict[str, Any], dict[str, Any] | None, bool]]:
    """(id, values, error, apply?) per record once allOrNone is taken into account."""
    failed = any(err is not None for _, _, err in planned)
    rolled = _err(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        [],
    )
    out = []
    for rid, values, err in planned:
        if all_or_none and failed:
            out.append((rid, values, err or rolled, False))
        else:
            out.append((rid, values, err, err is None))
    return out


def create_tasks(ctx: SandboxContext, records: list[Any], all_or_none: bool) -> list[dict[str, Any]]:
    """POST composite/sobjects: new Tasks, one SaveResult per record in order."""
    _check_type(records)
    vs = ctx.vendors[VENDOR]
    planned: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]] = []
    for rec in records:
        values = _values(rec)
        err = (
            _err("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            if rec.get("id") or rec.get("Id")
            else _row_error(ctx, values, creating=True)
        )
        planned.append((None, values, err))
    store: dict[str, dict[str, Any]] = vs.extra.setdefault("tasks", {})
    results = []
    for _, values, err, apply in _finish(planned, all_or_none):
        if not apply:
            results.append({"id": None, "success": False, "errors": [err]})
            continue
        rid = KEY_PREFIX["Task"] + "5g" + _b62(_next_seq(vs)).rjust(10, "0") + "AAA"
        status = values.get("Status") or "Not Started"
        store[rid] = {
            "Id": rid,
            "IsDeleted": False,
            "WhatId": values["WhatId"],
            "OwnerId": values.get("OwnerId") or vs.extra.get("user_id"),
            "Subject": values.get("Subject"),
            "Description": values.get("Description"),
            "ActivityDate": values.get("ActivityDate"),
            "Status": status,
            "Priority": values.get("Priority") or "Normal",
            "IsClosed": status in CLOSED,
            "CreatedDate": ctx.now,
            "LastModifiedDate": ctx.now,
            "SystemModstamp": ctx.now,
        }
        results.append({"id": rid, "success": True, "errors": []})
    return results


def update_tasks(ctx: SandboxContext, records: list[Any], all_or_none: bool) -> list[dict[str, Any]]:
    """PATCH composite/sobjects with Task records: field updates, one SaveResult per record in order."""
    _check_type(records)
    store: dict[str, dict[str, Any]] = ctx.vendors[VENDOR].extra.setdefault("tasks", {})
    planned: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]] = []
    for rec in records:
        rid = rec.get("id") or rec.get("Id")
        values = _values(rec)
        err: dict[str, Any] | None
        if not rid:
            err = _err("MISSING_ARGUMENT", "Id not specified in an update call", [])
        elif rid not in store:
            err = _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        else:
            err = _row_error(ctx, values, creating=False)
        planned.append((rid, values, err))
    results = []
    for rid, values, err, apply in _finish(planned, all_or_none):
        if not apply:
            results.append({"id": rid if all_or_none else None, "success": False, "errors": [err]})
            continue
        row = store[str(rid)]
        row.update(values)
        row["IsClosed"] = row["Status"] in CLOSED
        row["LastModifiedDate"] = row["SystemModstamp"] = ctx.now
        results.append({"id": rid, "success": True, "errors": []})
    return results


def is_task_collection(records: Any) -> bool:
    """Whether a collection body carries Task records (the PATCH route serves Accounts and Tasks)."""
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and (r.get("attributes") or {}).get("type") == "Task" for r in records)
    )
