"""Tickets our product creates (plays: a ticket for the support lead), from Zendesk's Tickets API:

- `POST /api/v2/tickets/create_many.json` (`{"tickets": [...]}`, ≤ 100, write scope): answers with a
  `job_status`; once the job completes its `results` are `{"index", "id"}` per created ticket, or
  `{"index", "error", "details"}` for a ticket Zendesk refused (here: an organization that does not exist,
  a `type`/`priority`/`status` outside Zendesk's values, a task without `due_at`, no comment body).
- `GET /api/v2/tickets/<id>.json` for those tickets (zenpy `tickets(id=…)`).
- like Zendesk, the created tickets are in the incremental ticket export (`export_entries`, merged by
  exports.py) with their tags (lower-cased, a space separating two tags, duplicates dropped) and their
  `external_id`, so the product meets its own play tickets on the wire and must leave them out of the
  support signals itself (integrations/zendesk/tasks.is_play_ticket).
*sandbox*: created tickets are kept apart from the Book (VendorState.extra["created_tickets"]); they are
not in the ticket event export (their first comment is private and by the API user, which the product's
sentiment never reads).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, jsonify, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.responses import _err
from integrations.sandbox.zendesk.state import API, UPDATE_MANY_MAX, VENDOR, _iso, _state, _ts, org_id
from integrations.sandbox.zendesk.view import _View
from integrations.sandbox.zendesk.writes import _job_body

TYPES = (None, "problem", "incident", "question", "task")
PRIORITIES = (None, "low", "normal", "high", "urgent")
STATUSES = (None, "new", "open", "pending", "hold", "solved", "closed")
# The system fields' option names as the agent UI shows them (ticket fields' `system_field_options`);
# the API carries the values (the record pages, integrations/sandbox/pages.py, show the names).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "type": {"problem": "Problem", "incident": "Incident", "question": "Question", "task": "Task"},
    "priority": {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"},
    "status": {
        "new": "New",
        "open": "Open",
        "pending": "Pending",
        "hold": "On-hold",
        "solved": "Solved",
        "closed": "Closed",
    },
}
FIRST_ID = 9_000_000  # above every Book ticket id
COUNTER = f"{VENDOR}.tasks"  # a second ledger: task calls, for the write-back benchmark
API_USER = "healthscore-integration@example.zendesk.com"  # the agent the OAuth token acts as


def zendesk_tags(raw: Any) -> list[str]:
    """Tags as Zendesk stores them: lower-cased, split on whitespace, each once, in order."""
    out: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        for tag in str(item).lower().split():
            if tag not in out:
                out.append(tag)
    return out


def export_entries(
    ctx: SandboxContext, after: tuple[int, int], upto: tuple[int, int]
) -> list[tuple[tuple[int, int], dict[str, Any]]]:
    """Created tickets whose export key (generated_timestamp, id) is in (after, upto], in key order."""
    store = _state(ctx).extra.get("created_tickets", {})
    keyed = [((int(t["generated_timestamp"]), int(t["id"])), t) for t in store.values()]
    return sorted((k, t) for k, t in keyed if after < k <= upto)


def export_metric_set(ticket: dict[str, Any]) -> dict[str, Any]:
    """The metric set Zendesk keeps for every ticket; a new task ticket has no replies yet."""
    none = {"calendar": None, "business": None}
    return {
        "id": ticket["id"], "ticket_id": ticket["id"], "url": ticket["url"].replace(".json", "/metrics.json"),
        "reopens": 0, "replies": 0, "created_at": ticket["created_at"], "updated_at": ticket["updated_at"],
        "solved_at": None, "reply_time_in_minutes": none, "first_resolution_time_in_minutes": none,
        "full_resolution_time_in_minutes": none,
    }  # fmt: skip


def _problem(item: Any, orgs: set[int]) -> tuple[str, str] | None:
    if not isinstance(item, dict):
        return "InvalidValue", "a ticket must be an object"
    body = (item.get("comment") or {}).get("body") if isinstance(item.get("comment"), dict) else None
    if not body:
        return "RecordInvalid", "Description: cannot be blank"
    if item.get("organization_id") is not None and item["organization_id"] not in orgs:
        return "RecordInvalid", "Organization: is invalid"
    for name, allowed in (("type", TYPES), ("priority", PRIORITIES), ("status", STATUSES)):
        if item.get(name) not in allowed:
            return "RecordInvalid", f"{name.title()}: is invalid"
    if item.get("type") == "task" and not item.get("due_at"):
        return "RecordInvalid", "Due date: is required for a task"
    return None


def _tickets_routes(app: Flask, ctx: SandboxContext, require_write: Any) -> None:
    @app.route(f"{API}/tickets/create_many.json", methods=["POST"])
    def create_many() -> Response:
        ctx.counters.record(COUNTER, f"POST {API}/tickets/create_many.json")
        if (denied := require_write()) is not None:
            return denied
        items = (request.get_json(silent=True) or {}).get("tickets")
        if not isinstance(items, list) or not items:
            return _err(400, "InvalidValue", "tickets must be a non-empty array")
        if len(items) > UPDATE_MANY_MAX:
            return _err(400, "TooManyValues", f"You may create up to {UPDATE_MANY_MAX} tickets at once")
        with ctx.lock:
            state = _state(ctx)
            view = _View(ctx, "")
            orgs = {org_id(c.key) for c in view.zendesk_customers() if view.org_deleted_at(c) is None}
            store: dict[str, dict[str, Any]] = state.extra.setdefault("created_tickets", {})
            api_user = view.user_id(API_USER, "agent")
            results: list[dict[str, Any]] = []
            for n, item in enumerate(items):
                problem = _problem(item, orgs)
                if problem is not None:
                    results.append({"index": n, "error": problem[0], "details": problem[1]})
                    continue
                tid = FIRST_ID + len(store) + 1
                store[str(tid)] = _created(item, tid, api_user, ctx)
                results.append({"index": n, "id": tid})
            job = secrets.token_hex(16)
            state.extra["jobs"][job] = {
                "id": job,
                "results": results,
                "polls": 0,
                "host": request.host_url,
                "job_type": "create_many_tickets",
            }
            body = _job_body(state.extra["jobs"][job], 10**9)
        return jsonify({"job_status": body})

    @app.route(f"{API}/tickets/<int:tid>.json", methods=["GET"])
    def show_ticket(tid: int) -> Response:
        with ctx.lock:
            ticket = _state(ctx).extra.get("created_tickets", {}).get(str(tid))
        if ticket is None:
            return _err(404, "RecordNotFound", "Not found")
        return jsonify({"ticket": ticket})


def _created(item: dict[str, Any], tid: int, api_user: int, ctx: SandboxContext) -> dict[str, Any]:
    """A created ticket as Zendesk shows it (the fields the exports and GET carry)."""
    now = _iso(ctx.now)
    return {
        "url": f"{request.host_url.rstrip('/')}{API}/tickets/{tid}.json",
        "id": tid,
        "external_id": item.get("external_id"),
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": now,
        "updated_at": now,
        "generated_timestamp": _ts(ctx.now),
        "type": item.get("type"),
        "subject": item.get("subject"),
        "raw_subject": item.get("subject"),
        "description": item["comment"]["body"],
        "priority": item.get("priority") or "normal",
        "status": item.get("status") or "new",
        "requester_id": api_user,
        "submitter_id": api_user,
        "assignee_id": None,
        "organization_id": item.get("organization_id"),
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "problem_id": None,
        "has_incidents": False,
        "is_public": bool(item["comment"].get("public", True)),
        "due_at": item.get("due_at"),
        "tags": zendesk_tags(item.get("tags")),
        "custom_fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "brand_id": 360_000_001,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }
