"""Pure mapping between HubSpot CRM objects and the vendor-neutral records, plus the tenant's field mapping.

Tenant settings (`Connection.settings`, all optional; defaults work on the sandbox book):

| key | default | meaning |
|---|---|---|
| `cross_ref_property` | `zendesk_org_id` | company property holding the Zendesk organization id |
| `arr_property` / `arr_prev_property` | `arr` / `arr_previous` | company ARR now / a year ago |
| `renewal_date_property` | `renewal_date` | company renewal date |
| `segment_property` | `customer_segment` | company segment |
| `plan_property` | `plan` | company plan |
| `owner_property` | `hubspot_owner_id` | company owner |
| `status_property` | `customer_status` | company status ("active", "churned"); empty → None |
| `metric_properties` | `{"active_users": "number", "licensed_seats": "number"}` | extra company properties mapped in as metrics; type number, bool or date |
| `deal_type_map` | newbusiness/new → new_business, renewal/existingbusiness → renewal, upsell → upsell | `dealtype` value → DealRecord.kind |
| `closed_won_stages` / `closed_lost_stages` | `["closedwon"]` / `["closedlost"]` | deal stages that are closed |
| `ticket_status_map` | 1 → new, 2 → pending, 3 → open, 4 → closed | `hs_pipeline_stage` → normalised status |
| `ticket_priority_map` | LOW → low, MEDIUM → normal, HIGH → high, URGENT → urgent | |
| `band_options` | `["green", "yellow", "red"]` | options of the `healthscore_band` enumeration |
| `property_group` | `healthscore` | group our properties are created in |
| `deletes_interval_minutes` | `60` | incremental reads list archived (deleted) records at most this often |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from integrations.records import (
    AccountRecord,
    CommentRecord,
    ContactRecord,
    DealRecord,
    MetricValue,
    SurveyRecord,
    TicketRecord,
)
from scoring import band_names

VENDOR: Literal["hubspot"] = "hubspot"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One value a property was set to (`propertiesWithHistory`), as sent: the value and its timestamp text."""

    value: str | None
    timestamp: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HubRecord:
    """One CRM object as read: id, string property values, archive time (None: live)."""

    id: str
    properties: Mapping[str, str | None]
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # associations a list page inlined
    history: Mapping[str, tuple[HistoryEntry, ...]] = field(default_factory=dict)  # newest first, if asked


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreProperty:
    """One property our product writes: its HubSpot definition."""

    key: str  # logical key from records.SCORE_FIELDS
    name: str
    label: str
    type: str
    field_type: str


SCORE_PROPERTIES: tuple[ScoreProperty, ...] = (
    ScoreProperty(
        key="health_score", name="healthscore_score", label="Health score", type="number", field_type="number"
    ),
    ScoreProperty(
        key="health_band",
        name="healthscore_band",
        label="Health band",
        type="enumeration",
        field_type="select",
    ),
    ScoreProperty(
        key="health_trend_30d",
        name="healthscore_trend_30d",
        label="Health trend (30 days)",
        type="number",
        field_type="number",
    ),
    ScoreProperty(
        key="health_drivers",
        name="healthscore_drivers",
        label="Health drivers",
        type="string",
        field_type="textarea",
    ),
    ScoreProperty(
        key="sentiment_30d",
        name="healthscore_sentiment_30d",
        label="Support sentiment (30 days)",
        type="number",
        field_type="number",
    ),
    ScoreProperty(
        key="recommended_action",
        name="healthscore_recommended_action",
        label="Recommended action",
        type="string",
        field_type="text",
    ),
    ScoreProperty(
        key="health_scored_at",
        name="healthscore_scored_at",
        label="Health scored at",
        type="datetime",
        field_type="date",
    ),
    ScoreProperty(
        key="health_model_version",
        name="healthscore_model_version",
        label="Health model version",
        type="string",
        field_type="text",
    ),
)
PROPERTY_BY_KEY = {p.key: p for p in SCORE_PROPERTIES}

