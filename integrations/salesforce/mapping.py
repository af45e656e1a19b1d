"""Pure mapping between Salesforce rows and vendor-neutral records, driven by the tenant's field map.

Tenant settings (`Connection.settings`, all optional; defaults work on the sandbox book):

| key | default | meaning |
|---|---|---|
| `arr_field` | `AnnualRevenue` | Account currency field holding ARR (or a custom one such as `ARR__c`) |
| `arr_prev_field` | `ARR_Prior_Year__c` | ARR a year ago (null disables) |
| `renewal_date_field` | `Renewal_Date__c` | Account date field with the next renewal |
| `segment_field` | `Segment__c` | picklist: SMB / Mid-Market / Enterprise (normalised to smb/mid_market/enterprise) |
| `plan_field` | `Plan__c` | the customer's plan |
| `status_field` | `Type` | "Former Customer" (or churned/former) → status "churned", anything else → "active" |
| `zendesk_org_field` | `Zendesk_Organization_Id__c` | the Zendesk organization id kept on the Account |
| `metric_fields` | `{"active_users": "Active_Users__c", "licensed_seats": "Licensed_Seats__c"}` | any numeric, boolean or date Account fields mapped in as scoring metrics; the changes of the numeric ones come from AccountHistory (field history tracking on) |
| `survey_object` | `Survey_Response__c` | custom object with CSAT/NPS responses (null: the org keeps none) |
| `survey_fields` | see `DEFAULT_SURVEY_FIELDS` | type/score/comment/account/case/email/responded_at field names on it |
| `renewal_types`, `upsell_types`, `new_business_types` | Opportunity `Type` values | decide DealRecord.kind |
| `score_fields` | `DEFAULT_SCORE_FIELDS` | where each logical score field is written on Account |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from integrations.base import Stream
from integrations.records import (
    SCORE_FIELDS,
    AccountRecord,
    CommentRecord,
    ContactRecord,
    DealRecord,
    MetricChangeRecord,
    Record,
    ScoreWrite,
    SurveyRecord,
    TicketRecord,
)
from scoring import band_names

VENDOR: Literal["salesforce"] = "salesforce"
T = TypeVar("T")

DEFAULT_SCORE_FIELDS: Mapping[str, str] = {
    "health_score": "Health_Score__c",
    "health_band": "Health_Band__c",
    "health_trend_30d": "Health_Trend_30d__c",
    "health_drivers": "Health_Drivers__c",
    "sentiment_30d": "Sentiment_30d__c",
    "recommended_action": "Health_Recommended_Action__c",
    "health_scored_at": "Health_Scored_At__c",
    "health_model_version": "Health_Model_Version__c",
}
DEFAULT_SURVEY_FIELDS: Mapping[str, str] = {
    "type": "Type__c",
    "score": "Score__c",
    "comment": "Comment__c",
    "account": "Account__c",
    "case": "Case__c",
    "email": "Contact_Email__c",
    "responded_at": "Responded_At__c",
}
DEFAULT_METRICS: Mapping[str, str] = {
    "active_users": "Active_Users__c",
    "licensed_seats": "Licensed_Seats__c",
}

# Tooling API CustomField metadata for each logical score field (created by ensure_fields).
FIELD_METADATA: Mapping[str, Mapping[str, Any]] = {
    "health_score": {"label": "Health Score", "type": "Number", "precision": 5, "scale": 1},
    "health_band": {
        "label": "Health Band",
        "type": "Picklist",
        "valueSet": {
            "restricted": False,
            "valueSetDefinition": {
                "sorted": False,
                "value": [
                    {"fullName": v, "label": band_names.colour(v), "default": False}
                    for v in ("green", "yellow", "red")
                ],
            },
        },
    },
    "health_trend_30d": {"label": "Health Trend 30d", "type": "Number", "precision": 5, "scale": 1},
    "health_drivers": {"label": "Health Drivers", "type": "LongTextArea", "length": 1000, "visibleLines": 4},
    "sentiment_30d": {"label": "Sentiment 30d", "type": "Number", "precision": 5, "scale": 3},
    "recommended_action": {"label": "Health Recommended Action", "type": "Text", "length": 255},
    "health_scored_at": {"label": "Health Scored At", "type": "DateTime"},
    "health_model_version": {"label": "Health Model Version", "type": "Text", "length": 64},
}
TEXT_LIMITS = {
    "health_drivers": 1000,
    "recommended_action": 255,
    "health_model_version": 64,
    "health_band": 255,
}
ROUNDING = {"health_score": 1, "health_trend_30d": 1, "sentiment_30d": 3}

SEGMENTS = {"smb": "smb", "mid-market": "mid_market", "mid market": "mid_market", "enterprise": "enterprise"}
KNOWN_KEYS = frozenset(
    {
        "arr_field",
        "arr_prev_field",
        "renewal_date_field",
        "segment_field",
        "plan_field",
        "status_field",
        "zendesk_org_field",
        "metric_fields",
        "survey_object",
        "survey_fields",
        "renewal_types",
        "upsell_types",
        "new_business_types",
        "score_fields",
    }
)


class MappingError(ValueError):
    """A row lacks a field we need or carries a value we cannot read (a malformed vendor response)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldMap:
    """The tenant's Salesforce field mapping with defaults filled in."""

    arr_field: str = "AnnualRevenue"
    arr_prev_field: str | None = "ARR_Prior_Year__c"
    renewal_date_field: str | None = "Renewal_Date__c"
    segment_field: str | None = "Segment__c"
    plan_field: str | None = "Plan__c"
    status_field: str | None = "Type"
    zendesk_org_field: str | None = "Zendesk_Organization_Id__c"
    metric_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_METRICS))
    survey_object: str | None = "Survey_Response__c"
    survey_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SURVEY_FIELDS))
    renewal_types: tuple[str, ...] = ("Renewal",)
    upsell_types: tuple[str, ...] = ("Existing Customer - Upgrade", "Upsell", "Expansion")
    new_business_types: tuple[str, ...] = ("New Customer", "New Business")
    score_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SCORE_FIELDS))


