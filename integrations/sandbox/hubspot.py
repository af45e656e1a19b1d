"""HubSpot sandbox: the Book rendered as HubSpot CRM v3/v4 objects, OAuth v1, properties and signed webhooks.

What it serves (hubspot-api-client 12 talks to it unmodified; sdk-wire.md §2):
- OAuth: `/oauth/authorize` (HTML consent, Allow/Deny), `POST /oauth/v1/token` (also `/oauth/v3/token` and
  `/oauth/2026-03/token`): `authorization_code` (PKCE S256/plain when a challenge was sent) and
  `refresh_token`; 30-minute access tokens; HubSpot does not rotate refresh tokens. Token info
  `GET /oauth/v1/access-tokens/<t>`, refresh-token info and revocation `GET|DELETE /oauth/v1/refresh-tokens/<t>`.
- `crm/v3/objects/{companies,contacts,deals,tickets,feedback_submissions,notes,emails}`: list (`after`,
  `limit` ≤ 100, `properties`, `associations`, `archived`), get by id, search (filterGroups/filters, sorts,
  `after`, `limit` ≤ 200, the 10,000-result cap), batch read / batch update (≤ 100 inputs, 207 multi-status).
- v4 associations: `GET /crm/v4/objects/<from>/<id>/associations/<to>`,
  `POST /crm/v4/associations/<from>/<to>/batch/read`.
- Properties and property groups: `GET|POST /crm/v3/properties/<type>`, `.../<type>/<name>`, `.../groups`.

Rendering (SANDBOX.md "Book conventions"): every request renders the Book under `ctx.lock`; vendor-side
state (tokens, created properties, values our product wrote, write times) lives in `ctx.vendors["hubspot"]`.
Book → HubSpot: customers → companies (custom tenant properties `arr`, `arr_previous`, `renewal_date`,
`customer_segment`, `plan`, `active_users`, `licensed_seats`, and the cross-ref `zendesk_org_id`); contacts;
deals (pipeline `default`, stages appointmentscheduled…closedwon/closedlost, `dealtype`
newbusiness/renewal/upsell); crm-channel tickets (support pipeline `0`, stages 1 New, 2 Waiting on contact,
3 Waiting on us, 4 Closed); their comments as e-mails (customer → `INCOMING_EMAIL`, public agent reply →
`EMAIL`) and notes (private agent comments); NPS and crm-ticket CSAT surveys → feedback_submissions.
A sandbox choice, documented here: feedback submissions are associated with their company as well as their
contact and ticket, so a reader can resolve the account with one association call.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

import flask
from flask import Flask, Response, g, request

from integrations.sandbox.book import Changes, Customer
from integrations.sandbox.context import Fault, OAuthClient, SandboxContext, VendorState
from integrations.sandbox.ids import number
from integrations.sandbox.ids import numeric_id as _numeric_id
from webhooks.inbound import sign_hubspot_v3

VENDOR = "hubspot"
numeric_id = functools.lru_cache(maxsize=None)(_numeric_id)  # a regex per call otherwise; ids are pure
ACCESS_TTL = timedelta(minutes=30)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # expiry of the initial token make_state prints
LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
BATCH_LIMIT = 100
ASSOC_BATCH_LIMIT = 1_000
TOKEN_PATHS = ("/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token")

DEFAULT_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.deals.read",
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


# ---------------------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def hs_time(dt: datetime | None) -> str | None:
    """HubSpot's ISO-8601 with milliseconds and a Z ("2019-10-30T03:30:17.883Z"); cached: books repeat stamps."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(dt: datetime) -> int:
    """Epoch milliseconds, floored exactly (float timestamps can land a millisecond low)."""
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _num(value: Any) -> str | None:
    if value is None:
        return None
    text = format(value, "f") if not isinstance(value, int) else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _date_prop(d: date | None) -> str | None:
    return d.isoformat() if d else None


@functools.lru_cache(maxsize=65536)
def _to_ms(value: str, ptype: str) -> float | None:
    """A property or filter value as epoch ms (datetime/date) or a float (number); None when unparsable."""
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    if ptype in ("datetime", "date"):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return float(_ms(parsed))
    return None


# ---------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------


def _rng_hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_state(seed: int) -> VendorState:
    """Deterministic OAuth app credentials, portal/app ids and one initial token pair.

    The initial access token never expires (so `credentials()` can print a usable token); tokens issued by
    the token endpoint live 30 minutes on the sandbox clock, as HubSpot's do.
    """
    rng = random.Random(f"hubspot-{seed}")
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    client_secret = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    state = VendorState(
        vendor=VENDOR,
        oauth=OAuthClient(client_id=client_id, client_secret=client_secret, access_ttl=ACCESS_TTL),
        webhook_secret=client_secret,  # HubSpot signs v3 webhooks with the app's client secret
    )
    state.extra.update(
        portal_id=62_515_000 + seed % 1000,
        app_id=1_234_000 + seed % 1000,
        token_scopes={},
        refresh_scopes={},
        touched={},
        groups={},
        daily_used=0,
        event_seq=0,
    )
    access = "CN" + base64.urlsafe_b64encode(rng.randbytes(48)).decode().rstrip("=")
    refresh = f"na1-{_rng_hex(rng, 4)}-{_rng_hex(rng, 4)}-{_rng_hex(rng, 4)}-{_rng_hex(rng, 12)}"
    state.access_tokens[access] = NEVER
    state.refresh_tokens.add(refresh)
    state.extra["token_scopes"][access] = list(DEFAULT_SCOPES)
    state.extra["refresh_scopes"][refresh] = list(DEFAULT_SCOPES)
    state.extra["initial"] = {"access_token": access, "refresh_token": refresh}
    return state


def issue_tokens(
    state: VendorState, now: datetime, scopes: Iterable[str], refresh: str | None = None
) -> dict[str, Any]:
    """Mint an access token (30 min) and, unless given, a refresh token; returns the token response body."""
    scope_list = list(scopes)
    access = "CN" + secrets.token_urlsafe(48)
    state.access_tokens[access] = now + state.oauth.access_ttl
    state.extra["token_scopes"][access] = scope_list
    if refresh is None:
        refresh = (
            f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        )
        state.refresh_tokens.add(refresh)
        state.extra["refresh_scopes"][refresh] = scope_list
    return {
        "token_type": "bearer",
        "refresh_token": refresh,
        "access_token": access,
        "expires_in": int(state.oauth.access_ttl.total_seconds()),
    }


def credentials(ctx: SandboxContext) -> dict[str, str]:
    """The pieces `healthscore sandbox serve` prints for HubSpot."""
    state = ctx.vendors[VENDOR]
    return {
        "base_url": ctx.base_urls.get(VENDOR, ""),
        "client_id": state.oauth.client_id,
        "client_secret": state.oauth.client_secret,
        "access_token": state.extra["initial"]["access_token"],
        "refresh_token": state.extra["initial"]["refresh_token"],
        "portal_id": str(state.extra["portal_id"]),
    }


