"""Control-API hooks of the Zendesk sandbox: ground truth, the values our product wrote, and the signed
event webhooks (`zen:event-type:...`) a change produces.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.book import Changes, Ticket
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.signing import sign
from integrations.sandbox.zendesk.state import VENDOR, _digest, _iso, _state, org_id, ticket_id
from integrations.sandbox.zendesk.view import _View

# ------------------------------------------------------------------------------------ truth / inspection


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Ground truth: Zendesk organization and ticket ids → the customer they really belong to."""
    with ctx.lock:
        book = ctx.book

        def owner(key: str) -> str:
            c = book.customers.get(key)
            return c.zendesk.duplicate_of if c is not None and c.zendesk.duplicate_of else key

        view = _View(ctx, "")
        accounts = {str(org_id(c.key)): owner(c.key) for c in view.zendesk_customers()}
        tickets = {str(ticket_id(t.key)): owner(t.customer_key) for t in view.zendesk_tickets()}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext) -> dict[str, dict[str, object]]:
    """Every organization field value our product wrote, by organization id."""
    with ctx.lock:
        return {oid: dict(values) for oid, values in _state(ctx).written.items()}


# --------------------------------------------------------------------------------------- outbound webhooks


def outbound_webhooks(ctx: SandboxContext, changes: Changes) -> list[tuple[str, dict[str, str], bytes]]:
    """Zendesk-signed webhooks for the zendesk-channel tickets and ratings this change touched."""
    with ctx.lock:
        state = _state(ctx)
        if state.webhook_url is None:
            return []
        view = _View(ctx, ctx.base_urls.get(VENDOR, "https://example.zendesk.com"))
        events: list[tuple[str, str, dict[str, Any]]] = []
        for key in sorted(changes.tickets | (changes.deleted & set(ctx.book.tickets))):
            t = ctx.book.tickets.get(key)
            if t is None or t.channel != "zendesk":
                continue
            kind = (
                "ticket.created"
                if t.created_at == t.updated_at and t.deleted_at is None
                else "ticket.updated"
            )
            events.append((kind, f"zen:ticket:{ticket_id(t.key)}", _ticket_detail(view, t)))
        for key in sorted(changes.surveys):
            s = ctx.book.surveys.get(key)
            t = ctx.book.tickets.get(s.ticket_key or "") if s is not None else None
            if s is None or t is None or s.kind != "csat" or s.score == 3 or t.channel != "zendesk":
                continue
            detail = {**view.rating(s, t), "organization_id": view.ticket_org(t)}
            events.append(("satisfaction.rated", f"zen:ticket:{ticket_id(t.key)}", detail))
        out = []
        for kind, subject, detail in events:
            body = json.dumps(
                {
                    "account_id": 360_000_001,
                    "detail": detail,
                    "event": {},
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subject}|{kind}|{_iso(ctx.now)}")),
                    "subject": subject,
                    "time": _iso(ctx.now),
                    "type": f"zen:event-type:{kind}",
                    "zendesk_event_version": "2022-11-06",
                },
                separators=(",", ":"),
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Zendesk-Webhook-Id": "01HSANDBOX" + _digest(state.webhook_url)[:16].upper(),
                "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid5(uuid.NAMESPACE_OID, body.decode())),
                # Zendesk stamps the signature with the moment it sends (real time), not with the event's time;
                # the simulated clock belongs to the payload only.
                **sign(state.webhook_secret, _iso(datetime.now(UTC)) or "", body),
            }
            out.append((state.webhook_url, headers, body))
        return out


def _ticket_detail(view: _View, t: Ticket) -> dict[str, Any]:
    body = view.ticket(t)
    keys = ("id", "subject", "status", "priority", "organization_id", "requester_id", "assignee_id", "tags")
    detail = {k: body[k] for k in keys}
    detail.update(created_at=body["created_at"], updated_at=body["updated_at"], type=body["type"])
    detail["id"] = str(detail["id"])
    return detail