def field_map(settings: Mapping[str, Any]) -> FieldMap:
    """Build the FieldMap from tenant settings; every problem is reported at once.

    Raises:
        ValueError: unknown keys or values of the wrong type (all listed).
    """
    problems = [f"unknown Salesforce setting {k!r}" for k in settings if k not in KNOWN_KEYS]
    values: dict[str, Any] = {}
    for key in KNOWN_KEYS & settings.keys():
        raw = settings[key]
        if key in ("metric_fields", "survey_fields", "score_fields"):
            if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
                problems.append(f"{key} must map names to Salesforce field names")
                continue
            base = {"survey_fields": DEFAULT_SURVEY_FIELDS, "score_fields": DEFAULT_SCORE_FIELDS}.get(key, {})
            values[key] = {**base, **raw}
        elif key.endswith("_types"):
            if isinstance(raw, str) or not isinstance(raw, Sequence):
                problems.append(f"{key} must be a list of Opportunity Type values")
                continue
            values[key] = tuple(str(v) for v in raw)
        elif raw is not None and not isinstance(raw, str):
            problems.append(f"{key} must be a Salesforce field name or null")
        else:
            values[key] = raw
    if values.get("arr_field", "x") is None:
        problems.append("arr_field cannot be null")
    if problems:
        raise ValueError("; ".join(sorted(problems)))
    return FieldMap(**values)


HISTORY_OBJECT = "AccountHistory"


