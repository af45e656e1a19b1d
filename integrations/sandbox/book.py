"""The vendor-neutral book of business behind the three vendor sandboxes.

One `Book` is the single source of truth; each vendor sandbox renders it in that vendor's wire format
(its own ids, names and field shapes) and keeps only its vendor-side state (tokens, values our product
wrote, faults). `seed.generate_book` fills it deterministically; `seed.advance` moves its clock and adds
activity. Ground truth (latent health, outcome, which vendor record is which customer) lives here and
is exposed only through the control API.

Which system carries what (so a tenant with one CRM + Zendesk sees every fact exactly once):
- Salesforce and HubSpot each mirror ALL customers, contacts, deals, CRM-channel tickets and surveys.
- Zendesk carries the zendesk-channel tickets, their comments and their CSAT (satisfaction ratings).
- NPS lives in the CRMs only (Zendesk has no NPS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Segment = Literal["smb", "mid_market", "enterprise"]
Channel = Literal["zendesk", "crm"]
AuthorRole = Literal["customer", "agent"]


@dataclass(slots=True)
class Presence:
    """How one customer shows up in one vendor: the identity mess real books have."""

    present: bool = True
    name: str = ""  # may differ from Customer.name (renames, suffixes, typos)
    domains: list[str] = field(default_factory=list)  # website/domain(s); may be empty, free-mail or shared
    # Zendesk: organization.external_id (holds the Salesforce Account Id when the legacy sync set it);
    # CRMs: the Zendesk organization id kept in a custom field/property. None = not set.
    cross_ref: bool = False
    duplicate_of: str | None = None  # set on a duplicate record: the key of the customer it duplicates
    updated_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(slots=True)
class Customer:
    """A customer account with its hidden health and ground-truth outcome."""

    key: str  # stable book key, e.g. "C000042"
    name: str
    domain: str  # the customer's real e-mail domain (contacts use it unless free-mail)
    segment: Segment
    plan: str  # "starter" | "growth" | "enterprise"
    industry: str
    owner: str  # account owner (a rep's name)
    arr: Decimal
    arr_prev: Decimal  # ARR a year ago
    created_at: datetime
    renewal_date: date
    active_users: int  # product usage a tenant keeps in its CRM (a mappable metric)
    licensed_seats: int
    latent_health: float  # 0..1 today; drives every signal; ground truth only
    health_path: list[tuple[date, float]] = field(default_factory=list)  # history of latent health
    # the CRM field history of active_users: (when set, value), oldest first; the product's usage export
    # writes the month's active users on the 1st (seed_model.monthly_active_users)
    usage_path: list[tuple[datetime, int]] = field(default_factory=list)
    outcome: Literal["renewed", "churned"] | None = None  # None while the renewal is ahead
    outcome_date: date | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    salesforce: Presence = field(default_factory=Presence)
    hubspot: Presence = field(default_factory=Presence)
    zendesk: Presence = field(default_factory=Presence)


@dataclass(slots=True)
class Contact:
    key: str
    customer_key: str
    first_name: str
    last_name: str
    email: str  # may be free-mail (gmail.com ...) rather than the customer's domain
    title: str
    last_contacted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(slots=True)
class Deal:
    key: str
    customer_key: str
    name: str
    kind: Literal["new_business", "renewal", "upsell"]
    amount: Decimal
    stage: str  # neutral stage: prospecting|qualification|proposal|negotiation|closed_won|closed_lost
    close_date: date
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(slots=True)
class Comment:
    key: str
    ticket_key: str
    author_role: AuthorRole
    author_email: str
    author_name: str
    public: bool
    body: str  # plain text as a mail client sends it: greetings, quotes, signatures included
    html_body: str
    created_at: datetime


@dataclass(slots=True)
class Ticket:
    key: str
    customer_key: str
    channel: Channel
    requester_email: str
    subject: str
    priority: Literal["low", "normal", "high", "urgent"]
    status: Literal["new", "open", "pending", "solved", "closed"]
    escalated: bool
    reopens: int
    group: str  # agent group, e.g. "Billing", "Tier 2"
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    first_reply_minutes: int | None
    full_resolution_minutes: int | None
    tone: Literal["angry", "negative", "neutral", "positive", "mixed"]  # ground truth of the thread's mood
    comments: list[Comment] = field(default_factory=list)
    deleted_at: datetime | None = None


@dataclass(slots=True)
class Survey:
    key: str
    customer_key: str
    kind: Literal["csat", "nps"]
    score: int  # CSAT: 1..5 (Zendesk renders >=4 as "good", <=2 as "bad", 3 is not sent); NPS: 0..10
    comment: str
    contact_email: str
    ticket_key: str | None  # CSAT only
    responded_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Book:
    """Everything the sandboxes serve, plus the sandbox clock."""

    seed: int
    now: datetime  # the sandbox clock (timezone-aware UTC); vendors stamp modifications with it
    customers: dict[str, Customer] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    surveys: dict[str, Survey] = field(default_factory=dict)


@dataclass(slots=True)
class Changes:
    """What one `seed.advance` (a sandbox tick) changed, by collection; drives vendor webhooks out."""

    customers: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    deals: set[str] = field(default_factory=set)
    tickets: set[str] = field(default_factory=set)
    surveys: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)  # keys (any collection) deleted in this tick

    def empty(self) -> bool:
        return not (
            self.customers or self.contacts or self.deals or self.tickets or self.surveys or self.deleted
        )
