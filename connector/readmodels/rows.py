"""Row values the account, support and API reads share: history points, tickets, surveys, deals, links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store import models as m


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPoint:
    as_of: datetime
    score: float
    band: str
    model_version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRow:
    id: int
    vendor: str
    external_id: str
    subject: str
    status: str
    priority: str
    group_name: str | None
    created_at: datetime
    sentiment_label: str | None
    sentiment_score: float | None
    sentiment_excerpt: str | None
    account_name: str | None = None
    crm_account_id: int | None = None
    number: str | None = None
    url: str | None = None  # the ticket in its own help desk


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyRow:
    kind: str
    score: float
    responded_at: datetime
    comment: str
    vendor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DealRow:
    name: str
    kind: str
    amount: Decimal | None
    stage: str
    is_closed: bool
    is_won: bool
    close_date: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordLink:
    vendor: str
    label: str
    url: str


def ticket_row(
    t: m.Ticket, account_name: str | None = None, bases: dict[str, str] | None = None
) -> TicketRow:
    return TicketRow(
        id=t.id,
        vendor=t.vendor,
        external_id=t.external_id,
        subject=t.subject,
        status=t.status,
        priority=t.priority,
        group_name=t.group_name,
        created_at=t.vendor_created_at,
        sentiment_label=t.sentiment_label,
        sentiment_score=t.sentiment_score,
        sentiment_excerpt=t.sentiment_excerpt,
        account_name=account_name,
        crm_account_id=t.crm_account_id,
        number=t.number,
        url=ticket_url(t.vendor, t.external_id, (bases or {}).get(t.vendor, "")),
    )


HUBSPOT_WEB = "https://app.hubspot.com"


def web_base(inst: m.Installation) -> str:
    """Where a browser opens this installation's records: the instance URL (Salesforce `/lightning/r/…`,
    Zendesk `/agent/…`) or HubSpot's app. An installation's `settings["web_url"]` overrides it: the demo
    points it at the emulators' plain-HTTP record pages (integrations/sandbox/pages.py), which answer the
    same deep-link paths, because the emulators' API servers know no such pages and serve TLS with a
    throwaway CA a browser does not trust."""
    override = (inst.settings or {}).get("web_url")
    if isinstance(override, str) and override.startswith(("http://", "https://")):
        return override.rstrip("/")
    return HUBSPOT_WEB if inst.vendor == "hubspot" else (inst.base_url or "").rstrip("/")


def _base(inst: m.Installation) -> str:
    """What a deep link starts with; HubSpot's carry the portal (hub) id, and none exists without it."""
    if inst.vendor == "hubspot":
        return f"{web_base(inst)}/contacts/{inst.vendor_account}" if inst.vendor_account else ""
    return web_base(inst)


def ticket_bases(session: Session, tenant_id: int) -> dict[str, str]:
    """Per vendor, what a record's deep link starts with (`web_base`; HubSpot's with `/contacts/<portal>`)."""
    return {
        inst.vendor: _base(inst)
        for inst in session.scalars(select(m.Installation).where(m.Installation.tenant_id == tenant_id))
    }


def ticket_url(vendor: str, external_id: str, base: str) -> str | None:
    """The ticket in the agent's own tool (Zendesk agent view, Salesforce Lightning, HubSpot record)."""
    if vendor == "zendesk" and base:
        return f"{base}/agent/tickets/{external_id}"
    if vendor == "salesforce" and base:
        return f"{base}/lightning/r/Case/{external_id}/view"
    if vendor == "hubspot" and base:
        return f"{base}/record/0-5/{external_id}"
    return None


def record_links(session: Session, tenant_id: int, accounts: list[m.Account]) -> list[RecordLink]:
    """Deep links to each record in its own system (needs the installation's base URL / portal id)."""
    bases = ticket_bases(session, tenant_id)
    links = []
    for acc in accounts:
        base = bases.get(acc.vendor, "")
        if acc.vendor == "salesforce" and base:
            links.append(
                RecordLink(
                    vendor="salesforce",
                    label="Open in Salesforce",
                    url=f"{base}/lightning/r/Account/{acc.external_id}/view",
                )
            )
        elif acc.vendor == "hubspot" and base:
            links.append(
                RecordLink(vendor="hubspot", label="Open in HubSpot", url=f"{base}/company/{acc.external_id}")
            )
        elif acc.vendor == "zendesk" and base:
            links.append(
                RecordLink(
                    vendor="zendesk",
                    label=f"Open {acc.name} in Zendesk",
                    url=f"{base}/agent/organizations/{acc.external_id}",
                )
            )
    return links
