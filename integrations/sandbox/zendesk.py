"""Zendesk Support sandbox: renders the Book as Zendesk organizations, users, tickets, comments, metric sets
and satisfaction ratings, with Zendesk's OAuth, incremental exports, CBP paging, organization fields and
`organizations/update_many` + `job_statuses` (all under `ctx.lock`, stamped with the sandbox clock).

Wire decisions (each follows developer.zendesk.com unless marked *sandbox*):
- Ids come from `integrations.sandbox.ids` (organizations 360M+, users 380M+, tickets from 1, comments 40M+,
  ratings 90M+). Agents and free-standing requesters get crc32-derived ids (*sandbox*, deterministic).
- Incremental ticket export (cursor-based): `start_time` (epoch s) or `cursor`; items are ordered by
  `(generated_timestamp, id)`; anything changed in the minute before the sandbox clock is excluded; a
  `start_time` later than clock-60 s is refused with 400 `StartTimeTooRecent`. `after_cursor` stays valid after
  `end_of_stream`, so a client may resume from it on the next run. The cursor token is base64 of
  "<generated_timestamp>|<id>|<per_page>|<include>" (*sandbox*: opaque to clients, like Zendesk's).
  Sideloads: `metric_sets`, `users` (requester, assignee, collaborators), `organizations`.
- Incremental ticket event export (time-based, `/incremental/ticket_events.json`): one `Audit` event per
  ticket update, ordered by `(timestamp, id)`: one per comment (the first also carries the ticket's `Create`
  child events; event id = the comment's `audit_id`), a creation without comments, the solve and the deletion
  (`Change` of `status`; *sandbox*: Zendesk also logs field changes we do not model). With
  `include=comment_events` a comment child carries the comment (`id`, `body`, `html_body`, `plain_body`,
  `public`, `author_id`, `created_at`, `attachments`); without it only `comment_present`/`comment_public`
  (*sandbox* placement: on the Comment child). Up to 1,000 a page (`per_page` honoured), `end_time` = the
  last event's timestamp, `next_page` starts AT `end_time`, so edge events repeat (as Zendesk's do);
  `end_of_stream` when the rest fits the page; the last minute is excluded and refused as for tickets.
- Users list (`/users.json`, CBP): the users the tickets mention; `role`/`role[]` filters (`agent`, `admin`
  — *sandbox*: every agent is a plain agent —, `end-user`).
- Rendering is cached per app (`_Cache`): indices and per-ticket renderings are kept while the book is
  unchanged and re-checked on every request, so ticks, restores and in-place edits show at once.
- Incremental organization export is time-based (`start_time` → `end_time`/`next_page`), ordered by
  `(updated_at, id)`; like Zendesk it can repeat items at page edges.
- Satisfaction ratings: `start_time`/`end_time` filter on the rating's `updated_at` (*sandbox* choice: the
  reference only says "time of the oldest rating"), CBP `page[size]` ≤ 100, ordered by `(updated_at, id)`.
- update_many: ≤ 100 organizations; the job is applied at once but reported `queued`, then `working` until the
  `extra["job_polls_to_complete"]`-th poll (default 1), then `completed` with per-item results.
- Outbound webhooks use Zendesk's event envelope (`type`, `detail`, `subject`, `zendesk_event_version`).
  `zen:event-type:ticket.created` is a real Zendesk event; `ticket.updated` and `satisfaction.rated` are *sandbox*
  stand-ins for what a trigger-fired webhook would send (real accounts send granular `ticket.*` events).
  Signature: base64(HMAC-SHA256(secret, timestamp + body)) in X-Zendesk-Webhook-Signature(-Timestamp).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import hmac
import html
import json
import secrets
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, redirect, request

from integrations.sandbox.book import Book, Changes, Comment, Contact, Customer, Survey, Ticket
from integrations.sandbox.context import Fault, OAuthClient, SandboxContext, VendorState
from integrations.sandbox.ids import numeric_id, salesforce_id
from webhooks.inbound import sign_zendesk

VENDOR = "zendesk"
API = "/api/v2"
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=30)
EXPORT_MAX_PER_PAGE = 1000
CBP_MAX = 100
UPDATE_MANY_MAX = 100
EXPORT_LAG = 60  # seconds: Zendesk excludes items changed in the minute before the request
FIELD_TYPES = {"text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup"}
_INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
_FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner of this help desk "
    "for further help.",
}
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
AUDIT_OFFSET = 1_000_000_000  # a comment's audit (= its ticket event) id is its comment id + this
EVENT_BASE = 2_000_000_000  # ids of events without a comment: EVENT_BASE + 4 * ticket id + kind
_LAST = 2**62  # sorts after any id in (timestamp, id) keys


# ---------------------------------------------------------------------------------------------- state / ids


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def make_state(seed: int) -> VendorState:
    """Deterministic OAuth client and one initial token pair (valid until used up: see module docs)."""
    state = VendorState(
        vendor=VENDOR,
        oauth=OAuthClient(
            client_id=f"healthscore_zendesk_{seed}",
            client_secret=_digest("zendesk-secret", seed)[:40],
            access_ttl=ACCESS_TTL,
        ),
        webhook_secret=base64.b64encode(_digest("zendesk-webhook", seed)[:32].encode()).decode(),
    )
    access = "zdat_" + _digest("zendesk-access", seed)[:40]
    refresh = "zdrt_" + _digest("zendesk-refresh", seed)[:40]
    # make_state has no book clock: the initial access token carries no expiry (the runner prints it; a
    # refresh grant then issues tokens with a real `expires_in` on the sandbox clock).
    state.access_tokens[access] = _FAR_FUTURE
    state.refresh_tokens.add(refresh)
    state.extra.update(
        initial_access_token=access,
        initial_refresh_token=refresh,
        scopes={access: "read write"},
        refresh_meta={refresh: {"scope": "read write", "access_token": access, "expires_at": _FAR_FUTURE}},
        jobs={},
        bumped={},
        job_polls_to_complete=1,
        next_field_id=24_000_000,
    )
    return state


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def org_id(customer_key: str) -> int:
    return int(numeric_id("organization", customer_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def ticket_id(ticket_key: str) -> int:
    return int(numeric_id("ticket_zd", ticket_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def comment_id(comment_key: str) -> int:
    return int(numeric_id("comment", comment_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def rating_id(survey_key: str) -> int:
    return int(numeric_id("rating", survey_key))


def _crc_id(base: int, text: str) -> int:
    return base + zlib.crc32(text.lower().encode()) % 9_000_000


def group_id(name: str) -> int:
    return _crc_id(21_000_000, name)


def _iso(dt: datetime | None) -> str | None:
    if not dt:
        return None
    # isoformat is ~5x faster than strftime, and a page renders tens of thousands of stamps
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _state(ctx: SandboxContext) -> VendorState:
    return ctx.vendors[VENDOR]


# ------------------------------------------------------------------------------------------------ rendering


class _View:
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

    # ticket events ------------------------------------------------------------------------------------
    def event_plan(self, t: Ticket) -> list[tuple[tuple[int, int], str, int]]:
        """One ticket's updates as ((timestamp, event id), kind, comment index): one per comment (the first
        also creates the ticket), a creation without a comment, the solve and the deletion."""
        tid = ticket_id(t.key)
        plan = [
            ((_ts(c.created_at), comment_id(c.key) + AUDIT_OFFSET), "comment", i)
            for i, c in enumerate(t.comments)
        ]
        if not t.comments:
            plan.append(((_ts(t.created_at), EVENT_BASE + 4 * tid), "create", -1))
        if t.solved_at is not None and t.status in ("solved", "closed"):
            plan.append(((_ts(t.solved_at), EVENT_BASE + 4 * tid + 1), "solved", -1))
        if t.deleted_at is not None:
            plan.append(((_ts(t.deleted_at), EVENT_BASE + 4 * tid + 2), "deleted", -1))
        return plan

    def events(self, t: Ticket, with_comments: bool) -> list[dict[str, Any]]:
        """The rendered events of `event_plan(t)`, in the same order."""
        return [self.event(t, key, kind, n, with_comments) for key, kind, n in self.event_plan(t)]

    def event(
        self, t: Ticket, key: tuple[int, int], kind: str, index: int, with_comments: bool
    ) -> dict[str, Any]:
        stamp, eid = key
        requester = self.user_id(t.requester_email, "customer")
        children: list[dict[str, Any]] = []
        via = "Web form"
        if kind == "comment":
            c = t.comments[index]
            updater = self.user_id(c.author_email, c.author_role)
            via = "Mail" if c.author_role == "customer" else "Web form"
            if index == 0:
                children += self.create_children(t, eid, requester)
            if with_comments:
                children.append({**self.comment(t, c), "via_reference_id": None, "event_type": "Comment"})
            else:  # without the sideload Zendesk only flags that the update carried a comment
                children.append(
                    {"id": comment_id(c.key), "comment_present": True, "comment_public": c.public,
                     "event_type": "Comment"}
                )  # fmt: skip
        elif kind == "create":
            updater = requester
            children += self.create_children(t, eid, requester)
        else:  # solved / deleted: a status change by the assignee
            updater = self.user_id(self.agent_of(t)[0], "agent")
            previous = "solved" if kind == "deleted" and t.solved_at is not None else "open"
            children.append(
                {"id": eid * 10, "via": {"channel": "web", "source": {}}, "event_type": "Change",
                 "field_name": "status", "value": kind, "previous_value": previous}
            )  # fmt: skip
        return {
            "id": eid,
            "ticket_id": ticket_id(t.key),
            "timestamp": stamp,
            "created_at": _iso(datetime.fromtimestamp(stamp, UTC)),
            "updater_id": updater,
            "via": via,
            "system": {},
            "metadata": {},
            "merged_ticket_ids": [],
            "event_type": "Audit",
            "child_events": children,
        }

    def create_children(self, t: Ticket, eid: int, requester: int) -> list[dict[str, Any]]:
        values = (
            ("subject", t.subject),
            ("requester_id", str(requester)),
            ("status", "new"),
            ("priority", t.priority),
            ("group_id", str(group_id(t.group))),
        )
        return [
            {"id": eid * 10 + n + 1, "via": {"channel": "email", "source": {}}, "event_type": "Create",
             "field_name": name, "value": value}
            for n, (name, value) in enumerate(values)
        ]  # fmt: skip

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


# --------------------------------------------------------------------------------------------------- cache


def _signature(t: Ticket) -> tuple[Any, ...]:
    """Everything a ticket's renderings depend on that lives on the ticket itself."""
    return (
        id(t), t.updated_at, t.deleted_at, t.status, t.customer_key, t.created_at, len(t.comments),
        t.priority, t.subject, t.escalated, t.reopens, t.group, t.solved_at, t.requester_email,
        t.first_reply_minutes, t.full_resolution_minutes, t.channel,
    )  # fmt: skip