# ---------------------------------------------------------------------------------------------------------
# Rendering the book
# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class HubObject:
    """One rendered CRM object (all property values are strings or None, as HubSpot sends them)."""

    id: str
    type: str
    key: str
    customer_key: str | None
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None
    assoc: dict[str, list[str]] = field(default_factory=dict)

    def json(self, props: Iterable[str] | None, with_assoc: Iterable[str] = ()) -> dict[str, Any]:
        wanted = list(props) if props is not None else list(DEFAULT_READ[self.type])
        # HubSpot always echoes these three, whatever was asked.
        always = (
            "hs_object_id",
            MOD_PROPERTY[self.type],
            "createdate" if "createdate" in self.properties else "hs_createdate",
        )
        names = list(dict.fromkeys([*wanted, *always]))
        out: dict[str, Any] = {
            "id": self.id,
            "properties": {n: self.properties.get(n) for n in names if n in self.properties},
            "createdAt": hs_time(self.created_at),
            "updatedAt": hs_time(self.updated_at),
            "archived": self.archived_at is not None,
        }
        if self.archived_at is not None:
            out["archivedAt"] = hs_time(self.archived_at)
        assoc_out = {}
        for to_type in with_assoc:
            ids = self.assoc.get(to_type, [])
            if ids:
                label = f"{SINGULAR[self.type]}_to_{SINGULAR[to_type]}"
                assoc_out[to_type] = {"results": [{"id": i, "type": label} for i in ids]}
        if assoc_out:
            out["associations"] = assoc_out
        return out


def company_id(key: str) -> str:
    return numeric_id("company", key)


def comment_id(ticket_key: str, index: int) -> str:
    """Comment book keys need not be globally numbered; derive a unique id from the ticket and position."""
    return str(100_000_000 + number(ticket_key) * 1000 + index + 1)


def _state(ctx: SandboxContext) -> VendorState:
    return ctx.vendors[VENDOR]


def _hub_customers(ctx: SandboxContext) -> dict[str, Customer]:
    return {k: c for k, c in ctx.book.customers.items() if c.hubspot.present}


def _crm_tickets(ctx: SandboxContext) -> list[Any]:
    return [t for t in ctx.book.tickets.values() if t.channel == "crm"]


def _latest(*values: datetime | None) -> datetime:
    present = [v for v in values if v is not None]
    return max(present)


def _custom_names(ctx: SandboxContext, object_type: str) -> list[str]:
    return [
        n for n, p in _state(ctx).custom_fields.items() if p.get("objectType", "companies") == object_type
    ]


@functools.lru_cache(maxsize=4096)
def _owner_id(owner: str) -> str:
    return str(10_000 + int(hashlib.sha1(owner.encode()).hexdigest()[:6], 16) % 90_000)


# --- the index: every object of a type as (numeric id, book source), sorted by id ---------------------------
#
# Requests touch a page of objects, not the whole book: lists bisect to `after`, the keyset search the
# adapter sends is evaluated on raw modification times, batch calls look ids up. Only the objects a
# response carries are rendered. The index depends on the book's membership only (which objects exist),
# so it is rebuilt when a count changes or an object was swapped (the runner restores books in place);
# modification and archive times are read live from the book.


@dataclass(slots=True)
class _Index:
    signature: tuple[int, ...]
    ids: list[int]
    sources: list[Any]
    by_id: dict[int, Any]


_INDEXES: dict[
    int, tuple[Any, dict[str, _Index]]
] = {}  # id(book) -> (book, indexes); the book ref pins the id
_INDEX_LOCK = threading.Lock()


def _is_note(comment: Any) -> bool:
    return bool(comment.author_role == "agent" and not comment.public)


def _signature(ctx: SandboxContext, object_type: str) -> tuple[int, ...]:
    book = ctx.book
    if object_type == "companies":
        return (len(book.customers), sum(1 for c in book.customers.values() if c.hubspot.present))
    if object_type in ("notes", "emails"):
        return (len(book.tickets), sum(len(t.comments) for t in book.tickets.values()))
    if object_type == "feedback_submissions":
        return (len(book.surveys), len(book.tickets))
    return (len(getattr(book, object_type)),)


def _members(ctx: SandboxContext, object_type: str) -> list[tuple[int, Any]]:
    book = ctx.book
    if object_type == "companies":
        return [(int(company_id(c.key)), c) for c in book.customers.values() if c.hubspot.present]
    if object_type == "contacts":
        return [(int(numeric_id("contact", k.key)), k) for k in book.contacts.values()]
    if object_type == "deals":
        return [(int(numeric_id("deal", d.key)), d) for d in book.deals.values()]
    if object_type == "tickets":
        return [(int(numeric_id("ticket", t.key)), t) for t in _crm_tickets(ctx)]
    if object_type in ("notes", "emails"):
        want_notes = object_type == "notes"
        return [
            (int(comment_id(t.key, i)), (t, i, c))
            for t in _crm_tickets(ctx)
            for i, c in enumerate(t.comments)
            if _is_note(c) == want_notes
        ]
    crm = {t.key for t in _crm_tickets(ctx)}
    # CSAT on Zendesk-channel tickets lives in Zendesk only; NPS and CRM-ticket CSAT are feedback here.
    return [
        (int(numeric_id("survey", s.key)), s)
        for s in book.surveys.values()
        if s.kind == "nps" or s.ticket_key in crm
    ]


def _index(ctx: SandboxContext, object_type: str) -> _Index:
    """The id-sorted index of a type (call under ctx.lock)."""
    book = ctx.book
    signature = _signature(ctx, object_type)
    with _INDEX_LOCK:
        entry = _INDEXES.get(id(book))
        if entry is None or entry[0] is not book:
            if len(_INDEXES) >= 4:  # tests swap books; keep a few, never grow without bound
                _INDEXES.pop(next(iter(_INDEXES)))
            entry = (book, {})
            _INDEXES[id(book)] = entry
        cached = entry[1].get(object_type)
    if cached is not None and cached.signature == signature and _current(ctx, object_type, cached):
        return cached
    members = sorted(_members(ctx, object_type), key=lambda m: m[0])
    index = _Index(signature, [m[0] for m in members], [m[1] for m in members], dict(members))
    with _INDEX_LOCK:
        entry[1][object_type] = index
    return index


def _current(ctx: SandboxContext, object_type: str, index: _Index) -> bool:
    """Every indexed object is still the book's own (a restore may swap objects in place, same counts)."""
    book = ctx.book
    if object_type in ("notes", "emails"):
        tickets = book.tickets
        return all(
            tickets.get(t.key) is t and i < len(t.comments) and t.comments[i] is c
            for t, i, c in index.sources
        )
    collection = {
        "companies": book.customers,
        "contacts": book.contacts,
        "deals": book.deals,
        "tickets": book.tickets,
        "feedback_submissions": book.surveys,
    }[object_type]
    return all(collection.get(src.key) is src for src in index.sources)


def _raw_modified(object_type: str, source: Any) -> datetime:
    if object_type == "companies":
        return _latest(source.hubspot.updated_at, source.updated_at, source.created_at)
    if object_type in ("notes", "emails"):
        return source[2].created_at
    return source.updated_at


def _archived(object_type: str, source: Any) -> datetime | None:
    if object_type == "companies":
        return source.hubspot.deleted_at or source.deleted_at
    if object_type in ("contacts", "deals", "tickets"):
        return source.deleted_at
    return None


def _modified(ctx: SandboxContext, object_type: str, oid: int, source: Any) -> datetime:
    """The modification time HubSpot shows: the book's, or later when our write-back touched the record."""
    raw = _raw_modified(object_type, source)
    touched = _state(ctx).extra["touched"].get(str(oid))
    return touched if touched is not None and touched > raw else raw


# --- builders: one object at a time ---------------------------------------------------------------------