def objects_for(stream: Stream, fmap: FieldMap) -> tuple[str, ...]:
    """The sObjects one stream reads, in order."""
    return {
        Stream.ACCOUNTS: ("Account",),
        Stream.ACCOUNT_HISTORY: (HISTORY_OBJECT,) if fmap.metric_fields else (),
        Stream.CONTACTS: ("Contact",),
        Stream.DEALS: ("Opportunity",),
        Stream.TICKETS: ("Case",),
        Stream.COMMENTS: ("CaseComment", "EmailMessage"),
        Stream.SURVEYS: (fmap.survey_object,) if fmap.survey_object else (),
    }[stream]


def account_fields(fmap: FieldMap) -> list[str]:
    """Account fields the tenant mapping reads (besides the fixed ones)."""
    optional = [
        fmap.arr_field,
        fmap.arr_prev_field,
        fmap.renewal_date_field,
        fmap.segment_field,
        fmap.plan_field,
        fmap.status_field,
        fmap.zendesk_org_field,
        *fmap.metric_fields.values(),
    ]
    return [f for f in dict.fromkeys(optional) if f]


def select_fields(sobject: str, fmap: FieldMap) -> list[str]:
    """The SELECT list for one sObject."""
    audit = ["IsDeleted", "CreatedDate", "SystemModstamp"]
    fixed = {
        "Account": ["Id", "Name", "Website", "Owner.Name", "Owner.Email", *audit, *account_fields(fmap)],
        "Contact": ["Id", "AccountId", "Name", "Email", "LastActivityDate", *audit],
        "Opportunity": [
            "Id", "AccountId", "Name", "Type", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", *audit,
        ],
        "Case": [
            "Id", "AccountId", "CaseNumber", "Subject", "Description", "Status", "Priority", "IsEscalated",
            "SuppliedEmail", "IsClosed", "ClosedDate", *audit,
        ],
        "CaseComment": ["Id", "ParentId", "CommentBody", "IsPublished", "CreatedBy.UserType", *audit],
        "EmailMessage": ["Id", "ParentId", "Incoming", "TextBody", "MessageDate", *audit],
    }  # fmt: skip
    if sobject in fixed:
        return list(dict.fromkeys(fixed[sobject]))
    if sobject == HISTORY_OBJECT:
        return ["Id", "AccountId", "Field", "OldValue", "NewValue", "CreatedDate", "IsDeleted"]
    if fmap.survey_object and sobject == fmap.survey_object:
        return list(dict.fromkeys(["Id", *fmap.survey_fields.values(), *audit]))
    raise ValueError(f"no field list for {sobject}")


# ---- value readers ---------------------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """Salesforce JSON datetimes (2024-01-31T09:30:00.000+0000) as aware UTC datetimes."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(f"expected a datetime string, got {type(value).__name__}")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError as exc:
            raise MappingError(f"unreadable datetime {value!r}") from exc


def _required_dt(row: Mapping[str, Any], name: str) -> datetime:
    value = parse_datetime(row.get(name))
    if value is None:
        raise MappingError(f"row without {name}")
    return value


def parse_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MappingError(f"unreadable date {value!r}") from exc


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise MappingError(f"unreadable number {value!r}") from exc


def _typed(read: Callable[[Any], T | None], value: Any) -> T | None:
    """A value of a field the tenant mapped (ARR, renewal date): it may be a text field people type into,
    so an unreadable one ("next year", "about 10k") is unknown, not a malformed page that fails the stream
    on every pass and keeps the whole workspace's scores frozen."""
    try:
        return read(value)
    except MappingError:
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _id(row: Mapping[str, Any]) -> str:
    rid = row.get("Id")
    if not isinstance(rid, str) or not rid:
        raise MappingError("row without an Id")
    return rid


