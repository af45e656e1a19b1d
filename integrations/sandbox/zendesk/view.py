"""`_View`: the Book rendered as Zendesk JSON (organizations, users, tickets, comments, metric sets,
satisfaction ratings, ticket events) for one request's base URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrations.sandbox.book import Book, Comment, Customer, Survey, Ticket
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.ids import numeric_id, salesforce_id
from integrations.sandbox.zendesk.events import _TicketEvents
from integrations.sandbox.zendesk.state import (
    API,
    _crc_id,
    _iso,
    _state,
    _ts,
    comment_id,
    group_id,
    org_id,
    rating_id,
    ticket_id,
)

if TYPE_CHECKING:
    from integrations.sandbox.zendesk.cache import _Cache

# ------------------------------------------------------------------------------------------------ rendering


class _View(_TicketEvents):
    """One request's read-only rendering of the book (indices built once per request, or taken from the
    app's `_Cache` while the book is unchanged)."""

    def __init__(self, ctx: SandboxContext, base: str, cache: _Cache | None = None) -> None:
        self.ctx = ctx
        self.book: Book = ctx.book
        self.state = _state(ctx)
        self.base = base.rstrip("/")
        self._ratings_by_ticket: dict[str, Survey] | None = None
        self.cache = cache
        if cache is not None:
            cache.sync(self)
            self.contacts_by_email = cache.contacts_by_email
            self._ratings_by_ticket = cache.ratings_by_ticket
        else:
            self.contacts_by_email = {c.email.lower(): c for c in self.book.contacts.values()}
        self._user_ids: dict[tuple[str, str], int] = cache.user_ids if cache is not None else {}

    # users -------------------------------------------------------------------------------------------
    def user_id(self, email: str, role: str) -> int:
        uid = self._user_ids.get((email, role))
        if uid is None:
            contact = self.contacts_by_email.get(email.lower())
            if contact is not None and role == "customer":
                uid = int(numeric_id("user", contact.key))
            else:
                uid = _crc_id(388_000_000 if role == "agent" else 397_000_000, email)
            self._user_ids[(email, role)] = uid
        return uid

    def user(self, email: str, role: str, name: str, organization: int | None) -> dict[str, Any]:
        uid = self.user_id(email, role)
        contact = self.contacts_by_email.get(email.lower()) if role == "customer" else None
        if contact is not None:
            name = f"{contact.first_name} {contact.last_name}"
        created = contact.created_at if contact else self.book.now - timedelta(days=900)
        updated = contact.updated_at if contact else created
        return {
            "id": uid,
            "url": f"{self.base}{API}/users/{uid}.json",
            "name": name or email.split("@")[0],
            "email": email,
            "role": "agent" if role == "agent" else "end-user",
            "organization_id": organization if role == "customer" else None,
            "active": True,
            "verified": True,
            "suspended": False,
            "time_zone": "UTC",
            "locale": "en-US",
            "tags": [],
            "created_at": _iso(created),
            "updated_at": _iso(updated),
        }

    # organizations ------------------------------------------------------------------------------------
    def zendesk_customers(self) -> list[Customer]:
        # a record "created" after the sandbox clock does not exist yet (the seed can schedule such records)
        return [
            c for c in self.book.customers.values() if c.zendesk.present and c.created_at <= self.book.now
        ]

    def org_deleted_at(self, c: Customer) -> datetime | None:
        return c.zendesk.deleted_at or c.deleted_at

    def org_updated_at(self, c: Customer) -> datetime:
        oid = org_id(c.key)
        stamps = [c.zendesk.updated_at or c.updated_at or c.created_at]
        if (bumped := self.state.extra["bumped"].get(oid)) is not None:
            stamps.append(bumped)
        if (deleted := self.org_deleted_at(c)) is not None:
            stamps.append(deleted)
        return max(stamps)

    def organization(self, c: Customer) -> dict[str, Any]:
        oid = org_id(c.key)
        p = c.zendesk
        external = None
        if (
            p.cross_ref and p.duplicate_of is None
        ):  # Zendesk requires unique external_ids: duplicates have none
            external = salesforce_id("Account", c.key)
        fields = {f["key"]: None for f in self.state.custom_fields.values()}
        fields.update(self.state.written.get(str(oid), {}))
        body = {
            "url": f"{self.base}{API}/organizations/{oid}.json",
            "id": oid,
            "name": p.name or c.name,
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": external,
            "created_at": _iso(c.created_at),
            "updated_at": _iso(self.org_updated_at(c)),
            "domain_names": list(p.domains),
            "details": "",
            "notes": "",
            "group_id": None,
            "tags": [c.segment],
            "organization_fields": fields,
        }
        if (deleted := self.org_deleted_at(c)) is not None:
            body["deleted_at"] = _iso(deleted)
        return body

    # tickets ------------------------------------------------------------------------------------------
    def group(self, name: str) -> dict[str, Any]:
        """A group as /groups.json and the ticket export's `groups` sideload render it."""
        gid = group_id(name)
        stamp = _iso(self.book.now - timedelta(days=900))
        return {
            "id": gid,
            "url": f"{self.base}{API}/groups/{gid}.json",
            "name": name,
            "description": "",
            "default": False,
            "deleted": False,
            "is_public": True,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def zendesk_tickets(self) -> list[Ticket]:
        return [
            t for t in self.book.tickets.values() if t.channel == "zendesk" and t.created_at <= self.book.now
        ]

    def generated(self, t: Ticket) -> int:
        stamps = [t.updated_at] + ([t.deleted_at] if t.deleted_at else [])
        return _ts(max(stamps))

    def ticket_org(self, t: Ticket) -> int | None:
        c = self.book.customers.get(t.customer_key)
        visible = c is not None and c.zendesk.present and c.created_at <= self.book.now
        return org_id(c.key) if c is not None and visible else None

    def agent_of(self, t: Ticket) -> tuple[str, str]:
        agents = [(c.author_email, c.author_name) for c in t.comments if c.author_role == "agent"]
        if agents:
            return agents[-1]
        slug = t.group.lower().replace(" ", "")
        return (f"{slug}.agent@support.example.com", f"{t.group} Agent")

    def ticket_users(self, t: Ticket) -> list[dict[str, Any]]:
        org = self.ticket_org(t)
        out = {}
        req = self.user(t.requester_email, "customer", "", org)
        out[req["id"]] = req
        email, name = self.agent_of(t)
        agent = self.user(email, "agent", name, None)
        out[agent["id"]] = agent
        for c in t.comments:
            u = self.user(c.author_email, c.author_role, c.author_name, org)
            out.setdefault(u["id"], u)
        return list(out.values())

    def rating_for(self, t: Ticket) -> Survey | None:
        if self._ratings_by_ticket is None:  # built once per request: pages hold up to 1,000 tickets
            self._ratings_by_ticket = {
                s.ticket_key: s
                for s in self.book.surveys.values()
                if s.kind == "csat" and s.ticket_key is not None and s.score != 3
            }
        return self._ratings_by_ticket.get(t.key)

    def ticket_by_id(self, tid: int) -> Ticket | None:
        if self.cache is not None:
            self.cache.index(self)
            return self.cache.by_id.get(tid)
        for t in self.zendesk_tickets():
            if ticket_id(t.key) == tid:
                return t
        return None

    def ticket(self, t: Ticket) -> dict[str, Any]:
        tid = ticket_id(t.key)
        org = self.ticket_org(t)
        requester = self.user_id(t.requester_email, "customer")
        agent_email, _ = self.agent_of(t)
        customers = {
            self.user_id(c.author_email, "customer") for c in t.comments if c.author_role == "customer"
        }
        tags = [t.group.lower().replace(" ", "_"), "support"]
        if t.escalated:
            tags.append("escalated")
        rating = self.rating_for(t)
        sat: dict[str, Any] = {"score": "unoffered"}
        if rating is not None:
            sat = {"id": rating_id(rating.key), "score": _score(rating), "comment": rating.comment}
        elif t.status in ("solved", "closed"):
            sat = {"score": "offered"}
        first = t.comments[0] if t.comments else None
        return {
            "url": f"{self.base}{API}/tickets/{tid}.json",
            "id": tid,
            "external_id": None,
            "via": {"channel": "email", "source": {"from": {"address": t.requester_email}, "rel": None}},
            "created_at": _iso(t.created_at),
            "updated_at": _iso(t.updated_at),
            "generated_timestamp": self.generated(t),
            "type": "incident" if t.priority in ("high", "urgent") else "question",
            "subject": t.subject,
            "raw_subject": t.subject,
            "description": first.body if first else "",
            "priority": t.priority,
            "status": "deleted" if t.deleted_at else t.status,
            "recipient": "support@example.zendesk.com",
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": self.user_id(agent_email, "agent"),
            "organization_id": org,
            "group_id": group_id(t.group),
            "collaborator_ids": sorted(customers - {requester}),
            "follower_ids": [],
            "email_cc_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": tags,
            "custom_fields": [],
            "satisfaction_rating": sat,
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "brand_id": 360_000_001,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }

    def metric_set(self, t: Ticket) -> dict[str, Any]:
        tid = ticket_id(t.key)
        public_agent = [c for c in t.comments if c.author_role == "agent" and c.public]
        frm, full = t.first_reply_minutes, t.full_resolution_minutes
        first_res = None if full is None else (full if t.reopens == 0 else int(full * 0.6))

        def minutes(value: int | None) -> dict[str, int | None]:
            # business minutes: a sandbox approximation (about 9-to-5 on weekdays)
            return {"calendar": value, "business": None if value is None else int(value * 0.3)}

        last = t.comments[-1].created_at if t.comments else t.created_at
        return {
            "url": f"{self.base}{API}/ticket_metrics/{tid + 500_000_000}.json",
            "id": tid + 500_000_000,
            "ticket_id": tid,
            "group_stations": 1,
            "assignee_stations": 1,
            "reopens": t.reopens,
            "replies": len(public_agent),
            "assignee_updated_at": _iso(public_agent[-1].created_at) if public_agent else None,
            "requester_updated_at": _iso(last),
            "status_updated_at": _iso(t.updated_at),
            "initially_assigned_at": _iso(t.created_at),
            "assigned_at": _iso(t.created_at),
            "solved_at": _iso(t.solved_at),
            "latest_comment_added_at": _iso(last),
            "reply_time_in_minutes": minutes(frm),
            "first_resolution_time_in_minutes": minutes(first_res),
            "full_resolution_time_in_minutes": minutes(full),
            "agent_wait_time_in_minutes": minutes(None if full is None else int(full * 0.2)),
            "requester_wait_time_in_minutes": minutes(None if full is None else int(full * 0.5)),
            "on_hold_time_in_minutes": minutes(0),
            "created_at": _iso(t.created_at),
            "updated_at": _iso(t.updated_at),
        }

    def comment(self, t: Ticket, c: Comment) -> dict[str, Any]:
        return {
            "id": comment_id(c.key),
            "type": "Comment",
            "author_id": self.user_id(c.author_email, c.author_role),
            "body": c.body,
            "html_body": c.html_body,
            "plain_body": c.body,
            "public": c.public,
            "attachments": [],
            "audit_id": comment_id(c.key) + 1_000_000_000,
            "via": {"channel": "email" if c.author_role == "customer" else "web", "source": {}},
            "created_at": _iso(c.created_at),
            "metadata": {"system": {}, "custom": {}},
        }

    # users list -----------------------------------------------------------------------------------------
    def users_in_roles(self, tickets: list[Ticket], roles: set[str]) -> list[dict[str, Any]]:
        """Users the visible tickets mention (requesters, assignees, comment authors) whose Zendesk role is
        in `roles` ("end-user", "agent"; "admin" matches none: the sandbox's agents are all plain agents)."""
        agents: dict[str, str] = {}
        customers: dict[str, tuple[str, int | None]] = {}
        want_customers = "end-user" in roles
        for t in tickets:
            email, name = self.agent_of(t)
            agents.setdefault(email, name)
            org = self.ticket_org(t) if want_customers else None
            if want_customers:
                customers.setdefault(t.requester_email, ("", org))
            for c in t.comments:
                if c.author_role == "agent":
                    agents.setdefault(c.author_email, c.author_name)
                elif want_customers:
                    customers.setdefault(c.author_email, (c.author_name, org))
        out = {}
        if "agent" in roles:
            for email, name in agents.items():
                u = self.user(email, "agent", name, None)
                out[u["id"]] = u
        for email, (name, org) in customers.items():
            u = self.user(email, "customer", name, org)
            out.setdefault(u["id"], u)
        return sorted(out.values(), key=lambda u: int(u["id"]))

    # ratings ------------------------------------------------------------------------------------------
    def ratings(self) -> list[tuple[Survey, Ticket]]:
        out = []
        for s in self.book.surveys.values():
            t = self.book.tickets.get(s.ticket_key or "")
            if s.kind == "csat" and s.score != 3 and t is not None and t.channel == "zendesk":
                out.append((s, t))
        return out

    def rating(self, s: Survey, t: Ticket) -> dict[str, Any]:
        rid = rating_id(s.key)
        agent_email, _ = self.agent_of(t)
        return {
            "url": f"{self.base}{API}/satisfaction_ratings/{rid}.json",
            "id": rid,
            "assignee_id": self.user_id(agent_email, "agent"),
            "group_id": group_id(t.group),
            "requester_id": self.user_id(s.contact_email or t.requester_email, "customer"),
            "ticket_id": ticket_id(t.key),
            "score": _score(s),
            "comment": s.comment or None,
            "reason": None,
            "reason_code": 0,
            "created_at": _iso(s.responded_at),
            "updated_at": _iso(s.updated_at),
        }


def _score(s: Survey) -> str:
    return "good" if s.score >= 4 else "bad"
