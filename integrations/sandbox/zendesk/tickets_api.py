"""Tickets our product creates (plays: a ticket for the support lead), from Zendesk's Tickets API:

- `POST /api/v2/tickets/create_many.json` (`{"tickets": [...]}`, ≤ 100, write scope): answers with a
  `job_status`; once the job completes its `results` are `{"index", "id"}` per created ticket, or
  `{"index", "error", "details"}` for a ticket Zendesk refused (here: an organization that does not exist,
  a `type`/`priority`/`status` outside Zendesk's values, a task without `due_at`, no comment body).
- `GET /api/v2/tickets/<id>.json` for those tickets (zenpy `tickets(id=…)`).
*sandbox*: created tickets are kept apart from the Book (VendorState.extra["created_tickets"]) and are not
in the incremental exports, so the product never reads its own play tickets back as support signals.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, jsonify, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.responses import _err
from integrations.sandbox.zendesk.state import API, UPDATE_MANY_MAX, VENDOR, _iso, _state, org_id
from integrations.sandbox.zendesk.view import _View
from integrations.sandbox.zendesk.writes import _job_body

TYPES = (None, "problem", "incident", "question", "task")
PRIORITIES = (None, "low", "normal", "high", "urgent")
STATUSES = (None, "new", "open", "pending", "hold", "solved", "closed")
FIRST_ID = 9_000_000  # above every Book ticket id
COUNTER = f"{VENDOR}.tasks"  # a second ledger: task calls, for the write-back benchmark


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
            results: list[dict[str, Any]] = []
            for n, item in enumerate(items):
                problem = _problem(item, orgs)
                if problem is not None:
                    results.append({"index": n, "error": problem[0], "details": problem[1]})
                    continue
                tid = FIRST_ID + len(store) + 1
                store[str(tid)] = {
                    "id": tid,
                    "url": f"{request.host_url.rstrip('/')}{API}/tickets/{tid}.json",
                    "subject": item.get("subject"),
                    "description": item["comment"]["body"],
                    "organization_id": item.get("organization_id"),
                    "type": item.get("type"),
                    "priority": item.get("priority") or "normal",
                    "status": item.get("status") or "new",
                    "due_at": item.get("due_at"),
                    "tags": list(item.get("tags") or []),
                    "created_at": _iso(ctx.now),
                    "updated_at": _iso(ctx.now),
                }
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