def _path(row: Mapping[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def metric_value(value: Any) -> float | bool | date | None:
    """A mapped metric: numbers → float, checkboxes → bool, ISO dates → date, anything else → None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]) if len(value) >= 10 and value[4] == "-" else float(value)
        except ValueError:
            return None
    return None


FORMER_CUSTOMER_VALUES = frozenset({"former customer", "churned", "former", "lost customer"})


def account_status(value: Any) -> str | None:
    """ "churned" for a former customer (Account Type "Former Customer" or a status field saying so), else
    "active"; None when the field is empty."""
    text = (_str(value) or "").strip().lower()
    if not text:
        return None
    return "churned" if text in FORMER_CUSTOMER_VALUES else "active"


def website_domains(website: Any) -> tuple[str, ...]:
    """The host of an Account Website, lower-cased, without scheme, `www.` or path."""
    if not isinstance(website, str) or not website.strip():
        return ()
    host = website.strip().lower().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return (host,) if "." in host else ()


def normalise_segment(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return SEGMENTS.get(value.strip().lower(), value.strip().lower().replace(" ", "_").replace("-", "_"))


# ---- row → record ----------------------------------------------------------------------------------------


def to_account(row: Mapping[str, Any], fmap: FieldMap) -> AccountRecord:
    return AccountRecord(
        vendor=VENDOR,
        external_id=_id(row),
        name=str(row.get("Name") or ""),
        domains=website_domains(row.get("Website")),
        cross_ref=_str(row.get(fmap.zendesk_org_field)) if fmap.zendesk_org_field else None,
        segment=normalise_segment(row.get(fmap.segment_field)) if fmap.segment_field else None,
        plan=_str(row.get(fmap.plan_field)) if fmap.plan_field else None,
        owner=_str(_path(row, "Owner.Name")),
        owner_email=(_str(_path(row, "Owner.Email")) or "").lower() or None,
        arr=_typed(_decimal, row.get(fmap.arr_field)),
        arr_prev=_typed(_decimal, row.get(fmap.arr_prev_field)) if fmap.arr_prev_field else None,
        renewal_date=_typed(parse_date, row.get(fmap.renewal_date_field))
        if fmap.renewal_date_field
        else None,
        status=account_status(row.get(fmap.status_field)) if fmap.status_field else None,
        metrics={key: metric_value(row.get(api)) for key, api in fmap.metric_fields.items()},
        updated_at=_required_dt(row, "SystemModstamp"),
        deleted=bool(row.get("IsDeleted")),
    )


def to_contact(row: Mapping[str, Any]) -> ContactRecord:
    activity = parse_date(row.get("LastActivityDate"))
    return ContactRecord(
        vendor=VENDOR,
        external_id=_id(row),
        account_external_id=_str(row.get("AccountId")),
        email=_str(row.get("Email")),
        name=str(row.get("Name") or ""),
        last_contacted_at=datetime.combine(activity, time(), tzinfo=UTC) if activity else None,
        updated_at=_required_dt(row, "SystemModstamp"),
        deleted=bool(row.get("IsDeleted")),
    )


def deal_kind(opp_type: Any, fmap: FieldMap) -> Literal["new_business", "renewal", "upsell", "other"]:
    value = str(opp_type or "").strip().casefold()
    if value in {t.casefold() for t in fmap.renewal_types}:
        return "renewal"
    if value in {t.casefold() for t in fmap.upsell_types}:
        return "upsell"
    if value in {t.casefold() for t in fmap.new_business_types}:
        return "new_business"
    return "other"


def to_deal(row: Mapping[str, Any], fmap: FieldMap) -> DealRecord:
    return DealRecord(
        vendor=VENDOR,
        external_id=_id(row),
        account_external_id=_str(row.get("AccountId")),
        name=str(row.get("Name") or ""),
        kind=deal_kind(row.get("Type"), fmap),
        amount=_decimal(row.get("Amount")),
        stage=str(row.get("StageName") or ""),
        is_closed=bool(row.get("IsClosed")),
        is_won=bool(row.get("IsWon")),
        close_date=parse_date(row.get("CloseDate")),
        created_at=parse_datetime(row.get("CreatedDate")),
        updated_at=_required_dt(row, "SystemModstamp"),
        deleted=bool(row.get("IsDeleted")),
    )


PRIORITIES = {
    "low": "low",
    "medium": "normal",
    "normal": "normal",
    "high": "high",
    "critical": "urgent",
    "urgent": "urgent",
}
PENDING_STATUSES = {"on hold", "waiting on customer", "pending"}


def case_status(status: Any, is_closed: bool) -> str:
    """Case Status picklist → new|open|pending|solved|closed (closed only when the label says so)."""
    label = str(status or "").strip().casefold()
    if is_closed:
        return "closed" if label == "closed" else "solved"
    if label == "new":
        return "new"
    return "pending" if label in PENDING_STATUSES else "open"


def to_ticket(row: Mapping[str, Any]) -> TicketRecord:
    created = _required_dt(row, "CreatedDate")
    closed = parse_datetime(row.get("ClosedDate"))
    is_closed = bool(row.get("IsClosed"))
    solved_at = closed if is_closed else None
    return TicketRecord(
        vendor=VENDOR,
        external_id=_id(row),
        account_external_id=_str(row.get("AccountId")),
        requester_email=_str(row.get("SuppliedEmail")),
        number=_str(row.get("CaseNumber")),
        subject=str(row.get("Subject") or ""),
        description=str(row.get("Description") or ""),
        status=case_status(row.get("Status"), is_closed),
        priority=PRIORITIES.get(str(row.get("Priority") or "").casefold(), "normal"),
        escalated=bool(row.get("IsEscalated")),
        created_at=created,
        solved_at=solved_at,
        # Case has no first-reply field; resolution time is ClosedDate - CreatedDate.
        full_resolution_minutes=(solved_at - created).total_seconds() / 60 if solved_at else None,
        updated_at=_required_dt(row, "SystemModstamp"),
        deleted=bool(row.get("IsDeleted")),
    )


def to_case_comment(row: Mapping[str, Any]) -> CommentRecord:
    # Internal users are "Standard"; portal/community customers are CspLitePortal, PowerCustomerSuccess, ...
    agent = _path(row, "CreatedBy.UserType") == "Standard"
    return CommentRecord(
        vendor=VENDOR,
        external_id=_id(row),
        ticket_external_id=str(row.get("ParentId") or ""),
        author_role="agent" if agent else "customer",
        public=bool(row.get("IsPublished")),
        body=str(row.get("CommentBody") or ""),
        created_at=_required_dt(row, "CreatedDate"),
        deleted=bool(row.get("IsDeleted")),
    )


def to_email_message(row: Mapping[str, Any]) -> CommentRecord:
    return CommentRecord(
        vendor=VENDOR,
        external_id=_id(row),
        ticket_external_id=str(row.get("ParentId") or ""),
        author_role="customer" if row.get("Incoming") else "agent",
        public=True,
        body=str(row.get("TextBody") or ""),
        created_at=parse_datetime(row.get("MessageDate")) or _required_dt(row, "CreatedDate"),
        deleted=bool(row.get("IsDeleted")),
    )


def survey_kind(value: Any) -> Literal["csat", "nps"] | None:
    label = str(value or "").casefold()
    if "nps" in label or "net promoter" in label:
        return "nps"
    if "csat" in label or "satisfaction" in label:
        return "csat"
    return None


def to_survey(row: Mapping[str, Any], fmap: FieldMap) -> SurveyRecord | None:
    """A survey response, or None when its type is neither CSAT nor NPS."""
    f = fmap.survey_fields
    kind = survey_kind(row.get(f["type"]))
    score = row.get(f["score"])
    if kind is None:
        return None
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise MappingError(f"survey {row.get('Id')} has no numeric score")
    return SurveyRecord(
        vendor=VENDOR,
        external_id=_id(row),
        kind=kind,
        score=float(score),
        account_external_id=_str(row.get(f["account"])),
        ticket_external_id=_str(row.get(f["case"])),
        contact_email=_str(row.get(f["email"])),
        comment=str(row.get(f["comment"]) or ""),
        responded_at=parse_datetime(row.get(f["responded_at"])) or _required_dt(row, "CreatedDate"),
        updated_at=_required_dt(row, "SystemModstamp"),
        deleted=bool(row.get("IsDeleted")),
    )


def history_number(row: Mapping[str, Any], name: str) -> float | None:
    """OldValue/NewValue (anyType) of a number field: a JSON number, or null (the field was empty)."""
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{name} is not a number ({type(value).__name__})")
    return float(value)


def to_metric_change(row: Mapping[str, Any], fmap: FieldMap) -> MetricChangeRecord | None:
    """One AccountHistory row of a mapped metric field; None for a field the mapping does not name.

    Raises:
        MappingError: no Id, AccountId or CreatedDate, or a value that is not a number (a text or checkbox
            field mapped as a metric: its history says nothing a number can)."""
    metrics = {api.casefold(): key for key, api in fmap.metric_fields.items()}
    metric = metrics.get(str(row.get("Field") or "").casefold())
    if metric is None:
        return None
    account = row.get("AccountId")
    if not isinstance(account, str) or not account:
        raise MappingError("history row without an AccountId")
    changed = _required_dt(row, "CreatedDate")
    return MetricChangeRecord(
        vendor=VENDOR,
        external_id=_id(row),
        account_external_id=account,
        metric=metric,
        value=history_number(row, "NewValue"),
        old_value=history_number(row, "OldValue"),
        changed_at=changed,
        updated_at=changed,
        deleted=bool(row.get("IsDeleted")),
    )


def to_record(sobject: str, row: Mapping[str, Any], fmap: FieldMap) -> Record | None:
    """Map one row of `sobject`; None for rows the product does not use.

    Raises:
        MappingError: the row is not shaped as Salesforce documents it.
    """
    if not isinstance(row, Mapping):
        raise MappingError(f"{sobject} row is not an object")
    if sobject == "Account":
        return to_account(row, fmap)
    if sobject == "Contact":
        return to_contact(row)
    if sobject == "Opportunity":
        return to_deal(row, fmap)
    if sobject == "Case":
        return to_ticket(row)
    if sobject == "CaseComment":
        return to_case_comment(row)
    if sobject == "EmailMessage":
        return to_email_message(row)
    if sobject == HISTORY_OBJECT:
        return to_metric_change(row, fmap)
    if fmap.survey_object and sobject == fmap.survey_object:
        return to_survey(row, fmap)
    raise MappingError(f"no mapping for {sobject}")


def modstamp(sobject: str, row: Mapping[str, Any]) -> datetime:
    """The row's cursor stamp: SystemModstamp, or CreatedDate for history rows (written once, never
    modified, so they have no SystemModstamp)."""
    return _required_dt(row, "CreatedDate" if sobject == HISTORY_OBJECT else "SystemModstamp")


# ---- score write-back ------------------------------------------------------------------------------------


def score_value(key: str, value: str | float | datetime | None) -> str | float | None:
    """A score value as the Account field takes it (rounded to the field's scale, text cut to its length)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{key}: naive datetime")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), ROUNDING.get(key, 2))
    text = str(value)
    limit = TEXT_LIMITS.get(key)
    return text[:limit] if limit else text


def score_record(write: ScoreWrite, fmap: FieldMap) -> dict[str, Any]:
    """One sObject Collections entry updating an Account's score fields.

    Raises:
        ValueError: a key is not one of SCORE_FIELDS.
    """
    record: dict[str, Any] = {"attributes": {"type": "Account"}, "id": write.account_external_id}
    for key, value in write.values.items():
        if key not in SCORE_FIELDS:
            raise ValueError(f"unknown score field {key!r}")
        record[fmap.score_fields[key]] = score_value(key, value)
    return record
