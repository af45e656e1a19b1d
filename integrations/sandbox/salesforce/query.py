"""Running SOQL over the rendered rows: JSON formatting of records, `query`/`queryAll` pages and the
query locators behind `nextRecordsUrl`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Any

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.salesforce.render import _attach_relations, rendered
from integrations.sandbox.salesforce.schema import (
    DATA,
    MAX_LOCATORS,
    MIN_BATCH,
    PAGE_SIZE,
    RELATIONS,
    VENDOR,
    SalesforceApiError,
    _b62,
    _next_seq,
    field_types,
)
from integrations.sandbox.salesforce.soql_eval import Resolved, compile_query, order_rows
from integrations.sandbox.salesforce.soql_parser import Cond, FieldRef

# ----------------------------------------------------------------------------------------------------------
# Serialising records
# ----------------------------------------------------------------------------------------------------------


def sf_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime format: 2024-01-31T09:30:00.000+0000."""
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _attributes(sobject: str, rid: str) -> dict[str, str]:
    return {"type": sobject, "url": f"{DATA}/sobjects/{sobject}/{rid}"}


def project(sobject: str, row: dict[str, Any], select: list[Resolved]) -> dict[str, Any]:
    """The JSON record for one row: attributes first, then the selected fields in query order."""
    out: dict[str, Any] = {"attributes": _attributes(sobject, row["Id"])}
    for res in select:
        if res.relation is None:
            out[res.name] = _json_value(row.get(res.name))
            continue
        parent_obj = RELATIONS[sobject][res.relation][0]
        parent = row.get("__rel__", {}).get(res.relation)
        if parent is None:
            out[res.relation] = None
            continue
        sub = out.get(res.relation) or {"attributes": _attributes(parent_obj, parent["Id"])}
        sub[res.name] = _json_value(parent.get(res.name))
        out[res.relation] = sub
    return out


def full_record(ctx: SandboxContext, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(sobject, row["Id"])}
    for name in field_types(ctx.vendors[VENDOR], sobject):
        out[name] = _json_value(row.get(name))
    return out


# ----------------------------------------------------------------------------------------------------------
# Query execution and locators
# ----------------------------------------------------------------------------------------------------------


def run_query(ctx: SandboxContext, soql: str, include_deleted: bool) -> tuple[str, list[dict[str, Any]]]:
    """All records a query returns (a snapshot, as Salesforce's query cursor is)."""
    vs = ctx.vendors[VENDOR]
    compiled = compile_query(vs, soql)
    sobject = compiled.query.sobject
    rows = rendered(ctx, sobject)  # shared rows (a served sandbox caches them): never changed here
    if not include_deleted:
        rows = [r for r in rows if not r.get("IsDeleted")]
    used = {r.relation for r in [*compiled.select, *(o[0] for o in compiled.order)] if r.relation}
    used |= _relations_in(compiled.query.where)
    if used:
        rows = [dict(r) for r in rows]  # the relations go on copies
        _attach_relations(ctx, sobject, rows, {_rel_name(sobject, u) for u in used})
    rows = [r for r in rows if compiled.predicate(r)]
    rows.sort(key=lambda r: r["Id"])
    rows = order_rows(rows, compiled.order)
    rows = rows[compiled.query.offset :]
    if compiled.query.limit is not None:
        rows = rows[: compiled.query.limit]
    return sobject, [project(sobject, r, compiled.select) for r in rows]


def _relations_in(cond: Cond | None) -> set[str]:
    if cond is None:
        return set()
    if cond.op in ("and", "or", "not"):
        out: set[str] = set()
        for c in cond.parts:
            out |= _relations_in(c)
        return out
    ref: FieldRef = cond.parts[0]
    return {ref.path.split(".")[0]} if "." in ref.path else set()


def _rel_name(sobject: str, written: str) -> str:
    return {r.lower(): r for r in RELATIONS[sobject]}[written.lower()]


def _batch_size(header: str | None) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", header or "", re.IGNORECASE)
    if not m:
        return PAGE_SIZE
    return max(MIN_BATCH, min(PAGE_SIZE, int(m.group(1))))


def _page(ctx: SandboxContext, qid: str, offset: int, endpoint: str) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    locators: OrderedDict[str, dict[str, Any]] = vs.extra["locators"]
    entry = locators.get(qid)
    if entry is None or offset < 0 or offset > len(entry["records"]):
        raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    locators.move_to_end(qid)
    records = entry["records"]
    size = entry["batch"]
    chunk = records[offset : offset + size]
    end = offset + len(chunk)
    body: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"{DATA}/{endpoint}/{qid}-{end}"
    body["records"] = chunk
    return body


def start_query(ctx: SandboxContext, soql: str, include_deleted: bool, batch: int) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    _, records = run_query(ctx, soql, include_deleted)
    seq = _next_seq(vs)
    qid = "01g5g" + _b62(seq).rjust(10, "0") + "AAA"
    locators: OrderedDict[str, dict[str, Any]] = vs.extra["locators"]
    locators[qid] = {"records": records, "batch": batch}
    while len(locators) > MAX_LOCATORS:
        locators.popitem(last=False)  # Salesforce also expires old cursors (INVALID_QUERY_LOCATOR)
    return _page(ctx, qid, 0, "queryAll" if include_deleted else "query")