_DEAL_TYPES = {
    "newbusiness": "new_business",
    "new": "new_business",
    "new_business": "new_business",
    "renewal": "renewal",
    "existingbusiness": "renewal",
    "upsell": "upsell",
}
_TICKET_STATUS = {"1": "new", "2": "pending", "3": "open", "4": "closed"}
_TICKET_PRIORITY = {"LOW": "low", "MEDIUM": "normal", "HIGH": "high", "URGENT": "urgent"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The tenant's HubSpot field mapping (see the module docstring for keys and defaults)."""

    cross_ref_property: str = "zendesk_org_id"
    arr_property: str = "arr"
    arr_prev_property: str = "arr_previous"
    renewal_date_property: str = "renewal_date"
    segment_property: str = "customer_segment"
    plan_property: str = "plan"
    owner_property: str = "hubspot_owner_id"
    status_property: str = "customer_status"
    metric_properties: Mapping[str, str] = field(
        default_factory=lambda: {"active_users": "number", "licensed_seats": "number"}
    )
    deal_type_map: Mapping[str, str] = field(default_factory=lambda: dict(_DEAL_TYPES))
    closed_won_stages: tuple[str, ...] = ("closedwon",)
    closed_lost_stages: tuple[str, ...] = ("closedlost",)
    ticket_status_map: Mapping[str, str] = field(default_factory=lambda: dict(_TICKET_STATUS))
    ticket_priority_map: Mapping[str, str] = field(default_factory=lambda: dict(_TICKET_PRIORITY))
    band_options: tuple[str, ...] = ("green", "yellow", "red")
    property_group: str = "healthscore"
    deletes_interval_minutes: float = 60.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        """Settings from `Connection.settings`; unknown keys are ignored, list values become tuples."""
        known = set(cls.__dataclass_fields__)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                continue
            values[key] = tuple(value) if isinstance(value, list) else value
        return cls(**values)

    def company_properties(self) -> list[str]:
        base = ["name", "domain", "hs_lastmodifieddate", "createdate"]
        mapped = [
            self.cross_ref_property,
            self.arr_property,
            self.arr_prev_property,
            self.renewal_date_property,
            self.segment_property,
            self.plan_property,
            self.owner_property,
            self.status_property,
        ]
        return list(dict.fromkeys([*base, *mapped, *self.metric_properties]))


CONTACT_PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "associatedcompanyid",
    "notes_last_contacted",
    "lastmodifieddate",
]
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "dealstage",
    "dealtype",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
]
TICKET_PROPERTIES = [
    "subject",
    "content",
    "hs_pipeline_stage",
    "hs_ticket_priority",
    "createdate",
    "closed_date",
    "time_to_close",
    "time_to_first_agent_reply",
    "hs_lastmodifieddate",
]
EMAIL_PROPERTIES = [
    "hs_email_text",
    "hs_email_direction",
    "hs_timestamp",
    "hs_createdate",
    "hs_lastmodifieddate",
]
NOTE_PROPERTIES = ["hs_note_body", "hs_timestamp", "hs_createdate", "hs_lastmodifieddate"]
FEEDBACK_PROPERTIES = [
    "hs_survey_type",
    "hs_response_value",
    "hs_content",
    "hs_submission_timestamp",
    "hs_contact_email_address",
    "hs_lastmodifieddate",
]


# --- value parsing ---------------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """A HubSpot datetime: ISO-8601 ("2026-03-02T12:00:00.000Z") or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: str | None) -> date | None:
    moment = parse_time(value) if value and ("T" in value or value.isdigit()) else None
    if moment is not None:
        return moment.date()
    return date.fromisoformat(value) if value else None


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def typed_date(value: str | None) -> date | None:
    """A date from a property the tenant mapped (renewal date, date metrics): it may be a text property
    people type into, so an unreadable value ("soon", a 20-digit number) is no date, not a failed read."""
    try:
        return parse_date(value)
    except (ValueError, OverflowError, OSError):
        return None


def _minutes(ms: str | None) -> float | None:
    number = parse_decimal(ms)
    return float(number) / 60_000 if number is not None else None


def _metric(value: str | None, kind: str) -> MetricValue:
    if value is None or value == "":
        return None
    if kind == "bool":
        return value.lower() == "true"
    if kind == "date":
        return typed_date(value)
    number = parse_decimal(value)
    return float(number) if number is not None else None


def _updated(rec: HubRecord, prop: str) -> datetime:
    """Modification time: the property, else updatedAt, else the archive time (archived rows carry little)."""
    return (
        parse_time(rec.properties.get(prop))
        or rec.updated_at
        or rec.archived_at
        or datetime.fromtimestamp(0, tz=UTC)
    )


# --- HubSpot → records ----------------------------------------------------------------------------------


def to_account(rec: HubRecord, s: Settings) -> AccountRecord:
    p = rec.properties
    domain = (p.get("domain") or "").strip().lower()
    return AccountRecord(
        vendor=VENDOR,
        external_id=rec.id,
        name=p.get("name") or "",
        domains=(domain,) if domain else (),
        cross_ref=p.get(s.cross_ref_property) or None,
        segment=p.get(s.segment_property) or None,
        plan=p.get(s.plan_property) or None,
        owner=p.get(s.owner_property) or None,
        arr=parse_decimal(p.get(s.arr_property)),
        arr_prev=parse_decimal(p.get(s.arr_prev_property)),
        renewal_date=typed_date(p.get(s.renewal_date_property)),
        status=p.get(s.status_property) or None,
        metrics={name: _metric(p.get(name), kind) for name, kind in s.metric_properties.items()},
        updated_at=_updated(rec, "hs_lastmodifieddate"),
        deleted=rec.archived_at is not None,
    )


def to_contact(rec: HubRecord) -> ContactRecord:
    p = rec.properties
    name = " ".join(x for x in (p.get("firstname"), p.get("lastname")) if x)
    return ContactRecord(
        vendor=VENDOR,
        external_id=rec.id,
        account_external_id=p.get("associatedcompanyid") or None,
        email=(p.get("email") or "").lower() or None,
        name=name,
        last_contacted_at=parse_time(p.get("notes_last_contacted")),
        updated_at=_updated(rec, "lastmodifieddate"),
        deleted=rec.archived_at is not None,
    )


