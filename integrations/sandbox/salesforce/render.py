"""Rendering the Book as Salesforce sObject rows (Account, Contact, Opportunity, Case, CaseComment,
EmailMessage, Survey_Response__c, User), with our written custom fields merged in.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from integrations.sandbox.book import Book, Comment, Customer, Ticket
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.ids import _B62, numeric_id, salesforce_id
from integrations.sandbox.salesforce.schema import (
    HISTORY_OBJECT,
    KEY_PREFIX,
    RELATIONS,
    SURVEY_OBJECT,
    VENDOR,
)

# ----------------------------------------------------------------------------------------------------------
# Rendering the Book as sObjects
# ----------------------------------------------------------------------------------------------------------

SEGMENTS = {"smb": "SMB", "mid_market": "Mid-Market", "enterprise": "Enterprise"}
STAGES = {
    "prospecting": ("Prospecting", 10),
    "qualification": ("Qualification", 20),
    "proposal": ("Proposal/Price Quote", 75),
    "negotiation": ("Negotiation/Review", 90),
    "closed_won": ("Closed Won", 100),
    "closed_lost": ("Closed Lost", 0),
}
OPP_TYPES = {"new_business": "New Customer", "renewal": "Renewal", "upsell": "Existing Customer - Upgrade"}
CASE_STATUS = {
    "new": "New",
    "open": "Working",
    "pending": "On Hold",
    "solved": "Resolved",
    "closed": "Closed",
}
CASE_PRIORITY = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Critical"}


@functools.lru_cache(
    maxsize=1 << 20
)  # a pure function of its arguments; rendering a book's comments asks again
def hashed_id(sobject: str, key: str) -> str:
    """An 18-char id from a hash, for keys whose trailing number is not unique (comments, users)."""
    n = int.from_bytes(hashlib.sha256(f"{sobject}:{key}".encode()).digest()[:8], "big") % (62**10)
    digits = ""
    for _ in range(10):
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return KEY_PREFIX[sobject] + "5g" + digits + "AAA"


def _latest(*stamps: datetime | None) -> datetime:
    return max(s for s in stamps if s is not None)


def _account_id(book: Book, customer_key: str) -> str | None:
    c = book.customers.get(customer_key)
    if c is None or not c.salesforce.present:
        return None
    return salesforce_id("Account", customer_key)


def _customer_deleted(c: Customer) -> datetime | None:
    return c.salesforce.deleted_at or c.deleted_at


def _user_row(name: str, email: str, user_type: str, created: datetime) -> dict[str, Any]:
    return {
        "Id": hashed_id("User", email.lower()),
        "Name": name,
        "Email": email,
        "UserType": user_type,
        "CreatedDate": created,
        "LastModifiedDate": created,
        "SystemModstamp": created,
    }


def _owner_email(owner: str) -> str:
    return owner.lower().replace(" ", ".") + "@sandbox-crm.example"


def _account_type(ctx: SandboxContext, c: Any) -> str:
    """A churned customer is a former customer from its outcome date on (sandbox README, ground truth)."""
    if c.outcome == "churned" and c.outcome_date is not None and c.outcome_date <= ctx.book.now.date():
        return "Former Customer"
    return "Customer - Direct"


def render_accounts(ctx: SandboxContext) -> list[dict[str, Any]]:
    vs = ctx.vendors[VENDOR]
    stamps: dict[str, datetime] = vs.extra.setdefault("modstamps", {})
    rows = []
    for c in ctx.book.customers.values():
        p = c.salesforce
        if not p.present:
            continue
        rid = salesforce_id("Account", c.key)
        deleted = _customer_deleted(c)
        modified = _latest(c.created_at, c.updated_at, p.updated_at, deleted, stamps.get(rid))
        row: dict[str, Any] = {
            "Id": rid,
            "IsDeleted": deleted is not None,
            "Name": p.name or c.name,
            "Type": _account_type(ctx, c),
            "Industry": c.industry,
            "Website": f"www.{p.domains[0]}" if p.domains else None,
            "AnnualRevenue": float(c.arr),
            "OwnerId": hashed_id("User", _owner_email(c.owner)),
            "CreatedDate": c.created_at,
            "LastModifiedDate": modified,
            "SystemModstamp": modified,
            "Segment__c": SEGMENTS.get(c.segment, c.segment),
            "Plan__c": c.plan,
            "Renewal_Date__c": c.renewal_date,
            "ARR_Prior_Year__c": float(c.arr_prev),
            "Active_Users__c": float(c.active_users),
            "Licensed_Seats__c": float(c.licensed_seats),
            "Zendesk_Organization_Id__c": numeric_id("organization", c.key) if p.cross_ref else None,
        }
        for name in vs.custom_fields:
            row[name] = None
        row.update(vs.written.get(rid, {}))
        rows.append(row)
    return rows


def render_contacts(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for ct in book.contacts.values():
        c = book.customers.get(ct.customer_key)
        cdel = _customer_deleted(c) if c else None
        deleted = ct.deleted_at or cdel
        rows.append(
            {
                "Id": salesforce_id("Contact", ct.key),
                "IsDeleted": deleted is not None,
                "AccountId": _account_id(book, ct.customer_key),
                "FirstName": ct.first_name,
                "LastName": ct.last_name,
                "Name": f"{ct.first_name} {ct.last_name}",
                "Email": ct.email,
                "Title": ct.title,
                "LastActivityDate": ct.last_contacted_at.date() if ct.last_contacted_at else None,
                "CreatedDate": ct.created_at,
                "LastModifiedDate": _latest(ct.updated_at, deleted),
                "SystemModstamp": _latest(ct.updated_at, deleted),
            }
        )
    return rows


def render_opportunities(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for d in book.deals.values():
        c = book.customers.get(d.customer_key)
        deleted = d.deleted_at or (_customer_deleted(c) if c else None)
        stage, prob = STAGES.get(d.stage, (d.stage, 50))
        rows.append(
            {
                "Id": salesforce_id("Opportunity", d.key),
                "IsDeleted": deleted is not None,
                "AccountId": _account_id(book, d.customer_key),
                "Name": d.name,
                "Type": OPP_TYPES.get(d.kind, d.kind),
                "StageName": stage,
                "Amount": float(d.amount),
                "CloseDate": d.close_date,
                "IsClosed": d.stage.startswith("closed"),
                "IsWon": d.stage == "closed_won",
                "Probability": float(prob),
                "CreatedDate": d.created_at,
                "LastModifiedDate": _latest(d.updated_at, deleted),
                "SystemModstamp": _latest(d.updated_at, deleted),
            }
        )
    return rows


def _crm_tickets(book: Book) -> Iterable[Ticket]:
    return (t for t in book.tickets.values() if t.channel == "crm")


def case_origin(ticket: Ticket) -> str:
    """Two in three CRM cases come in by e-mail (Email-to-Case: the thread is EmailMessages)."""
    return "Web" if int(re.sub(r"\D", "", ticket.key) or 0) % 3 == 0 else "Email"


def _ticket_deleted(book: Book, t: Ticket) -> datetime | None:
    c = book.customers.get(t.customer_key)
    return t.deleted_at or (_customer_deleted(c) if c else None)


def render_cases(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for t in _crm_tickets(book):
        deleted = _ticket_deleted(book, t)
        first = t.comments[0].body if t.comments else ""
        rows.append(
            {
                "Id": salesforce_id("Case", t.key),
                "IsDeleted": deleted is not None,
                "CaseNumber": f"{int(re.sub(r'[^0-9]', '', t.key) or 0):08d}",
                "AccountId": _account_id(book, t.customer_key),
                "Subject": t.subject,
                "Description": first,
                "Status": CASE_STATUS.get(t.status, t.status),
                "Priority": CASE_PRIORITY.get(t.priority, t.priority),
                "IsEscalated": t.escalated,
                "Origin": case_origin(t),
                "SuppliedEmail": t.requester_email,
                "IsClosed": t.status in ("solved", "closed"),
                "ClosedDate": t.solved_at if t.status in ("solved", "closed") else None,
                "CreatedDate": t.created_at,
                "LastModifiedDate": _latest(t.updated_at, deleted),
                "SystemModstamp": _latest(t.updated_at, deleted),
            }
        )
    return rows


def _case_comment_source(book: Book) -> Iterable[tuple[Ticket, Comment, datetime | None]]:
    """Web cases keep their whole thread as CaseComments; Email-to-Case keeps only internal notes there."""
    for t in _crm_tickets(book):
        email = case_origin(t) == "Email"
        deleted = _ticket_deleted(book, t)
        for cm in t.comments:
            if not email or not cm.public:
                yield t, cm, deleted


def _email_source(book: Book) -> Iterable[tuple[Ticket, Comment, datetime | None]]:
    for t in _crm_tickets(book):
        if case_origin(t) != "Email":
            continue
        deleted = _ticket_deleted(book, t)
        for cm in t.comments:
            if cm.public:
                yield t, cm, deleted


def render_case_comments(ctx: SandboxContext) -> list[dict[str, Any]]:
    rows = []
    for t, cm, deleted in _case_comment_source(ctx.book):
        user_type = "Standard" if cm.author_role == "agent" else "CspLitePortal"
        rows.append(
            {
                "Id": hashed_id("CaseComment", cm.key),
                "IsDeleted": deleted is not None,
                "ParentId": salesforce_id("Case", t.key),
                "CommentBody": cm.body,
                "IsPublished": cm.public,
                "CreatedById": hashed_id("User", cm.author_email.lower()),
                "CreatedDate": cm.created_at,
                "LastModifiedDate": _latest(cm.created_at, deleted),
                "SystemModstamp": _latest(cm.created_at, deleted),
                "__user__": _user_row(cm.author_name, cm.author_email, user_type, cm.created_at),
            }
        )
    return rows


def render_email_messages(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for t, cm, deleted in _email_source(book):
        incoming = cm.author_role == "customer"
        rows.append(
            {
                "Id": hashed_id("EmailMessage", cm.key),
                "IsDeleted": deleted is not None,
                "ParentId": salesforce_id("Case", t.key),
                "Incoming": incoming,
                "Subject": ("" if incoming else "RE: ") + t.subject,
                "TextBody": cm.body,
                "HtmlBody": cm.html_body,
                "FromAddress": cm.author_email,
                "ToAddress": "support@sandbox-crm.example" if incoming else t.requester_email,
                "MessageDate": cm.created_at,
                "Status": "0" if incoming else "3",  # 0 = New, 3 = Sent (EmailMessage.Status codes)
                "CreatedDate": cm.created_at,
                "LastModifiedDate": _latest(cm.created_at, deleted),
                "SystemModstamp": _latest(cm.created_at, deleted),
            }
        )
    return rows


def render_surveys(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for s in book.surveys.values():
        ticket = book.tickets.get(s.ticket_key) if s.ticket_key else None
        if s.kind == "csat" and (ticket is None or ticket.channel != "crm"):
            continue  # CSAT on Zendesk tickets lives in Zendesk
        c = book.customers.get(s.customer_key)
        deleted = _customer_deleted(c) if c else None
        rows.append(
            {
                "Id": salesforce_id("SurveyResponse", s.key),
                "IsDeleted": deleted is not None,
                "Name": f"SR-{int(re.sub(r'[^0-9]', '', s.key) or 0):06d}",
                "Type__c": s.kind,
                "Score__c": float(s.score),
                "Comment__c": s.comment,
                "Account__c": _account_id(book, s.customer_key),
                "Case__c": salesforce_id("Case", ticket.key) if ticket is not None else None,
                "Contact_Email__c": s.contact_email,
                "Responded_At__c": s.responded_at,
                "CreatedDate": s.responded_at,
                "LastModifiedDate": _latest(s.updated_at, deleted),
                "SystemModstamp": _latest(s.updated_at, deleted),
            }
        )
    return rows


# The integration user the customer's product usage export signs in as: it writes Active_Users__c monthly.
USAGE_EXPORT_USER = ("Usage Export", "usage.export@sandbox-crm.example")


def render_account_history(ctx: SandboxContext) -> list[dict[str, Any]]:
    """AccountHistory of the tracked Active_Users__c: one row per change in a customer's `usage_path`
    (its first entry is the value the history starts from, not a change). Salesforce writes no row when a
    save leaves the value as it was, so a month repeating the last value has none. Ids come from (account,
    field, position in the path), the same after a restart or a tick; an Account in the recycle bin takes
    its history with it (IsDeleted, queryAll only)."""
    book = ctx.book
    creator = hashed_id("User", USAGE_EXPORT_USER[1])
    rows = []
    for c in book.customers.values():
        if not c.salesforce.present:
            continue
        account = salesforce_id("Account", c.key)
        deleted = _customer_deleted(c) is not None
        for n in range(1, len(c.usage_path)):
            (_, old), (when, new) = c.usage_path[n - 1], c.usage_path[n]
            if new == old or when > book.now:
                continue
            rows.append(
                {
                    "Id": hashed_id(HISTORY_OBJECT, f"{c.key}:Active_Users__c:{n}"),
                    "IsDeleted": deleted,
                    "AccountId": account,
                    "CreatedById": creator,
                    "CreatedDate": when,
                    "Field": "Active_Users__c",
                    "DataType": "Double",  # the DataType picklist's value for a Number field
                    "OldValue": float(old),
                    "NewValue": float(new),
                }
            )
    return rows


def render_users(ctx: SandboxContext) -> list[dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for c in ctx.book.customers.values():
        email = _owner_email(c.owner)
        users.setdefault(email, _user_row(c.owner, email, "Standard", c.created_at))
    name, email = USAGE_EXPORT_USER
    first = min((c.created_at for c in ctx.book.customers.values()), default=ctx.book.now)
    users.setdefault(email, _user_row(name, email, "Standard", first))
    for row in render_case_comments(ctx):
        users.setdefault(row["__user__"]["Email"], row["__user__"])
    return list(users.values())


def render_tasks(ctx: SandboxContext) -> list[dict[str, Any]]:
    """Tasks our product created (kept in VendorState.extra["tasks"] by tasks.py), as stored."""
    return [dict(row) for row in ctx.vendors[VENDOR].extra.get("tasks", {}).values()]


RENDERERS: dict[str, Callable[[SandboxContext], list[dict[str, Any]]]] = {
    "Account": render_accounts,
    "Contact": render_contacts,
    "Opportunity": render_opportunities,
    "Case": render_cases,
    "CaseComment": render_case_comments,
    "EmailMessage": render_email_messages,
    SURVEY_OBJECT: render_surveys,
    HISTORY_OBJECT: render_account_history,
    "User": render_users,
    "Task": render_tasks,
}


def rendered(ctx: SandboxContext, sobject: str) -> list[dict[str, Any]]:
    """Every row of `sobject` (RENDERERS), shared read-only: callers must not change the rows.

    A served sandbox (`ctx.read_cache`, issue 17) keeps them while the book's collections, its clock and
    what our product wrote (custom fields, written values, their modstamps) stay the same: a SOQL query, an
    outbound message or a write no longer re-renders every row of the org (a profile of the freshness
    benchmark: the other tenant's Salesforce refreshes rendered every Case per query). An in-place edit
    of the book goes through `ctx.edited()`, which drops the cache. Tasks are never cached."""
    cache = ctx.read_cache
    if cache is None or sobject == "Task":
        return RENDERERS[sobject](ctx)
    book, vs = ctx.book, ctx.vendors[VENDOR]
    colls = (book.customers, book.contacts, book.deals, book.tickets, book.surveys)
    state = (
        id(book),
        book.now,
        *(id(c) for c in colls),
        *(len(c) for c in colls),
        id(vs.written),
        id(vs.custom_fields),
        len(vs.custom_fields),
        id(vs.extra),
        vs.extra.get("writes", 0),
    )
    hit = cache.get(("sf-rows", sobject))
    if hit is not None and hit[0] == state:
        return hit[1]  # type: ignore[no-any-return]
    rows = RENDERERS[sobject](ctx)
    cache[("sf-rows", sobject)] = (state, rows)
    return rows


def account_index(ctx: SandboxContext) -> dict[str, bool]:
    """Account Id → IsDeleted, for checking the ids of a write. Cached like `rendered` but keyed on the book
    alone: our writes change field values, never which accounts exist, so a write-back's next batch does
    not re-render every Account row to check its 200 ids (a 10k org: 10,000 rows per batch)."""
    book = ctx.book
    state = (id(book), book.now, id(book.customers), len(book.customers))
    cache = ctx.read_cache
    hit = cache.get(("sf-account-ids",)) if cache is not None else None
    if hit is not None and hit[0] == state:
        return hit[1]  # type: ignore[no-any-return]
    index = {
        salesforce_id("Account", c.key): _customer_deleted(c) is not None
        for c in book.customers.values()
        if c.salesforce.present
    }
    if cache is not None:
        cache[("sf-account-ids",)] = (state, index)
    return index


def warm(ctx: SandboxContext) -> None:
    """Render every cached object's rows for the book as it is now (a served sandbox, after a tick changed
    it), so the first SOQL query of each object does not (issue 17). Users are rendered when asked
    (only a relation's lookups ask), Tasks are never cached."""
    if ctx.read_cache is None:
        return
    for sobject in RENDERERS:
        if sobject not in ("Task", "User"):
            rendered(ctx, sobject)


def _attach_relations(ctx: SandboxContext, sobject: str, rows: list[dict[str, Any]], used: set[str]) -> None:
    for rel in used:
        parent, fk = RELATIONS[sobject][rel]
        if (sobject, rel) == ("CaseComment", "CreatedBy"):
            for row in rows:  # each comment row carries its author; rendering all users again is costly
                row.setdefault("__rel__", {})[rel] = row["__user__"]
            continue
        index = {r["Id"]: r for r in rendered(ctx, parent)}
        for row in rows:
            row.setdefault("__rel__", {})[rel] = index.get(row.get(fk) or "")
