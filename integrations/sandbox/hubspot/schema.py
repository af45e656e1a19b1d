"""HubSpot sandbox constants: object types and type ids, scopes, association types, stage maps and the
built-in property definitions per object type.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from integrations.sandbox.ids import numeric_id as _numeric_id

VENDOR = "hubspot"
numeric_id = functools.lru_cache(maxsize=None)(_numeric_id)  # a regex per call otherwise; ids are pure
ACCESS_TTL = timedelta(minutes=30)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # expiry of the initial token make_state prints
LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
BATCH_LIMIT = 100
# objects a list page or batch read may hold when propertiesWithHistory is asked (history.py)
HISTORY_LIMIT = 50
ASSOC_BATCH_LIMIT = 1_000
TOKEN_PATHS = ("/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token")

DEFAULT_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",  # tasks (plays) are filed under the contacts scopes
    "crm.objects.deals.read",
    "crm.objects.owners.read",
    "tickets",
    "crm.objects.feedback_submissions.read",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.contacts.read",
    "crm.schemas.deals.read",
)

OBJECT_TYPES: tuple[str, ...] = (
    "companies",
    "contacts",
    "deals",
    "tickets",
    "feedback_submissions",
    "notes",
    "emails",
)
TYPE_IDS = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tickets": "0-5",
    "notes": "0-46",
    "emails": "0-49",
    "feedback_submissions": "0-19",
}
SINGULAR = {
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
    "tickets": "ticket",
    "feedback_submissions": "feedback_submission",
    "notes": "note",
    "emails": "email",
}
READ_SCOPE = {
    "companies": "crm.objects.companies.read",
    "contacts": "crm.objects.contacts.read",
    "deals": "crm.objects.deals.read",
    "tickets": "tickets",
    "feedback_submissions": "crm.objects.feedback_submissions.read",
    "notes": "crm.objects.contacts.read",
    "emails": "crm.objects.contacts.read",
}
WRITE_SCOPE = {
    "companies": "crm.objects.companies.write",
    "contacts": "crm.objects.contacts.write",
    "deals": "crm.objects.deals.write",
    "tickets": "tickets",
    "feedback_submissions": "crm.objects.feedback_submissions.write",
    "notes": "crm.objects.contacts.write",
    "emails": "crm.objects.contacts.write",
}
# HUBSPOT_DEFINED association type ids (from → to); the first of each pair is the "primary" label.
ASSOC_TYPES: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("tickets", "companies"): 26,
    ("companies", "tickets"): 25,
    ("notes", "tickets"): 227,
    ("tickets", "notes"): 228,
    ("emails", "tickets"): 223,
    ("tickets", "emails"): 224,
    ("feedback_submissions", "contacts"): 1099,
    ("feedback_submissions", "tickets"): 1101,
    ("feedback_submissions", "companies"): 1103,
    ("tickets", "contacts"): 16,
    ("contacts", "tickets"): 15,
}
MOD_PROPERTY = {t: "hs_lastmodifieddate" for t in OBJECT_TYPES} | {"contacts": "lastmodifieddate"}

DEAL_STAGES = {
    "prospecting": "appointmentscheduled",
    "qualification": "qualifiedtobuy",
    "proposal": "presentationscheduled",
    "negotiation": "contractsent",
    "closed_won": "closedwon",
    "closed_lost": "closedlost",
}
DEAL_TYPES = {"new_business": "newbusiness", "renewal": "renewal", "upsell": "upsell"}
TICKET_STAGES = {"new": "1", "pending": "2", "open": "3", "solved": "4", "closed": "4"}
TICKET_PRIORITIES = {"low": "LOW", "normal": "MEDIUM", "high": "HIGH", "urgent": "URGENT"}

# Built-in property definitions per object type: name -> (type, fieldType, options).
_T = tuple[str, str, tuple[str, ...]]
_S: _T = ("string", "text", ())
_N: _T = ("number", "number", ())
_DT: _T = ("datetime", "date", ())
_D: _T = ("date", "date", ())
_B: _T = ("bool", "booleancheckbox", ("true", "false"))


def _enum(*options: str) -> _T:
    return ("enumeration", "select", options)


_COMMON: dict[str, _T] = {"hs_object_id": _N, "hs_lastmodifieddate": _DT, "createdate": _DT}
BUILTIN_PROPERTIES: dict[str, dict[str, _T]] = {
    "companies": _COMMON
    | {
        "name": _S,
        "domain": _S,
        "industry": _S,
        "lifecyclestage": _enum("lead", "opportunity", "customer", "other"),
        "hubspot_owner_id": _S,
        "customer_status": _enum("active", "churned"),
        "zendesk_org_id": _S,
        "arr": _N,
        "arr_previous": _N,
        "renewal_date": _D,
        "customer_segment": _enum("smb", "mid_market", "enterprise"),
        "plan": _S,
        "active_users": _N,
        "licensed_seats": _N,
    },
    "contacts": {"hs_object_id": _N, "lastmodifieddate": _DT, "createdate": _DT}
    | {
        "email": _S,
        "firstname": _S,
        "lastname": _S,
        "jobtitle": _S,
        "associatedcompanyid": _N,
        "notes_last_contacted": _DT,
    },
    "deals": _COMMON
    | {
        "dealname": _S,
        "amount": _N,
        "pipeline": _enum("default"),
        "dealstage": _enum(*DEAL_STAGES.values()),
        "dealtype": _enum(*DEAL_TYPES.values()),
        "closedate": _DT,
        "hs_is_closed": _B,
        "hs_is_closed_won": _B,
    },
    "tickets": _COMMON
    | {
        "subject": _S,
        "content": _S,
        "hs_pipeline": _enum("0"),
        "hs_pipeline_stage": _enum("1", "2", "3", "4"),
        "hs_ticket_priority": _enum(*TICKET_PRIORITIES.values()),
        "closed_date": _DT,
        "time_to_close": _N,
        "time_to_first_agent_reply": _N,
    },
    "feedback_submissions": {"hs_object_id": _N, "hs_lastmodifieddate": _DT, "hs_createdate": _DT}
    | {
        "hs_survey_type": _enum("NPS", "CSAT", "CES", "CUSTOM"),
        "hs_response_value": _N,
        "hs_content": _S,
        "hs_submission_timestamp": _DT,
        "hs_contact_email_address": _S,
    },
    "notes": {"hs_object_id": _N, "hs_lastmodifieddate": _DT, "hs_createdate": _DT}
    | {"hs_note_body": _S, "hs_timestamp": _DT},
    "emails": {"hs_object_id": _N, "hs_lastmodifieddate": _DT, "hs_createdate": _DT}
    | {
        "hs_email_subject": _S,
        "hs_email_text": _S,
        "hs_email_html": _S,
        "hs_email_direction": _enum("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
        "hs_email_from_email": _S,
        "hs_timestamp": _DT,
    },
}
BUILTIN_GROUPS = {
    "companies": "companyinformation",
    "contacts": "contactinformation",
    "deals": "dealinformation",
    "tickets": "ticketinformation",
    "feedback_submissions": "feedbacksubmissioninformation",
    "notes": "engagement",
    "emails": "engagement",
}
# Properties a read returns when the caller names none (HubSpot's defaults, roughly).
DEFAULT_READ = {
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "tickets": (
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "subject",
    ),
    "feedback_submissions": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "notes": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "emails": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
    }
)
