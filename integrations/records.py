"""Vendor-neutral records: what adapters read from vendors and what the pipeline writes back.

Every record carries the vendor it came from and that vendor's id (`external_id`). References to other
records use the same vendor's ids (`account_external_id`, `ticket_external_id`). `deleted=True` means the
vendor reports the record deleted or archived; the store soft-deletes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Vendor = Literal["salesforce", "hubspot", "zendesk"]
MetricValue = float | bool | date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRecord:
    """A CRM account / HubSpot company / Zendesk organization."""

    vendor: Vendor
    external_id: str
    name: str
    domains: tuple[str, ...] = ()
    cross_ref: str | None = (
        None  # the other system's id this record names (SF Account Id in a Zendesk org ...)
    )
    segment: str | None = None
    plan: str | None = None
    owner: str | None = None  # the owner's display name
    owner_email: str | None = None  # maps a rep's login to "My accounts"
    arr: Decimal | None = None
    arr_prev: Decimal | None = None
    renewal_date: date | None = None
    status: str | None = None  # e.g. "active", "churned" when the CRM says so
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)  # tenant-mapped extra fields
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRecord:
    vendor: Vendor
    external_id: str
    account_external_id: str | None
    email: str | None
    name: str
    last_contacted_at: datetime | None = None
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DealRecord:
    vendor: Vendor
    external_id: str
    account_external_id: str | None
    name: str
    kind: Literal["new_business", "renewal", "upsell", "other"] = "other"
    amount: Decimal | None = None
    stage: str = ""  # the vendor's stage label/id
    stage_label: str | None = None  # what people read when `stage` is an id (HubSpot pipelines API)
    is_closed: bool = False
    is_won: bool = False
    close_date: date | None = None
    created_at: datetime | None = None
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRecord:
    """A Zendesk ticket, Salesforce Case or HubSpot ticket, with the metrics the vendor computes."""

    vendor: Vendor
    external_id: str
    account_external_id: str | None  # CRM account (SF/HubSpot) or Zendesk organization id
    requester_email: str | None = None
    number: str | None = None  # the number people quote when the vendor has one apart from the id
    subject: str = ""
    description: str = ""
    status: str = ""  # normalised: new|open|pending|solved|closed
    priority: str = "normal"  # normalised: low|normal|high|urgent
    escalated: bool = False
    reopens: int = 0
    group: str | None = None
    created_at: datetime
    solved_at: datetime | None = None
    first_reply_minutes: float | None = None
    full_resolution_minutes: float | None = None
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentRecord:
    vendor: Vendor
    external_id: str
    ticket_external_id: str
    author_role: Literal["customer", "agent"]
    public: bool = True
    body: str
    created_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyRecord:
    """A CSAT (1..5) or NPS (0..10) response."""

    vendor: Vendor
    external_id: str
    kind: Literal["csat", "nps"]
    score: float
    account_external_id: str | None = None
    ticket_external_id: str | None = None
    contact_email: str | None = None
    comment: str = ""
    responded_at: datetime
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricChangeRecord:
    """One change of a mapped account metric field, read from the CRM's field history (Salesforce
    AccountHistory, HubSpot propertiesWithHistory): `metric` (the tenant's metric name, e.g. "active_users")
    took `value` at `changed_at`. `old_value`: the value before, where the vendor says (Salesforce does;
    HubSpot lists every value set, the first one included, so it is not needed there).

    The store keeps today's value on the account; these rows let a backtest know what the field said on a
    past date (seat usage as of then) instead of leaving the metric out."""

    vendor: Vendor
    external_id: str  # stable per change: the history row's id (Salesforce) or account:property:timestamp
    account_external_id: str
    metric: str
    value: float | None
    old_value: float | None = None
    changed_at: datetime
    updated_at: datetime
    deleted: bool = False


Record = (
    AccountRecord
    | ContactRecord
    | DealRecord
    | TicketRecord
    | CommentRecord
    | SurveyRecord
    | MetricChangeRecord
)

# The logical score fields the product writes; each adapter maps them to its own field names.
SCORE_FIELDS: tuple[str, ...] = (
    "health_score",
    "health_band",
    "health_trend_30d",
    "health_drivers",
    "sentiment_30d",
    "recommended_action",
    "health_scored_at",
    "health_model_version",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreWrite:
    """One account's changed score fields to write (keys from SCORE_FIELDS)."""

    account_external_id: str
    values: Mapping[str, str | float | datetime | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    account_external_id: str
    ok: bool
    error_code: str | None = None
    message: str | None = None
    retryable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """What ensure_fields did for one logical field."""

    key: str
    vendor_name: str
    action: Literal["created", "exists"]
