"""Control-API hooks of the HubSpot sandbox: ground truth, the values our product wrote, and the v3-signed
webhook events (property changes, creations, deletions) a change produces.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection
from typing import Any

from integrations.sandbox.book import Changes
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.formats import _ms
from integrations.sandbox.hubspot.index import _crm_tickets, _hub_customers, _state, company_id
from integrations.sandbox.hubspot.schema import DEAL_STAGES, TICKET_STAGES, numeric_id
from integrations.sandbox.hubspot.signing import sign_v3

# ---------------------------------------------------------------------------------------------------------
# Ground truth, state inspection, webhooks
# ---------------------------------------------------------------------------------------------------------


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Which customer each HubSpot company and ticket truly belongs to."""
    with ctx.lock:
        accounts = {company_id(c.key): c.hubspot.duplicate_of or c.key for c in _hub_customers(ctx).values()}
        tickets = {numeric_id("ticket", t.key): t.customer_key for t in _crm_tickets(ctx)}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext, ids: Collection[str] | None = None) -> dict[str, dict[str, object]]:
    """Current value of every property our product wrote, by HubSpot record id (only `ids` when given: a
    benchmark polling one record every 10 ms copied the whole portal's values under the lock each time)."""
    with ctx.lock:
        written = _state(ctx).written
        if ids is not None:
            return {rid: dict(written[rid]) for rid in ids if rid in written}
        return {rid: dict(values) for rid, values in written.items()}


_EVENT_LOCK = threading.Lock()


def _events(ctx: SandboxContext, changes: Changes) -> list[dict[str, Any]]:
    state = _state(ctx)
    occurred = _ms(ctx.now)
    events: list[dict[str, Any]] = []
    customers = _hub_customers(ctx)

    def add(sub_type: str, object_id: str, prop: str | None = None, value: str | None = None) -> None:
        with _EVENT_LOCK:
            state.extra["event_seq"] = state.extra.get("event_seq", 0) + 1
            seq = state.extra["event_seq"]
        event: dict[str, Any] = {
            "eventId": seq,
            "subscriptionId": 100 + sorted(_SUBSCRIPTIONS).index(sub_type),
            "portalId": state.extra["portal_id"],
            "appId": state.extra["app_id"],
            "occurredAt": occurred,
            "subscriptionType": sub_type,
            "attemptNumber": 0,
            "objectId": int(object_id),
            "changeSource": "CRM",
        }
        if prop is not None:
            event["propertyName"] = prop
            event["propertyValue"] = value
        events.append(event)

    for key in sorted(changes.customers):
        c = customers.get(key)
        if c is not None and key not in changes.deleted:
            add("company.propertyChange", company_id(key), "name", c.hubspot.name or c.name)
    for key in sorted(changes.deals):
        d = ctx.book.deals.get(key)
        if d is not None and key not in changes.deleted:
            add(
                "deal.propertyChange", numeric_id("deal", key), "dealstage", DEAL_STAGES.get(d.stage, d.stage)
            )
    for key in sorted(changes.tickets):
        t = ctx.book.tickets.get(key)
        if t is None or t.channel != "crm" or key in changes.deleted:
            continue
        if t.created_at == t.updated_at:
            add("ticket.creation", numeric_id("ticket", key))
        else:
            add(
                "ticket.propertyChange",
                numeric_id("ticket", key),
                "hs_pipeline_stage",
                TICKET_STAGES.get(t.status, "1"),
            )
    for key in sorted(changes.deleted):
        if key in ctx.book.customers and key in customers:
            add("company.deletion", company_id(key))
        elif key in ctx.book.deals:
            add("deal.deletion", numeric_id("deal", key))
        elif key in ctx.book.tickets and ctx.book.tickets[key].channel == "crm":
            add("ticket.deletion", numeric_id("ticket", key))
        elif key in ctx.book.contacts:
            add("contact.deletion", numeric_id("contact", key))
    return events


_SUBSCRIPTIONS = (
    "company.propertyChange",
    "company.deletion",
    "contact.deletion",
    "deal.propertyChange",
    "deal.deletion",
    "ticket.creation",
    "ticket.propertyChange",
    "ticket.deletion",
)


def outbound_webhooks(
    ctx: SandboxContext, changes: Changes, now_ms: int | None = None
) -> list[tuple[str, dict[str, str], bytes]]:
    """The v3-signed webhook POSTs HubSpot would send for `changes` (≤ 100 events per request).

    `X-HubSpot-Request-Timestamp` is wall-clock time (receivers reject stale timestamps against their own
    clock); `occurredAt` is the sandbox clock.
    """
    state = _state(ctx)
    url = state.webhook_url
    if not url:
        return []
    with ctx.lock:
        events = _events(ctx, changes)
    stamp = now_ms if now_ms is not None else int(time.time() * 1000)
    out = []
    for i in range(0, len(events), 100):
        body = json.dumps(events[i : i + 100], separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            **sign_v3(state.webhook_secret or state.oauth.client_secret, "POST", url, body, stamp),
        }
        out.append((url, headers, body))
    return out