class _Cache:
    """Renderings an app keeps between requests while the book is unchanged (used under `ctx.lock` only).

    A tick, a restore or a test can change the book in place, so validity is checked on every request (an
    O(tickets) tuple comparison, far cheaper than rendering): `epoch` covers the clock, the collections'
    identities and sizes (restore swaps the dicts, a tick moves the clock), `stamps` each ticket's identity
    and modification stamps. Rendered tickets, metric sets, users and events are memoised per ticket under
    `_signature`, so after a change only the tickets a page shows are rendered again.
    """

    def __init__(self) -> None:
        self.epoch: tuple[Any, ...] | None = None
        self.stamps: tuple[list[Any], ...] | None = None
        self.contacts_by_email: dict[str, Contact] = {}
        self.user_ids: dict[tuple[str, str], int] = {}
        self.ratings_by_ticket: dict[str, Survey] = {}
        self.tickets: list[tuple[tuple[int, int], Ticket]] = []  # export order (generated_timestamp, id)
        self.ticket_keys: list[tuple[int, int]] = []
        self.by_id: dict[int, Ticket] = {}
        # (timestamp, id), ticket, index in the ticket's event_plan; with the keys alone for bisect
        self._events: tuple[list[tuple[tuple[int, int], Ticket, int]], list[tuple[int, int]]] | None = None
        self.agents: list[dict[str, Any]] | None = None
        self._rating_stamps: tuple[list[Any], ...] | None = None
        self._ratings: list[tuple[tuple[int, int], Survey, Ticket]] = []
        self.memo: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}

    def sync(self, view: _View) -> None:
        book = view.book
        epoch = (
            id(book), book.now, view.base, id(book.tickets), id(book.contacts), len(book.contacts),
            id(book.customers), len(book.customers), id(book.surveys), len(book.surveys),
        )  # fmt: skip
        if epoch != self.epoch:
            self.epoch, self.stamps, self._rating_stamps = epoch, None, None
            self.memo.clear()
            self.user_ids = {}
            self.contacts_by_email = {c.email.lower(): c for c in book.contacts.values()}
            self.ratings_by_ticket = {
                s.ticket_key: s
                for s in book.surveys.values()
                if s.kind == "csat" and s.ticket_key is not None and s.score != 3
            }

    def index(self, view: _View) -> None:
        """Bring the ticket index up to date (only the routes that read it pay this O(tickets) check)."""
        # flat lists, not a tuple per ticket: ints and datetimes are not tracked by the garbage collector, so
        # this check allocates nothing that triggers a (costly, large-heap) collection
        tickets = list(view.book.tickets.values())
        stamps = (
            [id(t) for t in tickets],
            [t.updated_at for t in tickets],
            [t.deleted_at for t in tickets],
            [t.created_at for t in tickets],
            [len(t.comments) for t in tickets],
        )
        if stamps != self.stamps:
            self.stamps = stamps
            self._index(view)

    def _index(self, view: _View) -> None:
        tickets = view.zendesk_tickets()
        self.tickets = sorted(((view.generated(t), ticket_id(t.key)), t) for t in tickets)
        self.ticket_keys = [k for k, _ in self.tickets]
        self.by_id = {ticket_id(t.key): t for t in tickets}
        self._events = None
        self.agents = None

    def events(self, view: _View) -> tuple[list[tuple[tuple[int, int], Ticket, int]], list[tuple[int, int]]]:
        """Every event in export order (timestamp, id) and their keys; built on first use after a change, so
        ticket reads never pay for it."""
        self.index(view)
        if self._events is None:
            events = [
                (key, t, n) for _, t in self.tickets for n, (key, _, _) in enumerate(view.event_plan(t))
            ]
            events.sort(key=lambda e: e[0])
            self._events = (events, [e[0] for e in events])
        return self._events

    def ratings(self, view: _View) -> list[tuple[tuple[int, int], Survey, Ticket]]:
        """Zendesk's ratings in (updated_at, id) order; rebuilt when a survey changes (checked per request
        like the tickets' stamps), so paging through n ratings costs O(n) rather than O(n) per page."""
        surveys = list(view.book.surveys.values())
        stamps = ([id(s) for s in surveys], [s.updated_at for s in surveys], [s.score for s in surveys])
        if stamps != self._rating_stamps:
            self._rating_stamps = stamps
            self._ratings = sorted(((_ts(s.updated_at), rating_id(s.key)), s, t) for s, t in view.ratings())
        return self._ratings

    def rendered(self, kind: str, t: Ticket, render: Any) -> Any:
        """`render(t)`, memoised per ticket while its signature and the epoch hold."""
        sig = _signature(t)
        hit = self.memo.get((kind, t.key))
        if hit is not None and hit[0] == sig:
            return hit[1]
        value = render(t)
        self.memo[(kind, t.key)] = (sig, value)
        return value