def to_deal(rec: HubRecord, account: str | None, s: Settings) -> DealRecord:
    p = rec.properties
    stage = p.get("dealstage") or ""
    kind = s.deal_type_map.get((p.get("dealtype") or "").lower(), "other")
    won = stage in s.closed_won_stages
    closed_at = parse_time(p.get("closedate"))
    return DealRecord(
        vendor=VENDOR,
        external_id=rec.id,
        account_external_id=account,
        name=p.get("dealname") or "",
        kind=kind if kind in ("new_business", "renewal", "upsell") else "other",  # type: ignore[arg-type]
        amount=parse_decimal(p.get("amount")),
        stage=stage,
        is_closed=won or stage in s.closed_lost_stages,
        is_won=won,
        close_date=closed_at.date() if closed_at else None,
        created_at=parse_time(p.get("createdate")),
        updated_at=_updated(rec, "hs_lastmodifieddate"),
        deleted=rec.archived_at is not None,
    )


def to_ticket(rec: HubRecord, account: str | None, s: Settings) -> TicketRecord:
    p = rec.properties
    created = parse_time(p.get("createdate")) or _updated(rec, "hs_lastmodifieddate")
    return TicketRecord(
        vendor=VENDOR,
        external_id=rec.id,
        account_external_id=account,
        subject=p.get("subject") or "",
        description=p.get("content") or "",
        status=s.ticket_status_map.get(p.get("hs_pipeline_stage") or "", "open"),
        priority=s.ticket_priority_map.get((p.get("hs_ticket_priority") or "").upper(), "normal"),
        created_at=created,
        solved_at=parse_time(p.get("closed_date")),
        first_reply_minutes=_minutes(p.get("time_to_first_agent_reply")),
        full_resolution_minutes=_minutes(p.get("time_to_close")),
        updated_at=_updated(rec, "hs_lastmodifieddate"),
        deleted=rec.archived_at is not None,
    )


def to_comment(rec: HubRecord, kind: str, ticket: str) -> CommentRecord:
    """An e-mail (`kind="emails"`) or note on a ticket. Incoming e-mail is the customer; the rest agents."""
    p = rec.properties
    if kind == "emails":
        role = "customer" if p.get("hs_email_direction") == "INCOMING_EMAIL" else "agent"
        body, public = p.get("hs_email_text") or "", True
    else:
        role, body, public = "agent", p.get("hs_note_body") or "", False
    return CommentRecord(
        vendor=VENDOR,
        external_id=rec.id,
        ticket_external_id=ticket,
        author_role=role,  # type: ignore[arg-type]
        public=public,
        body=body,
        created_at=parse_time(p.get("hs_timestamp"))
        or parse_time(p.get("hs_createdate"))
        or _updated(rec, "hs_lastmodifieddate"),
        deleted=rec.archived_at is not None,
    )


def to_survey(rec: HubRecord, account: str | None, ticket: str | None) -> SurveyRecord | None:
    """NPS or CSAT feedback; other survey types (CES, custom) are skipped (None)."""
    p = rec.properties
    kind = (p.get("hs_survey_type") or "").lower()
    score = parse_decimal(p.get("hs_response_value"))
    if kind not in ("nps", "csat") or score is None or not math.isfinite(float(score)):
        return None
    updated = _updated(rec, "hs_lastmodifieddate")
    return SurveyRecord(
        vendor=VENDOR,
        external_id=rec.id,
        kind=kind,  # type: ignore[arg-type]
        score=float(score),
        account_external_id=account,
        ticket_external_id=ticket,
        contact_email=(p.get("hs_contact_email_address") or "").lower() or None,
        comment=p.get("hs_content") or "",
        responded_at=parse_time(p.get("hs_submission_timestamp")) or updated,
        updated_at=updated,
        deleted=rec.archived_at is not None,
    )


# --- records → HubSpot ----------------------------------------------------------------------------------


def format_value(value: str | float | datetime | None) -> str:
    """A score value as HubSpot wants it: datetimes in epoch ms, numbers plain, None clears ("")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def score_properties(values: Mapping[str, str | float | datetime | None]) -> dict[str, str]:
    """Logical score keys → our HubSpot property names and values (unknown keys are skipped)."""
    return {PROPERTY_BY_KEY[k].name: format_value(v) for k, v in values.items() if k in PROPERTY_BY_KEY}


def property_definition(prop: ScoreProperty, s: Settings) -> dict[str, Any]:
    """The body of `POST /crm/v3/properties/companies` for one of our properties."""
    body: dict[str, Any] = {
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": prop.field_type,
        "groupName": s.property_group,
        "description": f"Written by healthscore ({prop.key}).",
    }
    if prop.type == "enumeration":
        body["options"] = [
            {"label": band_names.colour(o), "value": o, "displayOrder": i, "hidden": False}
            for i, o in enumerate(s.band_options)
        ]
    return body
