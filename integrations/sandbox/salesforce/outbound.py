"""Control-API hooks of the Salesforce sandbox: ground truth, the values our product wrote, and the
Outbound Messages (SOAP `notifications`) it sends for changed Accounts, Cases and Opportunities.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from integrations.sandbox.book import Changes
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.ids import salesforce_id
from integrations.sandbox.salesforce.query import _json_value
from integrations.sandbox.salesforce.render import _crm_tickets, hashed_id, rendered
from integrations.sandbox.salesforce.schema import API_VERSION, VENDOR
from integrations.sandbox.salesforce.soap import MAX_PER_MESSAGE, Notification, notifications_request

# ----------------------------------------------------------------------------------------------------------
# Control-API hooks: ground truth, written fields, outbound messages
# ----------------------------------------------------------------------------------------------------------


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Which Account/Case is which customer (ground truth for linking checks)."""
    with ctx.lock:
        book = ctx.book
        accounts = {
            salesforce_id("Account", c.key): c.salesforce.duplicate_of or c.key
            for c in book.customers.values()
            if c.salesforce.present
        }
        tickets = {salesforce_id("Case", t.key): t.customer_key for t in _crm_tickets(book)}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext, ids: Collection[str] | None = None) -> dict[str, dict[str, object]]:
    """Current value of every custom field our product wrote, by Account Id (JSON-ready; only `ids` when
    given, for a benchmark that polls one record)."""
    with ctx.lock:
        written = ctx.vendors[VENDOR].written
        rids = written.keys() if ids is None else [rid for rid in ids if rid in written]
        return {rid: {k: _json_value(v) for k, v in written[rid].items()} for rid in rids}


_OM_FIELDS = {
    "Account": ("Id", "Name", "SystemModstamp"),
    "Case": ("Id", "AccountId", "Status", "Priority", "SystemModstamp"),
    "Opportunity": ("Id", "AccountId", "StageName", "Amount", "SystemModstamp"),
}


def _soap_message(
    ctx: SandboxContext, sobject: str, rows: list[dict[str, Any]]
) -> tuple[dict[str, str], bytes]:
    vs = ctx.vendors[VENDOR]
    oid = vs.extra["org_id"]
    base = ctx.base_urls.get(VENDOR, "https://127.0.0.1")
    action = "04k5g" + hashed_id("User", f"outbound-action-{sobject}")[5:]
    notes = [
        Notification(
            id="04l5g" + hashed_id("User", f"notification-{row['Id']}-{row['SystemModstamp']}")[5:],
            sobject=sobject,
            fields={
                name: None if row.get(name) is None else str(_json_value(row.get(name)))
                for name in _OM_FIELDS[sobject]
            },
        )
        for row in rows
    ]
    return notifications_request(
        oid,
        action,
        notes,
        enterprise_url=f"{base}/services/Soap/c/{API_VERSION}/{oid}",
        partner_url=f"{base}/services/Soap/u/{API_VERSION}/{oid}",
    )


def outbound_webhooks(ctx: SandboxContext, changes: Changes) -> list[tuple[str, dict[str, str], bytes]]:
    """Outbound Messages (SOAP `notifications`, ≤100 each) for changed Accounts, Cases and Opportunities.

    Salesforce signs nothing: receivers check `OrganizationId` against the tenant's org (see soap.py),
    so the headers are the ones Salesforce sends.
    """
    vs = ctx.vendors[VENDOR]
    if vs.webhook_url is None:
        return []
    out: list[tuple[str, dict[str, str], bytes]] = []
    with ctx.lock:
        wanted = {
            "Account": {salesforce_id("Account", k) for k in changes.customers - changes.deleted},
            "Case": {salesforce_id("Case", k) for k in changes.tickets - changes.deleted},
            "Opportunity": {salesforce_id("Opportunity", k) for k in changes.deals - changes.deleted},
        }
        for sobject, ids in wanted.items():
            if not ids:
                continue
            rows = [r for r in rendered(ctx, sobject) if r["Id"] in ids and not r["IsDeleted"]]
            rows.sort(key=lambda r: r["Id"])
            for start in range(0, len(rows), MAX_PER_MESSAGE):
                headers, body = _soap_message(ctx, sobject, rows[start : start + MAX_PER_MESSAGE])
                out.append((vs.webhook_url, headers, body))
    return out