def _score(s: Survey) -> str:
    return "good" if s.score >= 4 else "bad"


# ---------------------------------------------------------------------------------- pre-serialised pages


class _Raw(list[str]):
    """Items that are already JSON text: the cache keeps renderings serialised (a string is a fraction of
    the memory of its dicts, and a page is then a join instead of an encode of 1,000 nested objects)."""


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _dumped(render: Any) -> Any:
    return lambda t: _dump(render(t))


def _dumped_users(users: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(int(u["id"]), _dump(u)) for u in users]


def _json_response(body: dict[str, Any]) -> Response:
    """A JSON object whose `_Raw` values are spliced in as arrays of pre-serialised items."""
    fields = [
        f"{_dump(k)}:[{','.join(v)}]" if isinstance(v, _Raw) else f"{_dump(k)}:{_dump(v)}"
        for k, v in body.items()
    ]
    return Response("{" + ",".join(fields) + "}", mimetype="application/json")


# ------------------------------------------------------------------------------------------ small helpers


def _err(status: int, error: str, description: str, **extra: Any) -> Response:
    resp = jsonify({"error": error, "description": description, **extra})
    resp.status_code = status
    return resp


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


def _render_fault(fault: Fault) -> Response | None:
    if fault.kind == "rate_limit":
        resp = _err(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
        resp.headers["Retry-After"] = str(int(fault.retry_after))
        return resp
    if fault.kind == "server_error":
        if fault.status == 503:  # Zendesk's maintenance/overload page is not JSON
            return Response("Service Unavailable", status=503, mimetype="text/plain")
        return _err(fault.status, "InternalServerError", fault.message or "Something went wrong")
    if fault.kind in ("slow", "timeout"):
        time.sleep(fault.delay)
        if fault.kind == "timeout":
            return Response("Gateway Timeout", status=504, mimetype="text/plain")
        return None
    if fault.kind == "expired_token":
        resp = jsonify(_INVALID_TOKEN)
        resp.status_code = 401
        return resp
    if fault.kind == "malformed_page":
        if fault.message == "shape":
            return jsonify({"unexpected": "shape", "count": None})
        return Response('{"tickets": [{"id": 1, "subject": "trunc', status=200, mimetype="application/json")
    if fault.kind == "quota":
        return _err(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
    return None  # revoked_refresh / reject_rows are read inside their handlers


# ---------------------------------------------------------------------------------------------------- app


def create_app(ctx: SandboxContext) -> Flask:
    """The Zendesk Support API + OAuth pages over the shared book."""
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False

    @app.before_request
    def _gate() -> Response | None:
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        key = f"{request.method} {rule}"
        g.key = key
        ctx.counters.record(VENDOR, key)
        fault = ctx.faults.take(VENDOR, key)
        # A scripted row fault is used up by take(): keep it for the batch handler (as the other sandboxes do).
        g.row_fault = fault if fault is not None and fault.kind == "reject_rows" else None
        if fault is not None and fault.kind != "revoked_refresh":
            rendered = _render_fault(fault)
            if rendered is not None:
                return rendered
        g.revoked = fault is not None and fault.kind == "revoked_refresh"
        if request.path.startswith(API + "/"):
            return _authenticate()
        return None

    def _authenticate() -> Response | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with ctx.lock:
            state = _state(ctx)
            expiry = state.access_tokens.get(token)
            if expiry is None or expiry <= ctx.now:
                resp = jsonify(_INVALID_TOKEN)
                resp.status_code = 401
                return resp
            g.token = token
            g.scopes = set(state.extra["scopes"].get(token, "read").split())
        return None

    def _require_write() -> Response | None:
        if "write" not in g.scopes:
            resp = jsonify(_FORBIDDEN)
            resp.status_code = 403
            return resp
        return None

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> Response:
        return _err(404, "InvalidEndpoint", "Not found")

    @app.errorhandler(405)
    def _not_allowed(_exc: Exception) -> Response:
        return _err(405, "InvalidEndpoint", "Method not allowed")

    cache = _Cache()  # renderings kept while the book is unchanged (see _Cache)
    _oauth_routes(app, ctx)
    _export_routes(app, ctx, cache)
    _read_routes(app, ctx, cache)
    _write_routes(app, ctx, _require_write)
    return app


# ----------------------------------------------------------------------------------------------- OAuth


def _oauth_routes(app: Flask, ctx: SandboxContext) -> None:
    @app.route("/oauth/authorizations/new", methods=["GET"])
    def authorize_page() -> Response:
        args = request.args
        client = _state(ctx).oauth
        if args.get("client_id") != client.client_id or args.get("response_type") != "code":
            return Response("<h1>Invalid authorization request</h1>", status=400, mimetype="text/html")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in args.items()
        )
        page = (
            "<!doctype html><html><head><title>Zendesk - Authorize</title></head><body>"
            "<h1>Allow access?</h1>"
            f"<p><b>healthscore</b> is requesting access to your Zendesk account "
            f"(scope: {html.escape(args.get('scope', 'read'))}).</p>"
            f'<form method="post" action="/oauth/authorizations/new">{hidden}'
            '<button type="submit" name="decision" value="allow" id="allow">Allow</button> '
            '<button type="submit" name="decision" value="deny" id="deny">Deny</button>'
            "</form></body></html>"
        )
        return Response(page, mimetype="text/html")

    @app.route("/oauth/authorizations/new", methods=["POST"])
    def authorize_decision() -> Response:
        form = request.form
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state")
        if form.get("decision") != "allow":
            query = {"error": "access_denied", "error_description": "The end-user denied the request"}
        else:
            code = secrets.token_urlsafe(24)
            with ctx.lock:
                _state(ctx).auth_codes[code] = {
                    "redirect_uri": redirect_uri,
                    "challenge": form.get("code_challenge"),
                    "method": form.get("code_challenge_method", "plain"),
                    "scope": form.get("scope", "read"),
                    "expires_at": ctx.now + timedelta(minutes=2),
                }
            query = {"code": code}
        if state is not None:
            query["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{sep}{urlencode(query)}", code=302)

    @app.route("/oauth/tokens", methods=["POST"])
    def tokens() -> Response:
        data = request.get_json(silent=True) or request.form.to_dict()
        with ctx.lock:
            state = _state(ctx)
            if data.get("client_id") != state.oauth.client_id or (
                data.get("client_secret") is not None and data["client_secret"] != state.oauth.client_secret
            ):
                return _oauth_error(401, "invalid_client", "Client authentication failed.")
            grant = data.get("grant_type")
            if grant == "authorization_code":
                return _grant_code(ctx, state, data)
            if grant == "refresh_token":
                if g.get("revoked"):
                    return _invalid_grant()
                return _grant_refresh(ctx, state, data)
            return _oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")

    @app.route(f"{API}/oauth/tokens/current.json", methods=["GET"])
    def token_current() -> Response:
        with ctx.lock:
            expiry = _state(ctx).access_tokens[g.token]
        return jsonify(
            {
                "token": {
                    "id": zlib.crc32(g.token.encode()),
                    "client_id": 1,
                    "scopes": sorted(g.scopes),
                    "expires_at": None if expiry == _FAR_FUTURE else _iso(expiry),
                    "created_at": _iso(ctx.now),
                }
            }
        )

    @app.route(f"{API}/oauth/tokens/current.json", methods=["DELETE"])
    def token_revoke() -> Response:
        with ctx.lock:
            state = _state(ctx)
            state.access_tokens.pop(g.token, None)
            for rt, meta in list(state.extra["refresh_meta"].items()):
                if meta["access_token"] == g.token:
                    state.refresh_tokens.discard(rt)
                    state.extra["refresh_meta"].pop(rt)
        return Response(status=204)


def _oauth_error(status: int, error: str, description: str) -> Response:
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    return resp


def _invalid_grant() -> Response:
    return _oauth_error(
        400,
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
        "used in the authorization request, or was issued to another client.",
    )


def _issue(ctx: SandboxContext, state: VendorState, scope: str, data: dict[str, Any]) -> Response:
    ttl = ACCESS_TTL
    if data.get("expires_in"):  # Zendesk lets the client ask for a shorter/longer lifetime (300 s .. 2 days)
        ttl = timedelta(seconds=max(300, min(172_800, int(data["expires_in"]))))
    access = "zdat_" + secrets.token_hex(20)
    refresh = "zdrt_" + secrets.token_hex(20)
    state.access_tokens[access] = ctx.now + ttl
    state.refresh_tokens.add(refresh)
    state.extra["scopes"][access] = scope
    state.extra["refresh_meta"][refresh] = {
        "scope": scope,
        "access_token": access,
        "expires_at": ctx.now + REFRESH_TTL,
    }
    return jsonify(
        {
            "access_token": access,
            "token_type": "bearer",
            "scope": scope,
            "expires_in": int(ttl.total_seconds()),
            "refresh_token": refresh,
            "refresh_token_expires_in": int(REFRESH_TTL.total_seconds()),
        }
    )


def _grant_code(ctx: SandboxContext, state: VendorState, data: dict[str, Any]) -> Response:
    meta = state.auth_codes.pop(data.get("code", ""), None)
    if meta is None or meta["expires_at"] <= ctx.now or meta["redirect_uri"] != data.get("redirect_uri"):
        return _invalid_grant()
    if meta["challenge"]:
        verifier = data.get("code_verifier") or ""
        if meta["method"] == "S256":
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            )
        else:
            computed = verifier
        if not hmac.compare_digest(computed, meta["challenge"]):
            return _invalid_grant()
    elif data.get("client_secret") is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    return _issue(ctx, state, meta["scope"], data)