@dataclass(slots=True)
class _Env:
    """Lookups the builders of one request share (built on first use)."""

    ctx: SandboxContext
    _emails: dict[str, str] | None = None
    _custom: dict[str, list[str]] = field(default_factory=dict)

    def contact_for(self, email: str) -> str | None:
        if self._emails is None:
            self._emails = {
                k.email.lower(): numeric_id("contact", k.key) for k in self.ctx.book.contacts.values()
            }
        return self._emails.get(email.lower())

    def custom(self, object_type: str) -> list[str]:
        if object_type not in self._custom:
            self._custom[object_type] = _custom_names(self.ctx, object_type)
        return self._custom[object_type]

    def present(self, customer_key: str) -> bool:
        c = self.ctx.book.customers.get(customer_key)
        return bool(c is not None and c.hubspot.present)


def _build_company(env: _Env, c: Customer) -> HubObject:
    p = c.hubspot
    # README "Rendering conventions": a churned customer past its outcome date is a former customer.
    former = (
        c.outcome == "churned" and c.outcome_date is not None and c.outcome_date <= env.ctx.book.now.date()
    )
    props: dict[str, str | None] = {
        "name": p.name or c.name,
        "domain": p.domains[0] if p.domains else None,
        "industry": c.industry,
        "lifecyclestage": "other" if former else "customer",
        "customer_status": "churned" if former else "active",
        "hubspot_owner_id": _owner_id(c.owner),
        "zendesk_org_id": numeric_id("organization", c.key) if p.cross_ref else None,
        "arr": _num(c.arr),
        "arr_previous": _num(c.arr_prev),
        "renewal_date": _date_prop(c.renewal_date),
        "customer_segment": c.segment,
        "plan": c.plan,
        "active_users": str(c.active_users),
        "licensed_seats": str(c.licensed_seats),
        "createdate": hs_time(c.created_at),
    }
    return HubObject(company_id(c.key), "companies", c.key, c.key, props, c.created_at, c.created_at)


def _build_contact(env: _Env, k: Any) -> HubObject:
    cid = company_id(k.customer_key) if env.present(k.customer_key) else None
    props: dict[str, str | None] = {
        "email": k.email,
        "firstname": k.first_name,
        "lastname": k.last_name,
        "jobtitle": k.title,
        "associatedcompanyid": cid,
        "notes_last_contacted": hs_time(k.last_contacted_at),
        "createdate": hs_time(k.created_at),
    }
    obj = HubObject(
        numeric_id("contact", k.key), "contacts", k.key, k.customer_key, props, k.created_at, k.created_at
    )
    if cid:
        obj.assoc["companies"] = [cid]
    return obj


def _build_deal(env: _Env, d: Any) -> HubObject:
    stage = DEAL_STAGES.get(d.stage, d.stage)
    props: dict[str, str | None] = {
        "dealname": d.name,
        "amount": _num(d.amount),
        "pipeline": "default",
        "dealstage": stage,
        "dealtype": DEAL_TYPES.get(d.kind, d.kind),
        "closedate": hs_time(datetime(d.close_date.year, d.close_date.month, d.close_date.day, tzinfo=UTC)),
        "hs_is_closed": "true" if stage in ("closedwon", "closedlost") else "false",
        "hs_is_closed_won": "true" if stage == "closedwon" else "false",
        "createdate": hs_time(d.created_at),
    }
    obj = HubObject(
        numeric_id("deal", d.key), "deals", d.key, d.customer_key, props, d.created_at, d.created_at
    )
    if env.present(d.customer_key):
        obj.assoc["companies"] = [company_id(d.customer_key)]
    return obj


def _minutes_ms(minutes: int | None) -> str | None:
    return str(minutes * 60_000) if minutes is not None else None


def _build_ticket(env: _Env, t: Any) -> HubObject:
    first_customer = next((c for c in t.comments if c.author_role == "customer"), None)
    props: dict[str, str | None] = {
        "subject": t.subject,
        "content": first_customer.body if first_customer else "",
        "hs_pipeline": "0",
        "hs_pipeline_stage": TICKET_STAGES.get(t.status, "1"),
        "hs_ticket_priority": TICKET_PRIORITIES.get(t.priority, "MEDIUM"),
        "createdate": hs_time(t.created_at),
        "closed_date": hs_time(t.solved_at),
        "time_to_close": _minutes_ms(t.full_resolution_minutes),
        "time_to_first_agent_reply": _minutes_ms(t.first_reply_minutes),
    }
    obj = HubObject(
        numeric_id("ticket", t.key), "tickets", t.key, t.customer_key, props, t.created_at, t.created_at
    )
    if env.present(t.customer_key):
        obj.assoc["companies"] = [company_id(t.customer_key)]
    contact = env.contact_for(t.requester_email)
    if contact:
        obj.assoc["contacts"] = [contact]
    obj.assoc["notes"] = []
    obj.assoc["emails"] = []
    for i, c in enumerate(t.comments):
        obj.assoc["notes" if _is_note(c) else "emails"].append(comment_id(t.key, i))
    return obj


def _build_comment(env: _Env, source: tuple[Any, int, Any]) -> HubObject:
    t, i, c = source
    is_note = _is_note(c)
    props: dict[str, str | None] = {
        "hs_timestamp": hs_time(c.created_at),
        "hs_createdate": hs_time(c.created_at),
    }
    if is_note:
        props["hs_note_body"] = c.html_body or c.body
    else:
        props.update(
            hs_email_subject=("Re: " if i else "") + t.subject,
            hs_email_text=c.body,
            hs_email_html=c.html_body,
            hs_email_direction="INCOMING_EMAIL" if c.author_role == "customer" else "EMAIL",
            hs_email_from_email=c.author_email,
        )
    kind = "notes" if is_note else "emails"
    obj = HubObject(comment_id(t.key, i), kind, c.key, t.customer_key, props, c.created_at, c.created_at)
    obj.assoc["tickets"] = [numeric_id("ticket", t.key)]
    return obj


def _build_feedback(env: _Env, s: Any) -> HubObject:
    props: dict[str, str | None] = {
        "hs_survey_type": s.kind.upper(),
        "hs_response_value": str(s.score),
        "hs_content": s.comment,
        "hs_submission_timestamp": hs_time(s.responded_at),
        "hs_contact_email_address": s.contact_email,
        "hs_createdate": hs_time(s.responded_at),
    }
    obj = HubObject(
        numeric_id("survey", s.key),
        "feedback_submissions",
        s.key,
        s.customer_key,
        props,
        s.responded_at,
        s.updated_at,
    )
    if env.present(s.customer_key):
        obj.assoc["companies"] = [company_id(s.customer_key)]
    ticket = env.ctx.book.tickets.get(s.ticket_key) if s.ticket_key else None
    if ticket is not None and ticket.channel == "crm":
        obj.assoc["tickets"] = [numeric_id("ticket", s.ticket_key)]
    contact = env.contact_for(s.contact_email)
    if contact:
        obj.assoc["contacts"] = [contact]
    return obj


_BUILDERS: dict[str, Callable[[_Env, Any], HubObject]] = {
    "companies": _build_company,
    "contacts": _build_contact,
    "deals": _build_deal,
    "tickets": _build_ticket,
    "notes": _build_comment,
    "emails": _build_comment,
    "feedback_submissions": _build_feedback,
}


