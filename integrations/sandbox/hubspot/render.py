"""Rendering the Book as HubSpot objects, one at a time: companies, contacts, deals, tickets, e-mails and
notes, feedback submissions; list pages, associations and property definitions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.book import Customer
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.formats import _date_prop, _num, hs_time
from integrations.sandbox.hubspot.index import (
    HubObject,
    _archived,
    _custom_names,
    _index,
    _is_note,
    _modified,
    _owner_id,
    _state,
    comment_id,
    company_id,
)
from integrations.sandbox.hubspot.schema import (
    BUILTIN_GROUPS,
    BUILTIN_PROPERTIES,
    DEAL_STAGES,
    DEAL_TYPES,
    MOD_PROPERTY,
    TICKET_PRIORITIES,
    TICKET_STAGES,
    numeric_id,
)

# --- builders: one object at a time ---------------------------------------------------------------------


@dataclass(slots=True)
class _Env:
    """Lookups the builders of one request share (built on first use)."""

    ctx: SandboxContext
    _emails: dict[str, str] | None = None
    _custom: dict[str, list[str]] = field(default_factory=dict)

    def contact_for(self, email: str) -> str | None:
        if self._emails is None:
            contacts, cache = self.ctx.book.contacts, self.ctx.read_cache
            # A served sandbox keeps the map while the contacts and the clock hold (issue 17 profile: building
            # it per request was a third of the emulator's time on a 10k book's ticket pages).
            key = ("emails", id(contacts), len(contacts), self.ctx.book.now)
            hit = cache.get(key) if cache is not None else None
            if hit is None:
                hit = {k.email.lower(): numeric_id("contact", k.key) for k in contacts.values()}
                if cache is not None:
                    cache[key] = hit
            self._emails = hit
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


# Option labels HubSpot gives built-in enumerations where a value's own words would read wrong: stages are
# labelled by their pipeline (names_api), booleans Yes/No, survey types are acronyms.
_LABELS: dict[str, str] = {"newbusiness": "New Business", "smb": "SMB", "true": "Yes", "false": "No"}
_ACRONYMS = frozenset({"NPS", "CSAT", "CES"})
_PIPELINES = {("pipeline", "default"): "Sales Pipeline", ("hs_pipeline", "0"): "Support Pipeline"}


def option_label(prop: str, value: str) -> str:
    """A built-in enumeration option's label: `closedwon` → "Closed Won" (the deal pipeline's stage label),
    `2` → "Waiting on contact", `mid_market` → "Mid market", `NPS` stays "NPS" (the old `title()` read
    "Closedwon", "Mid_Market", "Nps")."""
    from integrations.sandbox.hubspot.names_api import DEAL_PIPELINE, TICKET_PIPELINE

    if prop == "dealstage" and value in DEAL_PIPELINE:
        return DEAL_PIPELINE[value][0]
    if prop == "hs_pipeline_stage" and value in TICKET_PIPELINE:
        return TICKET_PIPELINE[value]
    if (prop, value) in _PIPELINES:
        return _PIPELINES[(prop, value)]
    if value in _LABELS:
        return _LABELS[value]
    if value in _ACRONYMS:
        return value
    return value.replace("_", " ").capitalize()


# HubSpot's own labels of its default properties (the property settings page and record sidebars show
# these, not the internal name). Properties not listed (the portal's custom ones here: arr, plan ...) read
# as their name in words.
BUILTIN_LABELS: dict[str, str] = {
    "hs_object_id": "Record ID",
    "hs_lastmodifieddate": "Last Modified Date",
    "lastmodifieddate": "Last Modified Date",
    "createdate": "Create Date",
    "hs_createdate": "Create Date",
    "name": "Name",
    "domain": "Company Domain Name",
    "industry": "Industry",
    "lifecyclestage": "Lifecycle Stage",
    "hubspot_owner_id": "Owner",
    "email": "Email",
    "firstname": "First Name",
    "lastname": "Last Name",
    "jobtitle": "Job Title",
    "associatedcompanyid": "Primary Associated Company ID",
    "notes_last_contacted": "Last Contacted",
    "dealname": "Deal Name",
    "amount": "Amount",
    "pipeline": "Pipeline",
    "dealstage": "Deal Stage",
    "dealtype": "Deal Type",
    "closedate": "Close Date",
    "hs_is_closed": "Is Deal Closed?",
    "hs_is_closed_won": "Is Closed Won",
    "subject": "Ticket name",
    "content": "Ticket description",
    "hs_pipeline": "Pipeline",
    "hs_pipeline_stage": "Ticket status",
    "hs_ticket_priority": "Priority",
    "closed_date": "Close date",
    "time_to_close": "Time to close",
    "time_to_first_agent_reply": "Time to first agent reply",
    "hs_timestamp": "Activity date",
    "hs_note_body": "Note body",
    "hs_email_subject": "Email subject",
    "hs_email_text": "Email body",
}


def property_defs(ctx: SandboxContext, object_type: str) -> dict[str, dict[str, Any]]:
    """Every property of a type (built-in and created through the API) in HubSpot's property JSON shape."""
    out: dict[str, dict[str, Any]] = {}
    for name, (ptype, ftype, options) in BUILTIN_PROPERTIES[object_type].items():
        out[name] = {
            "name": name,
            "label": BUILTIN_LABELS.get(name) or name.replace("_", " ").title(),
            "type": ptype,
            "fieldType": ftype,
            "description": "",
            "groupName": BUILTIN_GROUPS[object_type],
            "options": [
                {"label": option_label(name, o), "value": o, "displayOrder": i, "hidden": False}
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