def _grant_refresh(ctx: SandboxContext, state: VendorState, data: dict[str, Any]) -> Response:
    rt = data.get("refresh_token", "")
    meta = state.extra["refresh_meta"].get(rt)
    if rt not in state.refresh_tokens or meta is None or meta["expires_at"] <= ctx.now:
        return _invalid_grant()
    # Since 2025 a refresh grant rotates: the old access AND refresh tokens are deleted.
    state.refresh_tokens.discard(rt)
    state.extra["refresh_meta"].pop(rt)
    state.access_tokens.pop(meta["access_token"], None)
    return _issue(ctx, state, meta["scope"], data)


# ------------------------------------------------------------------------------------- incremental exports


def _export_routes(app: Flask, ctx: SandboxContext, cache: _Cache) -> None:
    @app.route(f"{API}/incremental/tickets/cursor.json", methods=["GET"])
    def ticket_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        include = request.args.get("include", "")
        cursor = request.args.get("cursor")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if cursor:
                try:
                    gts, tid, per_page, include = _decode_cursor(cursor)
                except (ValueError, binascii.Error, UnicodeDecodeError):
                    return _err(400, "InvalidPaginationParameter", "Invalid cursor")
                position: tuple[int, int] = (gts, tid)
            elif start is None:
                return _err(400, "InvalidPaginationParameter", "start_time or cursor is required")
            elif start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            else:
                position = (start, -1)
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url, cache)
            cache.index(view)
            lo = bisect.bisect_right(cache.ticket_keys, position)
            hi = bisect.bisect_right(cache.ticket_keys, (cutoff, _LAST))
            candidates = cache.tickets[lo:hi]
            if request.args.get("exclude_deleted") == "true":
                candidates = [(k, t) for k, t in candidates if t.deleted_at is None]
            page = candidates[:per_page]
            last = page[-1][0] if page else position
            after = _encode_cursor(last, per_page, include)
            before = _encode_cursor(page[0][0], per_page, include) if page else None
            base = f"{request.host_url.rstrip('/')}{API}/incremental/tickets/cursor.json"
            body: dict[str, Any] = {
                "tickets": _Raw([cache.rendered("ticket", t, _dumped(view.ticket)) for _, t in page]),
                "after_url": f"{base}?cursor={after}",
                "after_cursor": after,
                "before_url": f"{base}?cursor={before}" if before else None,
                "before_cursor": before,
                "end_of_stream": len(candidates) <= per_page,
            }
            sideloads = set(filter(None, include.split(",")))
            if "metric_sets" in sideloads:
                body["metric_sets"] = _Raw(
                    [cache.rendered("metric_set", t, _dumped(view.metric_set)) for _, t in page]
                )
            if "users" in sideloads:
                users: dict[int, str] = {}
                for _, t in page:
                    for uid, text in cache.rendered(
                        "users", t, lambda t: _dumped_users(view.ticket_users(t))
                    ):
                        users.setdefault(uid, text)
                body["users"] = _Raw(list(users.values()))
            if "organizations" in sideloads:
                orgs = {view.ticket_org(t) for _, t in page} - {None}
                body["organizations"] = [
                    view.organization(c) for c in view.zendesk_customers() if org_id(c.key) in orgs
                ]
        return _json_response(body)

    @app.route(f"{API}/incremental/ticket_events.json", methods=["GET"])
    @app.route(f"{API}/incremental/ticket_events", methods=["GET"])
    def ticket_event_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        include = request.args.get("include", "")
        with_comments = "comment_events" in include.split(",")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if start is None:
                return _err(400, "InvalidPaginationParameter", "start_time is required")
            if start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url, cache)
            events, keys = cache.events(view)
            lo = bisect.bisect_left(keys, (start, -1))
            hi = bisect.bisect_right(keys, (cutoff, _LAST))
            page = events[lo : min(hi, lo + per_page)]
            kind = "events+comments" if with_comments else "events"
            items = _Raw(
                [
                    cache.rendered(kind, t, lambda t: [_dump(e) for e in view.events(t, with_comments)])[n]
                    for _, t, n in page
                ]
            )
            end_time = page[-1][0][0] if page else start
            query = {"start_time": str(end_time), **({"include": include} if include else {})}
            if request.args.get("per_page"):
                query["per_page"] = str(per_page)
            body = {
                "ticket_events": items,
                "count": len(items),
                "end_time": end_time,
                # like Zendesk's time-based exports, the next page starts AT end_time: edge items repeat
                "next_page": f"{request.host_url.rstrip('/')}{API}/incremental/ticket_events.json?"
                + urlencode(query),
                "end_of_stream": hi - lo <= per_page,
            }
        return _json_response(body)

    @app.route(f"{API}/incremental/organizations.json", methods=["GET"])
    def org_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if start is None:
                return _err(400, "InvalidPaginationParameter", "start_time is required")
            if start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url)
            keyed = sorted(
                ((_ts(view.org_updated_at(c)), org_id(c.key)), c)
                for c in view.zendesk_customers()
                if start <= _ts(view.org_updated_at(c)) <= cutoff
            )
            page = keyed[:per_page]
            end_of_stream = len(keyed) <= per_page
            end_time = page[-1][0][0] if page else start
            if end_of_stream:
                end_time = max(end_time, cutoff) if not page else end_time
            base = f"{request.host_url.rstrip('/')}{API}/incremental/organizations.json"
            extra = f"&per_page={per_page}" if request.args.get("per_page") else ""
            body = {
                "organizations": [view.organization(c) for _, c in page],
                "count": len(page),
                "end_time": end_time,
                "next_page": f"{base}?start_time={end_time}{extra}",
                "end_of_stream": end_of_stream,
            }
        return jsonify(body)