def _build(env: _Env, object_type: str, oid: int, source: Any) -> HubObject:
    """Render one object and apply what our product wrote (values, and the time the write stamped)."""
    obj = _BUILDERS[object_type](env, source)
    obj.updated_at = _modified(env.ctx, object_type, oid, source)
    obj.archived_at = _archived(object_type, source)
    written = _state(env.ctx).written.get(obj.id)
    if written:
        for name, value in written.items():
            obj.properties[name] = None if value is None else str(value)
    obj.properties[MOD_PROPERTY[object_type]] = hs_time(obj.updated_at)
    obj.properties["hs_object_id"] = obj.id
    for name in env.custom(object_type):
        obj.properties.setdefault(name, None)
    return obj


def render(ctx: SandboxContext, object_type: str) -> list[HubObject]:
    """Every object of a type, archived ones included, sorted by numeric id (call under ctx.lock)."""
    index = _index(ctx, object_type)
    env = _Env(ctx)
    return [_build(env, object_type, oid, src) for oid, src in zip(index.ids, index.sources, strict=True)]


def get_objects(
    ctx: SandboxContext, object_type: str, ids: Iterable[str], *, archived: bool = False
) -> dict[str, HubObject]:
    """The objects with these ids that exist (live, or archived when `archived`), rendered one by one."""
    index = _index(ctx, object_type)
    env = _Env(ctx)
    out: dict[str, HubObject] = {}
    for raw_id in ids:
        try:
            oid = int(raw_id)
        except (TypeError, ValueError):
            continue
        source = index.by_id.get(oid)
        if source is None or (_archived(object_type, source) is not None) != archived:
            continue
        out[str(oid)] = _build(env, object_type, oid, source)
    return out


def list_page(
    ctx: SandboxContext, object_type: str, *, after: int, limit: int, archived: bool
) -> tuple[list[HubObject], int | None]:
    """One list page from id `after` on, and the id the next page starts at (None: this is the last)."""
    index = _index(ctx, object_type)
    env = _Env(ctx)
    page: list[HubObject] = []
    for pos in range(bisect.bisect_left(index.ids, after), len(index.ids)):
        oid, source = index.ids[pos], index.sources[pos]
        if (_archived(object_type, source) is not None) != archived:
            continue
        if len(page) == limit:
            return page, oid
        page.append(_build(env, object_type, oid, source))
    return page, None


# Associations each object carries itself (the rest are found by scanning the other side).
FORWARD = {
    ("contacts", "companies"),
    ("deals", "companies"),
    ("tickets", "companies"),
    ("tickets", "contacts"),
    ("tickets", "notes"),
    ("tickets", "emails"),
    ("notes", "tickets"),
    ("emails", "tickets"),
    ("feedback_submissions", "companies"),
    ("feedback_submissions", "tickets"),
    ("feedback_submissions", "contacts"),
}