def _encode_cursor(position: tuple[int, int], per_page: int, include: str) -> str:
    return _b64(f"{position[0]}|{position[1]}|{per_page}|{include}")


def _decode_cursor(token: str) -> tuple[int, int, int, str]:
    gts, tid, per_page, include = _unb64(token).split("|", 3)
    return int(gts), int(tid), int(per_page), include


# ------------------------------------------------------------------------------------------- CBP reading


def _cbp(items: list[tuple[tuple[Any, ...], Any]], key: str, default_size: int = CBP_MAX) -> Response:
    """Cursor-based pagination as Zendesk renders it: `meta.has_more`, `links.next`, `page[after]`.

    An item's body may be a callable: only the page's items are rendered (a full read of n items would
    otherwise render n²/size bodies)."""
    try:
        size = int(request.args.get("page[size]", default_size))
    except ValueError:
        return _err(400, "InvalidPaginationParameter", "page[size] must be an integer")
    if not 1 <= size <= CBP_MAX:
        return _err(400, "InvalidPaginationParameter", "page[size] must be between 1 and 100")
    after = request.args.get("page[after]")
    items = sorted(items, key=lambda kv: kv[0])
    if after:
        try:
            position = tuple(json.loads(_unb64(after)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _err(400, "InvalidPaginationParameter", "page[after] is invalid")
        items = items[bisect.bisect_right([kv[0] for kv in items], position) :]
    page = items[:size]
    has_more = len(items) > size
    after_cursor = _b64(json.dumps(list(page[-1][0]))) if page else None
    before_cursor = _b64(json.dumps(list(page[0][0]))) if page else None
    args = {k: v for k, v in request.args.items() if k not in ("page[after]", "page[before]")}
    args["page[size]"] = str(size)
    base = f"{request.host_url.rstrip('/')}{request.path}"
    nxt = f"{base}?{urlencode({**args, 'page[after]': after_cursor})}" if has_more and after_cursor else None
    return jsonify(
        {
            key: [body() if callable(body) else body for _, body in page],
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
            "links": {"next": nxt, "prev": None},
        }
    )


def _read_routes(app: Flask, ctx: SandboxContext, cache: _Cache) -> None:
    @app.route(f"{API}/organizations.json", methods=["GET"])
    def organizations() -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            items = [
                ((org_id(c.key),), functools.partial(view.organization, c))
                for c in view.zendesk_customers()
                if view.org_deleted_at(c) is None
            ]
            return _cbp(items, "organizations")

    @app.route(f"{API}/groups.json", methods=["GET"])
    def groups() -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            names = sorted({t.group for t in view.zendesk_tickets()})
            items = [
                (
                    (group_id(n),),
                    {
                        "id": group_id(n),
                        "url": f"{view.base}{API}/groups/{group_id(n)}.json",
                        "name": n,
                        "description": "",
                        "default": False,
                        "deleted": False,
                        "is_public": True,
                        "created_at": _iso(view.book.now - timedelta(days=900)),
                        "updated_at": _iso(view.book.now - timedelta(days=900)),
                    },
                )
                for n in names
            ]
            return _cbp(items, "groups")

    @app.route(f"{API}/users.json", methods=["GET"])
    def users() -> Response:
        wanted = set(request.args.getlist("role[]") + request.args.getlist("role")) or {"end-user", "agent"}
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            cache.index(view)
            if wanted <= {"agent", "admin"}:  # agents are few: cached until the tickets change
                if cache.agents is None:
                    cache.agents = view.users_in_roles([t for _, t in cache.tickets], {"agent"})
                found = cache.agents if "agent" in wanted else []
            else:
                found = view.users_in_roles([t for _, t in cache.tickets], wanted)
            return _cbp([((int(u["id"]),), u) for u in found], "users")

    @app.route(f"{API}/organizations/<int:oid>.json", methods=["GET"])
    def organization(oid: int) -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            for c in view.zendesk_customers():
                if org_id(c.key) == oid and view.org_deleted_at(c) is None:
                    return jsonify({"organization": view.organization(c)})
        return _err(404, "RecordNotFound", "Not found")

    @app.route(f"{API}/tickets/<int:tid>/comments.json", methods=["GET"])
    def comments(tid: int) -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            t = view.ticket_by_id(tid)
            if t is not None and t.deleted_at is None:
                items = [((_ts(c.created_at), comment_id(c.key)), view.comment(t, c)) for c in t.comments]
                return _cbp(items, "comments")
        return _err(404, "RecordNotFound", "Not found")

    @app.route(f"{API}/satisfaction_ratings", methods=["GET"])
    @app.route(f"{API}/satisfaction_ratings.json", methods=["GET"])
    def satisfaction_ratings() -> Response:
        try:
            start = _int_arg("start_time")
            end = _int_arg("end_time")
        except ValueError:
            return _err(400, "InvalidValue", "start_time and end_time must be integers")
        score = request.args.get("score")
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            items: list[tuple[tuple[Any, ...], Any]] = [
                (key, functools.partial(view.rating, s, t))
                for key, s, t in cache.ratings(view)
                if (start is None or key[0] >= start)
                and (end is None or key[0] <= end)
                and (score not in ("good", "bad") or _score(s) == score)
            ]
            return _cbp(items, "satisfaction_ratings")

    @app.route(f"{API}/organization_fields.json", methods=["GET"])
    def organization_fields() -> Response:
        with ctx.lock:
            fields = sorted(_state(ctx).custom_fields.values(), key=lambda f: f["position"])
            return jsonify(
                {
                    "organization_fields": fields,
                    "next_page": None,
                    "previous_page": None,
                    "count": len(fields),
                }
            )

    @app.route(f"{API}/job_statuses/<job>.json", methods=["GET"])
    def job_status(job: str) -> Response:
        with ctx.lock:
            state = _state(ctx)
            record = state.extra["jobs"].get(job)
            if record is None:
                return _err(404, "RecordNotFound", "Not found")
            record["polls"] += 1
            return jsonify({"job_status": _job_body(record, state.extra["job_polls_to_complete"])})


# ------------------------------------------------------------------------------------------------ writes


def _write_routes(app: Flask, ctx: SandboxContext, require_write: Any) -> None:
    @app.route(f"{API}/organization_fields.json", methods=["POST"])
    def create_field() -> Response:
        if (denied := require_write()) is not None:
            return denied
        payload = (request.get_json(silent=True) or {}).get("organization_field")
        if not isinstance(payload, dict):
            return _err(400, "InvalidValue", "organization_field is required")
        details = _field_problems(payload)
        with ctx.lock:
            state = _state(ctx)
            if any(f["key"] == payload.get("key") for f in state.custom_fields.values()):
                details.setdefault("key", []).append(
                    {
                        "description": f"Key: {payload['key']} has already been taken",
                        "error": "DuplicateValue",
                    }
                )
            if details:
                return _err(422, "RecordInvalid", "Record validation errors", details=details)
            fid = state.extra["next_field_id"]
            state.extra["next_field_id"] = fid + 1
            options = [
                {
                    "id": fid * 100 + i,
                    "name": o.get("name"),
                    "raw_name": o.get("name"),
                    "value": o.get("value"),
                }
                for i, o in enumerate(payload.get("custom_field_options") or [])
            ]
            body = {
                "url": f"{request.host_url.rstrip('/')}{API}/organization_fields/{fid}.json",
                "id": fid,
                "type": payload["type"],
                "key": payload["key"],
                "title": payload["title"],
                "raw_title": payload["title"],
                "description": payload.get("description", ""),
                "raw_description": payload.get("description", ""),
                "position": len(state.custom_fields),
                "active": True,
                "system": False,
                "regexp_for_validation": payload.get("regexp_for_validation"),
                "created_at": _iso(ctx.now),
                "updated_at": _iso(ctx.now),
            }
            if payload["type"] == "dropdown":
                body["custom_field_options"] = options
            state.custom_fields[payload["key"]] = body
        resp = jsonify({"organization_field": body})
        resp.status_code = 201
        return resp

    @app.route(f"{API}/organizations/update_many.json", methods=["PUT"])
    def update_many() -> Response:
        if (denied := require_write()) is not None:
            return denied
        items = (request.get_json(silent=True) or {}).get("organizations")
        if not isinstance(items, list) or not items:
            return _err(400, "InvalidValue", "organizations must be a non-empty array")
        if len(items) > UPDATE_MANY_MAX:
            return _err(400, "TooManyValues", f"You may update up to {UPDATE_MANY_MAX} organizations at once")
        if any(not isinstance(i, dict) or not isinstance(i.get("id"), int) for i in items):
            return _err(
                422, "RecordInvalid", "Record validation errors", details={"id": [{"error": "blank"}]}
            )
        fault = g.get("row_fault") or ctx.faults.peek(VENDOR, g.key, "reject_rows")
        ids = [str(i["id"]) for i in items]
        if fault is not None and fault.status == 422 and set(fault.ids) & set(ids):
            # whole-request validation failure (one bad record fails the batch), for split-retry tests
            return _err(422, "RecordInvalid", "Record validation errors", details={"base": [fault.message]})
        with ctx.lock:
            view = _View(ctx, "")
            alive = {org_id(c.key) for c in view.zendesk_customers() if view.org_deleted_at(c) is None}
            results = [_apply_one(ctx, n, item, fault, alive) for n, item in enumerate(items)]
            job = secrets.token_hex(16)
            _state(ctx).extra["jobs"][job] = {
                "id": job,
                "results": results,
                "polls": 0,
                "host": request.host_url,
            }
            body = _job_body(_state(ctx).extra["jobs"][job], 10**9)
        return jsonify({"job_status": body})


def _field_problems(payload: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    problems: dict[str, list[dict[str, str]]] = {}
    key = payload.get("key")
    if not isinstance(key, str) or not key or not all(ch.isalnum() or ch == "_" for ch in key):
        problems["key"] = [{"description": "Key: is invalid", "error": "InvalidValue"}]
    if not payload.get("title"):
        problems["title"] = [{"description": "Title: cannot be blank", "error": "BlankValue"}]
    if payload.get("type") not in FIELD_TYPES:
        problems["type"] = [{"description": "Type: is invalid", "error": "InvalidValue"}]
    if payload.get("type") == "dropdown" and not payload.get("custom_field_options"):
        problems["custom_field_options"] = [
            {"description": "Field options: cannot be blank", "error": "BlankValue"}
        ]
    return problems


def _valid(field: dict[str, Any], value: Any) -> bool:
    if value is None:
        return True
    kind = field["type"]
    if kind == "decimal":
        return isinstance(value, int | float) or (isinstance(value, str) and _is_number(value))
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
    if kind == "dropdown":
        return value in {o["value"] for o in field.get("custom_field_options", [])}
    if kind == "checkbox":
        return isinstance(value, bool)
    return isinstance(value, str | int | float)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _apply_one(
    ctx: SandboxContext, index: int, item: dict[str, Any], fault: Fault | None, alive: set[int]
) -> dict[str, Any]:
    state = _state(ctx)
    oid = item["id"]
    base = {"id": oid, "index": index, "action": "update"}
    if oid not in alive:
        return {
            **base,
            "status": "Failed",
            "success": False,
            "error": "RecordNotFound",
            "errors": "Not found",
        }
    if (
        fault is not None
        and fault.status != 422
        and (str(oid) in fault.ids or (fault.every and (index + 1) % fault.every == 0))
    ):
        message = fault.message or "Organization could not be updated"
        return {**base, "status": "Failed", "success": False, "error": "RecordInvalid", "errors": message}
    values = item.get("organization_fields") or {}
    fields = state.custom_fields
    for key, value in values.items():
        if key in fields and not _valid(fields[key], value):
            message = f"{fields[key]['title']} is invalid"
            return {**base, "status": "Failed", "success": False, "error": "RecordInvalid", "errors": message}
    written = state.written.setdefault(str(oid), {})
    for key, value in values.items():
        if key in fields:  # like Zendesk, values for unknown field keys are dropped silently
            written[key] = value
    state.extra["bumped"][oid] = ctx.now  # our write-back bumps updated_at, as Zendesk does
    return {**base, "status": "Updated", "success": True}


def _job_body(record: dict[str, Any], polls_needed: int) -> dict[str, Any]:
    total = len(record["results"])
    if record["polls"] == 0:
        status, progress, results = "queued", 0, None
    elif record["polls"] < polls_needed:
        status, progress, results = "working", total // 2, None
    else:
        status, progress, results = "completed", total, record["results"]
    return {
        "id": record["id"],
        "url": f"{record['host'].rstrip('/')}{API}/job_statuses/{record['id']}.json",
        "job_type": "bulk_update_organizations",
        "total": total,
        "progress": progress,
        "status": status,
        "message": "Completed at " + datetime.now(UTC).isoformat() if status == "completed" else None,
        "results": results,
    }


# ------------------------------------------------------------------------------------ truth / inspection


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Ground truth: Zendesk organization and ticket ids → the customer they really belong to."""
    with ctx.lock:
        book = ctx.book

        def owner(key: str) -> str:
            c = book.customers.get(key)
            return c.zendesk.duplicate_of if c is not None and c.zendesk.duplicate_of else key

        view = _View(ctx, "")
        accounts = {str(org_id(c.key)): owner(c.key) for c in view.zendesk_customers()}
        tickets = {str(ticket_id(t.key)): owner(t.customer_key) for t in view.zendesk_tickets()}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext) -> dict[str, dict[str, object]]:
    """Every organization field value our product wrote, by organization id."""
    with ctx.lock:
        return {oid: dict(values) for oid, values in _state(ctx).written.items()}


# --------------------------------------------------------------------------------------- outbound webhooks


def outbound_webhooks(ctx: SandboxContext, changes: Changes) -> list[tuple[str, dict[str, str], bytes]]:
    """Zendesk-signed webhooks for the zendesk-channel tickets and ratings this change touched."""
    with ctx.lock:
        state = _state(ctx)
        if state.webhook_url is None:
            return []
        view = _View(ctx, ctx.base_urls.get(VENDOR, "https://example.zendesk.com"))
        events: list[tuple[str, str, dict[str, Any]]] = []
        for key in sorted(changes.tickets | (changes.deleted & set(ctx.book.tickets))):
            t = ctx.book.tickets.get(key)
            if t is None or t.channel != "zendesk":
                continue
            kind = (
                "ticket.created"
                if t.created_at == t.updated_at and t.deleted_at is None
                else "ticket.updated"
            )
            events.append((kind, f"zen:ticket:{ticket_id(t.key)}", _ticket_detail(view, t)))
        for key in sorted(changes.surveys):
            s = ctx.book.surveys.get(key)
            t = ctx.book.tickets.get(s.ticket_key or "") if s is not None else None
            if s is None or t is None or s.kind != "csat" or s.score == 3 or t.channel != "zendesk":
                continue
            detail = {**view.rating(s, t), "organization_id": view.ticket_org(t)}
            events.append(("satisfaction.rated", f"zen:ticket:{ticket_id(t.key)}", detail))
        out = []
        for kind, subject, detail in events:
            body = json.dumps(
                {
                    "account_id": 360_000_001,
                    "detail": detail,
                    "event": {},
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subject}|{kind}|{_iso(ctx.now)}")),
                    "subject": subject,
                    "time": _iso(ctx.now),
                    "type": f"zen:event-type:{kind}",
                    "zendesk_event_version": "2022-11-06",
                },
                separators=(",", ":"),
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Zendesk-Webhook-Id": "01HSANDBOX" + _digest(state.webhook_url)[:16].upper(),
                "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid5(uuid.NAMESPACE_OID, body.decode())),
                **sign_zendesk(state.webhook_secret, _iso(ctx.now) or "", body),
            }
            out.append((state.webhook_url, headers, body))
        return out


def _ticket_detail(view: _View, t: Ticket) -> dict[str, Any]:
    body = view.ticket(t)
    keys = ("id", "subject", "status", "priority", "organization_id", "requester_id", "assignee_id", "tags")
    detail = {k: body[k] for k in keys}
    detail.update(created_at=body["created_at"], updated_at=body["updated_at"], type=body["type"])
    detail["id"] = str(detail["id"])
    return detail