def associations(
    ctx: SandboxContext, from_type: str, to_type: str, ids: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """from id → associated to ids (live objects only; only `ids` when given)."""
    if (from_type, to_type) in FORWARD:
        objs = (
            get_objects(ctx, from_type, ids).values()
            if ids is not None
            else [o for o in render(ctx, from_type) if o.archived_at is None]
        )
        return {o.id: list(o.assoc.get(to_type, [])) for o in objs}
    wanted = set(get_objects(ctx, from_type, ids)) if ids is not None else None
    out: dict[str, list[str]] = {i: [] for i in wanted} if wanted is not None else {}
    for o in render(ctx, to_type):
        if o.archived_at is not None:
            continue
        for from_id in o.assoc.get(from_type, []):
            if wanted is None or from_id in wanted:
                out.setdefault(from_id, []).append(o.id)
    return out


def property_defs(ctx: SandboxContext, object_type: str) -> dict[str, dict[str, Any]]:
    """Every property of a type (built-in and created through the API) in HubSpot's property JSON shape."""
    out: dict[str, dict[str, Any]] = {}
    for name, (ptype, ftype, options) in BUILTIN_PROPERTIES[object_type].items():
        out[name] = {
            "name": name,
            "label": name.replace("_", " ").title(),
            "type": ptype,
            "fieldType": ftype,
            "description": "",
            "groupName": BUILTIN_GROUPS[object_type],
            "options": [
                {"label": o.title(), "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(options)
            ],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": name == "hs_object_id",
            "hidden": False,
            "hubspotDefined": name
            not in (
                "customer_status",
                "zendesk_org_id",
                "arr",
                "arr_previous",
                "renewal_date",
                "customer_segment",
                "plan",
                "active_users",
                "licensed_seats",
            ),
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": False},
            "formField": False,
            "archived": False,
        }
    for name, prop in _state(ctx).custom_fields.items():
        if prop.get("objectType", "companies") == object_type:
            out[name] = {k: v for k, v in prop.items() if k != "objectType"}
    return out


# ---------------------------------------------------------------------------------------------------------
# Errors in HubSpot's shape
# ---------------------------------------------------------------------------------------------------------


class HubSpotError(Exception):
    """Raised inside handlers; rendered as HubSpot's error JSON."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra
        self.headers: dict[str, str] = {}


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Content-Type"] = "application/json;charset=utf-8"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _validation(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR", **extra)


def rate_limit_headers(state: VendorState, remaining: int = 99) -> dict[str, str]:
    used = state.extra.get("daily_used", 0)
    return {
        "X-HubSpot-RateLimit-Daily": "250000",
        "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, 250_000 - used)),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": str(remaining),
        "X-HubSpot-RateLimit-Secondly": "10",
        "X-HubSpot-RateLimit-Secondly-Remaining": str(min(9, remaining)),
    }


def _fault_response(ctx: SandboxContext, fault: Fault, path: str) -> Response | None:
    """Render a fault as HubSpot sends it; None when the request should proceed."""
    state = _state(ctx)
    if fault.kind == "rate_limit":
        body = error_body(
            fault.message or "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
        headers = rate_limit_headers(state, remaining=0)
        headers["Retry-After"] = str(max(1, math.ceil(fault.retry_after)))
        return _json(body, 429, headers)
    if fault.kind == "quota":
        body = error_body(
            fault.message or "You have reached your daily limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="DAILY",
        )
        headers = rate_limit_headers(state, remaining=0)
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
        return _json(body, 429, headers)
    if fault.kind == "server_error":
        return _json(error_body(fault.message or "internal error", "INTERNAL_ERROR"), fault.status or 500)
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return None
    if fault.kind == "timeout":
        time.sleep(fault.delay)
        return _json(error_body("Gateway timeout", "INTERNAL_ERROR"), 504)
    if fault.kind == "expired_token":
        return _json(
            error_body(
                "The OAuth token used to make this call expired 0 minute(s) ago.", "EXPIRED_AUTHENTICATION"
            ),
            401,
        )
    if fault.kind == "revoked_refresh":
        if path in TOKEN_PATHS:
            return _json(
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
                400,
            )
        return _json(error_body("Authentication credentials not found.", "INVALID_AUTHENTICATION"), 401)
    if fault.kind == "malformed_page":
        # A 200 whose body is cut off mid-object: what a proxy that drops the connection leaves behind.
        return Response(
            '{"results":[{"id":"1","properties":{"name":"Ac', status=200, mimetype="application/json"
        )
    return None


# ---------------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------------


def _prop_type(defs: dict[str, dict[str, Any]], name: str) -> str:
    return str(defs[name]["type"]) if name in defs else "string"


def _compare_value(raw: str | None, ptype: str) -> Any:
    if raw is None or raw == "":
        return None
    if ptype in ("number", "datetime", "date"):
        return _to_ms(raw, ptype)
    return str(raw).lower()


def _compile_filter(flt: dict[str, Any], defs: dict[str, dict[str, Any]]) -> Callable[[HubObject], bool]:
    """One filter as a predicate; the expected value is parsed once, not once per object."""
    name = str(flt.get("propertyName"))
    op = flt.get("operator", "EQ")
    ptype = _prop_type(defs, name)

    def actual(obj: HubObject) -> Any:
        return _compare_value(obj.properties.get(name), ptype)

    if op == "HAS_PROPERTY":
        return lambda o: actual(o) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda o: actual(o) is None
    if op in ("IN", "NOT_IN"):
        values = {_compare_value(str(v), ptype) for v in flt.get("values") or []}
        if op == "IN":
            return lambda o: actual(o) in values
        return lambda o: actual(o) not in values
    expected = _compare_value(str(flt.get("value", "")), ptype)
    if op == "NEQ":
        return lambda o: actual(o) != expected
    if op == "CONTAINS_TOKEN":
        token = str(expected or "").strip("*")
        return lambda o: (a := actual(o)) is not None and token in str(a)
    if expected is None:
        return lambda o: False
    if op == "BETWEEN":
        high = _compare_value(str(flt.get("highValue", "")), ptype)
        return lambda o: high is not None and (a := actual(o)) is not None and expected <= a <= high
    compare = {
        "EQ": lambda a: a == expected,
        "LT": lambda a: a < expected,
        "LTE": lambda a: a <= expected,
        "GT": lambda a: a > expected,
        "GTE": lambda a: a >= expected,
    }[op]
    return lambda o: (a := actual(o)) is not None and bool(compare(a))


def _validate_search(
    body: Any, defs: dict[str, dict[str, Any]]
) -> tuple[list[list[dict[str, Any]]], list[tuple[str, bool]], int, int]:
    if not isinstance(body, dict):
        raise _validation("Invalid input JSON on line 1, column 1: Cannot build PublicObjectSearchRequest")
    groups = body.get("filterGroups") or []
    if len(groups) > 5:
        raise _validation("Too many filter groups (5 maximum)")
    parsed_groups = []
    for grp in groups:
        filters = grp.get("filters") or []
        if len(filters) > 6:
            raise _validation("Too many filters in a filter group (6 maximum)")
        for flt in filters:
            op = flt.get("operator")
            if op not in OPERATORS:
                raise _validation(f"Invalid input JSON: unknown operator {op!r}")
            if flt.get("propertyName") not in defs:
                raise _validation(
                    f"There was a problem with the request: property {flt.get('propertyName')!r} does not exist"
                )
        parsed_groups.append(filters)
    sorts: list[tuple[str, bool]] = []
    for s in body.get("sorts") or []:
        if isinstance(s, str):
            sorts.append((s.lstrip("-"), s.startswith("-")))
        elif isinstance(s, dict):
            sorts.append(
                (str(s.get("propertyName")), str(s.get("direction", "ASCENDING")).upper() == "DESCENDING")
            )
    try:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise _validation("Invalid input JSON: limit and after must be integers") from None
    if limit < 1 or limit > SEARCH_LIMIT:
        raise _validation(f"limit must be between 1 and {SEARCH_LIMIT}")
    if after >= SEARCH_CAP:
        # HubSpot: "The search endpoints are limited to 10,000 total results for any given query.
        # Attempting to page beyond 10,000 will result in a 400 error."
        raise _validation(
            "There was a problem with the request.",
            context={"after": [str(after)]},
            subCategory="SearchApi.PAGING_LIMIT_EXCEEDED",
        )
    return parsed_groups, sorts, limit, after


_RAW_OPS = {
    "EQ": lambda a, e, h: a == e,
    "NEQ": lambda a, e, h: a != e,
    "LT": lambda a, e, h: a < e,
    "LTE": lambda a, e, h: a <= e,
    "GT": lambda a, e, h: a > e,
    "GTE": lambda a, e, h: a >= e,
    "BETWEEN": lambda a, e, h: h is not None and e <= a <= h,
}


def _raw_predicates(
    object_type: str, groups: list[list[dict[str, Any]]], sorts: list[tuple[str, bool]]
) -> list[Callable[[int, int], bool]] | None:
    """The adapter's keyset search (modification window + hs_object_id, sorted by id) as predicates over
    (id, modified ms) read straight from the book; None when the search needs rendered properties."""
    if len(groups) > 1 or any(s != ("hs_object_id", False) for s in sorts):
        return None
    mod = MOD_PROPERTY[object_type]
    preds: list[Callable[[int, int], bool]] = []
    for flt in groups[0] if groups else []:
        name, op = flt.get("propertyName"), flt.get("operator")
        if name not in (mod, "hs_object_id") or op not in _RAW_OPS:
            return None
        ptype = "number" if name == "hs_object_id" else "datetime"
        expected = _to_ms(str(flt.get("value", "")), ptype)
        high = _to_ms(str(flt.get("highValue", "")), ptype) if op == "BETWEEN" else None
        if expected is None:
            return None
        test = _RAW_OPS[op]
        if name == "hs_object_id":
            preds.append(lambda oid, _m, t=test, e=expected, h=high: bool(t(oid, e, h)))
        else:
            preds.append(lambda _oid, m, t=test, e=expected, h=high: bool(t(m, e, h)))
    return preds


def _search_matches(
    ctx: SandboxContext,
    object_type: str,
    defs: dict[str, dict[str, Any]],
    groups: list[list[dict[str, Any]]],
    sorts: list[tuple[str, bool]],
) -> tuple[list[HubObject] | None, list[tuple[int, Any]]]:
    """Either rendered matches (general path) or unrendered (id, source) matches in id order (fast path)."""
    preds = _raw_predicates(object_type, groups, sorts)
    if preds is not None:
        index = _index(ctx, object_type)
        hits = []
        for oid, source in zip(index.ids, index.sources, strict=True):
            if _archived(object_type, source) is not None:
                continue
            modified = _ms(_modified(ctx, object_type, oid, source))
            if all(p(oid, modified) for p in preds):
                hits.append((oid, source))
        return None, hits
    objs = [o for o in render(ctx, object_type) if o.archived_at is None]
    if groups:
        compiled = [[_compile_filter(f, defs) for f in grp] for grp in groups]
        objs = [o for o in objs if any(all(p(o) for p in grp) for grp in compiled)]
    for name, desc in reversed(sorts):
        ptype = _prop_type(defs, name)
        present = [o for o in objs if _compare_value(o.properties.get(name), ptype) is not None]
        missing = [o for o in objs if _compare_value(o.properties.get(name), ptype) is None]
        present.sort(key=lambda o: _compare_value(o.properties.get(name), ptype), reverse=desc)
        objs = present + missing
    return objs, []


def run_search(ctx: SandboxContext, object_type: str, body: Any) -> dict[str, Any]:
    """POST .../search: filter, sort, page by `after` offset; 400 past 10,000 results (call under ctx.lock)."""
    defs = property_defs(ctx, object_type)
    groups, sorts, limit, after = _validate_search(body, defs)
    rendered, hits = _search_matches(ctx, object_type, defs, groups, sorts)
    if rendered is None:
        env = _Env(ctx)
        total = len(hits)
        page = [_build(env, object_type, oid, src) for oid, src in hits[after : after + limit]]
    else:
        total = len(rendered)
        page = rendered[after : after + limit]
    out: dict[str, Any] = {"total": total, "results": [o.json(body.get("properties")) for o in page]}
    if after + limit < total:
        out["paging"] = {"next": {"after": str(after + limit)}}
    return out


# ---------------------------------------------------------------------------------------------------------
# Batch update validation
# ---------------------------------------------------------------------------------------------------------


def _invalid_value(prop: dict[str, Any], value: Any) -> str | None:
    """HubSpot's per-property validation error code, or None when the value is acceptable."""
    if value is None or value == "":
        return None
    ptype = prop["type"]
    text = str(value)
    if ptype == "number" and _to_ms(text, "number") is None:
        return "INVALID_DECIMAL"
    if ptype in ("datetime", "date") and _to_ms(text, ptype) is None:
        return "INVALID_DATE"
    if ptype == "enumeration":
        allowed = {o["value"] for o in prop.get("options", [])}
        if prop.get("fieldType") == "checkbox":
            bad = [v for v in text.split(";") if v not in allowed]
            return "INVALID_OPTION" if bad else None
        return None if text in allowed else "INVALID_OPTION"
    if ptype == "bool" and text.lower() not in ("true", "false"):
        return "INVALID_BOOLEAN"
    return None


def _validate_properties(defs: dict[str, dict[str, Any]], inputs: list[dict[str, Any]]) -> None:
    problems = []
    for inp in inputs:
        for name, value in (inp.get("properties") or {}).items():
            if name not in defs:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                        "localizedErrorMessage": f'Property "{name}" does not exist',
                    }
                )
                continue
            code = _invalid_value(defs[name], value)
            if code:
                problems.append(
                    {
                        "isValid": False,
                        "message": f"{value} was not a valid value for {name}",
                        "error": code,
                        "name": name,
                        "localizedErrorMessage": f"{value} was not a valid value for {name}",
                    }
                )
    if problems:
        raise _validation(
            f"Property values were not valid: {json.dumps(problems)}",
            errors=[
                {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
                for p in problems
            ],
        )


# ---------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------


def _bearer() -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _require(ctx: SandboxContext, scope: str | None) -> None:
    """Authenticate the bearer token against the sandbox clock and check one scope."""
    state = _state(ctx)
    token = _bearer()
    if not token or token not in state.access_tokens:
        raise HubSpotError(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
        )
    expires = state.access_tokens[token]
    if ctx.now >= expires:
        minutes = int((ctx.now - expires).total_seconds() // 60)
        raise HubSpotError(
            401,
            f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
            "EXPIRED_AUTHENTICATION",
        )
    if scope and scope not in state.extra["token_scopes"].get(token, []):
        raise HubSpotError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )


def _body() -> Any:
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise _validation("Invalid input JSON on line 1, column 1: Unexpected character") from None


def _props_arg() -> list[str] | None:
    values: list[str] = []
    for raw in request.args.getlist("properties"):
        values.extend(p for p in raw.split(",") if p)
    return values or None


def create_app(ctx: SandboxContext) -> Flask:
    """The HubSpot API (CRM v3/v4, properties, OAuth) over the book in `ctx`."""
    app = Flask(f"sandbox-{VENDOR}")
    app.config["JSON_SORT_KEYS"] = False

    @app.before_request
    def _count_and_fault() -> Response | None:
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        key = f"{request.method} {rule}"
        g.fault_key = key
        ctx.counters.record(VENDOR, key)
        with ctx.lock:
            _state(ctx).extra["daily_used"] = _state(ctx).extra.get("daily_used", 0) + 1
        fault = ctx.faults.take(VENDOR, key)
        if fault is None:
            return None
        if fault.kind == "reject_rows":
            g.row_fault = fault
            return None
        return _fault_response(ctx, fault, request.path)

    @app.after_request
    def _headers(resp: Response) -> Response:
        path = request.path
        if path.startswith("/crm/") and not path.endswith("/search") and resp.status_code != 429:
            for k, v in rate_limit_headers(_state(ctx)).items():
                resp.headers.setdefault(k, v)
        return resp

    @app.errorhandler(HubSpotError)
    def _hs_error(exc: HubSpotError) -> Response:
        return _json(error_body(exc.message, exc.category, **exc.extra), exc.status, exc.headers)

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> Response:
        return _json(
            error_body(f"Unable to route {request.method} request to {request.path}", "OBJECT_NOT_FOUND"), 404
        )

    @app.errorhandler(405)
    def _not_allowed(_exc: Exception) -> Response:
        return _json(
            error_body(f"HTTP method {request.method} is not supported by this URL", "VALIDATION_ERROR"), 405
        )

    _register_oauth(app, ctx)
    for object_type in OBJECT_TYPES:
        _register_objects(app, ctx, object_type)
        _register_properties(app, ctx, object_type)
    _register_associations(app, ctx)
    return app


# --- OAuth -------------------------------------------------------------------------------------------------

_CONSENT = """<!doctype html><html><head><title>Connect HubSpot</title></head><body>
<h1>healthscore wants to access your HubSpot account (portal {portal})</h1>
<p>Requested scopes: {scopes}</p>
<form method="post" action="/oauth/authorize">{hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def _oauth_error(status: str, message: str) -> Response:
    return _json({"status": status, "message": message, "correlationId": str(uuid.uuid4())}, 400)


def _register_oauth(app: Flask, ctx: SandboxContext) -> None:
    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        params = request.values
        state = _state(ctx)
        if params.get("client_id") != state.oauth.client_id:
            return Response("<h1>Invalid client_id</h1>", status=400, mimetype="text/html")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return Response("<h1>Missing redirect_uri</h1>", status=400, mimetype="text/html")
        if request.method == "GET":
            keep = (
                "client_id",
                "redirect_uri",
                "scope",
                "optional_scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{escape(params[k])}">' for k in keep if k in params
            )
            html = _CONSENT.format(
                portal=state.extra["portal_id"], scopes=escape(params.get("scope", "")), hidden=hidden
            )
            return Response(html, mimetype="text/html")
        query: dict[str, str] = {}
        if params.get("decision") != "allow":
            query["error"] = "access_denied"
            query["error_description"] = "The user denied the request"
        else:
            code = secrets.token_hex(16)
            scopes = [
                s for s in (params.get("scope", "") + " " + params.get("optional_scope", "")).split() if s
            ]
            with ctx.lock:
                state.auth_codes[code] = {
                    "redirect_uri": redirect_uri,
                    "challenge": params.get("code_challenge"),
                    "method": params.get("code_challenge_method", "plain"),
                    "scopes": scopes or list(DEFAULT_SCOPES),
                }
            query["code"] = code
        if "state" in params:
            query["state"] = params["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return flask.redirect(f"{redirect_uri}{sep}{urlencode(query)}", code=302)

    def token() -> Response:
        form = request.form
        state = _state(ctx)
        if form.get("client_id") != state.oauth.client_id:
            return _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != state.oauth.client_secret:
            return _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        grant = form.get("grant_type")
        with ctx.lock:
            if grant == "authorization_code":
                info = state.auth_codes.pop(form.get("code", ""), None)
                if info is None:
                    return _oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
                if form.get("redirect_uri") != info["redirect_uri"]:
                    return _oauth_error(
                        "BAD_REDIRECT_URI", "redirect_uri does not match the one used to authorize"
                    )
                if info["challenge"] and not _pkce_ok(
                    form.get("code_verifier", ""), info["challenge"], info["method"]
                ):
                    return _oauth_error("BAD_AUTH_CODE", "code_verifier does not match the code_challenge")
                return _json(issue_tokens(state, ctx.now, info["scopes"]))
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in state.refresh_tokens:
                    return _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
                scopes = state.extra["refresh_scopes"].get(refresh, list(DEFAULT_SCOPES))
                return _json(issue_tokens(state, ctx.now, scopes, refresh=refresh))
        return _oauth_error("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")

    for path in TOKEN_PATHS:
        app.add_url_rule(path, f"token_{path}", token, methods=["POST"])

    @app.get("/oauth/v1/access-tokens/<token>")
    def access_token_info(token: str) -> Response:
        state = _state(ctx)
        with ctx.lock:
            expires = state.access_tokens.get(token)
            if expires is None or ctx.now >= expires:
                return _json(error_body("Token not found", "OBJECT_NOT_FOUND"), 404)
            left = int(min((expires - ctx.now).total_seconds(), 10**9))
            return _json(
                {
                    "token": token,
                    "user": "admin@sandbox.example",
                    "hub_domain": "healthscore-sandbox.com",
                    "scopes": state.extra["token_scopes"].get(token, []),
                    "hub_id": state.extra["portal_id"],
                    "app_id": state.extra["app_id"],
                    "expires_in": left,
                    "user_id": 4242,
                    "token_type": "access",
                }
            )

    @app.route("/oauth/v1/refresh-tokens/<token>", methods=["GET", "DELETE"])
    def refresh_token(token: str) -> Response:
        state = _state(ctx)
        with ctx.lock:
            if token not in state.refresh_tokens:
                return _json(error_body("Refresh token not found", "OBJECT_NOT_FOUND"), 404)
            if request.method == "DELETE":
                state.refresh_tokens.discard(token)
                return Response(status=204)
            return _json(
                {
                    "token": token,
                    "user": "admin@sandbox.example",
                    "hub_domain": "healthscore-sandbox.com",
                    "scopes": state.extra["refresh_scopes"].get(token, []),
                    "hub_id": state.extra["portal_id"],
                    "client_id": state.oauth.client_id,
                    "user_id": 4242,
                    "token_type": "refresh",
                }
            )


def _pkce_ok(verifier: str, challenge: str, method: str) -> bool:
    if method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


# --- objects ------------------------------------------------------------------------------------------------


def _register_objects(app: Flask, ctx: SandboxContext, object_type: str) -> None:
    base = f"/crm/v3/objects/{object_type}"
    read_scope = READ_SCOPE[object_type]

    def list_objects() -> Response:
        try:
            limit = int(request.args.get("limit", "10"))
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        if limit < 1 or limit > LIST_LIMIT:
            raise _validation(f"limit must be between 1 and {LIST_LIMIT}")
        archived = request.args.get("archived", "false").lower() == "true"
        with_assoc = [a for raw in request.args.getlist("associations") for a in raw.split(",") if a]
        with ctx.lock:
            _require(ctx, read_scope)
            page, nxt_id = list_page(ctx, object_type, after=after, limit=limit, archived=archived)
            for to_type in with_assoc:
                if to_type in OBJECT_TYPES and (object_type, to_type) not in FORWARD:
                    reverse = associations(ctx, object_type, to_type, [o.id for o in page])
                    for o in page:
                        o.assoc[to_type] = reverse.get(o.id, [])
            out: dict[str, Any] = {"results": [o.json(_props_arg(), with_assoc) for o in page]}
            if nxt_id is not None:
                nxt = str(nxt_id)
                query = urlencode([("limit", limit), ("after", nxt), *(("archived", "true"),) * archived])
                out["paging"] = {
                    "next": {"after": nxt, "link": f"{request.host_url.rstrip('/')}{base}?{query}"}
                }
            return _json(out)

    def get_object(object_id: str) -> Response:
        archived = request.args.get("archived", "false").lower() == "true"
        with ctx.lock:
            _require(ctx, read_scope)
            found = get_objects(ctx, object_type, [object_id], archived=archived).get(object_id)
            if found is not None:
                return _json(found.json(_props_arg()))
        raise HubSpotError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")

    def search() -> Response:
        body = _body()
        with ctx.lock:
            _require(ctx, read_scope)
            return _json(run_search(ctx, object_type, body))

    def batch_read() -> Response:
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(
                f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}", context={"inputs": [str(len(inputs))]}
            )
        started = ctx.now
        archived = bool(request.args.get("archived", "false").lower() == "true")
        with ctx.lock:
            _require(ctx, read_scope)
            by_id = get_objects(ctx, object_type, [str(i.get("id")) for i in inputs], archived=archived)
            found, missing = [], []
            for inp in inputs:
                oid = str(inp.get("id"))
                (found if oid in by_id else missing).append(oid)
            results = [by_id[i].json(body.get("properties")) for i in dict.fromkeys(found)]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(started),
            "completedAt": hs_time(ctx.now),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return _json(out, 207)
        return _json(out)

    def batch_update() -> Response:
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(
                f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}", context={"inputs": [str(len(inputs))]}
            )
        row_fault: Fault | None = g.get("row_fault") or ctx.faults.peek(VENDOR, g.fault_key, "reject_rows")
        with ctx.lock:
            _require(ctx, WRITE_SCOPE[object_type])
            defs = property_defs(ctx, object_type)
            _validate_properties(defs, inputs)
            by_id = get_objects(ctx, object_type, [str(i.get("id")) for i in inputs])
            state = _state(ctx)
            errors: list[dict[str, Any]] = []
            updated: list[str] = []
            missing: list[str] = []
            for i, inp in enumerate(inputs, start=1):
                oid = str(inp.get("id"))
                if oid not in by_id:
                    missing.append(oid)
                    continue
                if row_fault and (oid in row_fault.ids or (row_fault.every and i % row_fault.every == 0)):
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": row_fault.message or f"Record {oid} was rejected by a validation rule",
                            "context": {"ids": [oid]},
                        }
                    )
                    continue
                state.written.setdefault(oid, {}).update(inp.get("properties") or {})
                state.extra["touched"][oid] = ctx.now
                updated.append(oid)
            if missing:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist. Check that ids are valid.",
                        "context": {"ids": missing},
                    }
                )
            fresh = get_objects(ctx, object_type, updated)
            results = [fresh[i].json(list((inputs[0].get("properties") or {}).keys())) for i in updated]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return _json(out, 207)
        return _json(out)

    app.add_url_rule(base, f"{object_type}_list", list_objects, methods=["GET"])
    app.add_url_rule(f"{base}/<object_id>", f"{object_type}_get", get_object, methods=["GET"])
    app.add_url_rule(f"{base}/search", f"{object_type}_search", search, methods=["POST"])
    app.add_url_rule(f"{base}/batch/read", f"{object_type}_batch_read", batch_read, methods=["POST"])
    app.add_url_rule(f"{base}/batch/update", f"{object_type}_batch_update", batch_update, methods=["POST"])


# --- properties --------------------------------------------------------------------------------------------

_PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_FIELD_TYPES = {
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "html",
    "file",
    "phonenumber",
}


def _register_properties(app: Flask, ctx: SandboxContext, object_type: str) -> None:
    base = f"/crm/v3/properties/{object_type}"
    read_scope = f"crm.schemas.{object_type}.read"
    write_scope = f"crm.schemas.{object_type}.write"

    def _groups() -> dict[str, dict[str, Any]]:
        groups = _state(ctx).extra.setdefault("groups", {}).setdefault(object_type, {})
        builtin = BUILTIN_GROUPS[object_type]
        return {
            builtin: {"name": builtin, "label": builtin.title(), "displayOrder": -1, "archived": False},
            **groups,
        }

    def list_properties() -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            return _json({"results": list(property_defs(ctx, object_type).values())})

    def get_property(name: str) -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            prop = property_defs(ctx, object_type).get(name)
        if prop is None:
            raise HubSpotError(
                404,
                f"Unable to find property named '{name}' for object type {TYPE_IDS[object_type]}",
                "OBJECT_NOT_FOUND",
            )
        return _json(prop)

    def create_property() -> Response:
        body = _body()
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: a property definition object is required")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise _validation(f"Invalid input JSON: missing required field(s) {', '.join(missing)}")
        if body["type"] not in _PROPERTY_TYPES or body["fieldType"] not in _FIELD_TYPES:
            raise _validation(f"Invalid type/fieldType combination: {body['type']}/{body['fieldType']}")
        if body["type"] == "enumeration" and not body.get("options"):
            raise _validation("Enumeration properties need at least one option")
        with ctx.lock:
            _require(ctx, write_scope)
            name = str(body["name"])
            if name in property_defs(ctx, object_type):
                raise HubSpotError(
                    409,
                    f"Property named '{name}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                    subCategory="PropertyValidationError.PROPERTY_EXISTS",
                )
            if body["groupName"] not in _groups():
                raise _validation(f"Property group '{body['groupName']}' does not exist.")
            now = hs_time(ctx.now)
            prop = {
                "name": name,
                "label": body["label"],
                "type": body["type"],
                "fieldType": body["fieldType"],
                "description": body.get("description", ""),
                "groupName": body["groupName"],
                "options": [
                    {
                        "label": o.get("label", o.get("value")),
                        "value": o.get("value"),
                        "displayOrder": o.get("displayOrder", i),
                        "hidden": bool(o.get("hidden", False)),
                    }
                    for i, o in enumerate(body.get("options") or [])
                ],
                "displayOrder": body.get("displayOrder", -1),
                "calculated": False,
                "externalOptions": False,
                "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
                "hidden": bool(body.get("hidden", False)),
                "hubspotDefined": False,
                "modificationMetadata": {
                    "archivable": True,
                    "readOnlyDefinition": False,
                    "readOnlyValue": False,
                },
                "formField": bool(body.get("formField", False)),
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "objectType": object_type,
            }
            _state(ctx).custom_fields[name] = prop
        return _json({k: v for k, v in prop.items() if k != "objectType"}, 201)

    def list_groups() -> Response:
        with ctx.lock:
            _require(ctx, read_scope)
            return _json({"results": list(_groups().values())})

    def create_group() -> Response:
        body = _body()
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise _validation("Invalid input JSON: name and label are required")
        with ctx.lock:
            _require(ctx, write_scope)
            name = str(body["name"])
            if name in _groups():
                raise HubSpotError(
                    409, f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
                )
            group = {
                "name": name,
                "label": body["label"],
                "displayOrder": body.get("displayOrder", -1),
                "archived": False,
            }
            _state(ctx).extra.setdefault("groups", {}).setdefault(object_type, {})[name] = group
        return _json(group, 201)

    app.add_url_rule(base, f"{object_type}_props", list_properties, methods=["GET"])
    app.add_url_rule(base, f"{object_type}_props_create", create_property, methods=["POST"])
    app.add_url_rule(f"{base}/groups", f"{object_type}_groups", list_groups, methods=["GET"])
    app.add_url_rule(f"{base}/groups", f"{object_type}_groups_create", create_group, methods=["POST"])
    app.add_url_rule(f"{base}/<name>", f"{object_type}_prop", get_property, methods=["GET"])


# --- associations ------------------------------------------------------------------------------------------


def _assoc_item(from_type: str, to_type: str, to_id: str) -> dict[str, Any]:
    type_id = ASSOC_TYPES.get((from_type, to_type), 1)
    return {
        "toObjectId": int(to_id),
        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
    }


def _register_associations(app: Flask, ctx: SandboxContext) -> None:
    def _check_types(from_type: str, to_type: str) -> None:
        if from_type not in OBJECT_TYPES or to_type not in OBJECT_TYPES:
            raise _validation(
                f"Unable to infer object type from: {from_type if from_type not in OBJECT_TYPES else to_type}"
            )

    @app.get("/crm/v4/objects/<from_type>/<object_id>/associations/<to_type>")
    def assoc_page(from_type: str, object_id: str, to_type: str) -> Response:
        _check_types(from_type, to_type)
        try:
            limit = min(int(request.args.get("limit", "500")), 500)
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        with ctx.lock:
            _require(ctx, READ_SCOPE[from_type])
            ids = associations(ctx, from_type, to_type, [object_id]).get(object_id, [])
        page = ids[after : after + limit]
        out: dict[str, Any] = {"results": [_assoc_item(from_type, to_type, i) for i in page]}
        if after + limit < len(ids):
            out["paging"] = {"next": {"after": str(after + limit), "link": None}}
        return _json(out)

    @app.post("/crm/v4/associations/<from_type>/<to_type>/batch/read")
    def assoc_batch_read(from_type: str, to_type: str) -> Response:
        _check_types(from_type, to_type)
        body = _body()
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > ASSOC_BATCH_LIMIT:
            raise _validation(f"Too many inputs: {len(inputs)} > {ASSOC_BATCH_LIMIT}")
        with ctx.lock:
            _require(ctx, READ_SCOPE[from_type])
            wanted = [str(i.get("id")) for i in inputs]
            table = associations(ctx, from_type, to_type, wanted)
            live = set(get_objects(ctx, from_type, wanted))
        results, missing = [], []
        for inp in inputs:
            oid = str(inp.get("id"))
            if oid not in live:
                missing.append(oid)
                continue
            ids = table.get(oid, [])
            if ids:
                results.append({"from": {"id": oid}, "to": [_assoc_item(from_type, to_type, i) for i in ids]})
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.FROM_OBJECT_NOT_FOUND",
                    "message": f"No {SINGULAR[from_type]} found for ids {missing}",
                    "context": {"fromObjectId": missing},
                }
            ]
            return _json(out, 207)
        return _json(out)


# ---------------------------------------------------------------------------------------------------------
# Ground truth, state inspection, webhooks
# ---------------------------------------------------------------------------------------------------------


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Which customer each HubSpot company and ticket truly belongs to."""
    with ctx.lock:
        accounts = {company_id(c.key): c.hubspot.duplicate_of or c.key for c in _hub_customers(ctx).values()}
        tickets = {numeric_id("ticket", t.key): t.customer_key for t in _crm_tickets(ctx)}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext) -> dict[str, dict[str, object]]:
    """Current value of every property our product wrote, by HubSpot record id."""
    with ctx.lock:
        return {rid: dict(values) for rid, values in _state(ctx).written.items()}


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
            **sign_hubspot_v3(state.webhook_secret or state.oauth.client_secret, "POST", url, body, stamp),
        }
        out.append((url, headers, body))
    return out
