"""The sandbox control API under /_sandbox/: faults, call counters, state, clock, truth, webhooks, stats.

A path no vendor uses, served on its own port by the runner. Every answer is JSON; bad input gets
`{"error": code, "message": ...}` with a 4xx status. See integrations/sandbox/README.md for examples.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Protocol, get_args

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from integrations.sandbox import seed as seeding
from integrations.sandbox.book import Changes, Customer
from integrations.sandbox.context import Fault, FaultKind, SandboxContext
from integrations.sandbox.limits import limits_for
from integrations.sandbox.pages import register_record_pages
from integrations.sandbox.vendors import VENDORS, vendor_module

logger = logging.getLogger(__name__)

FAULT_KINDS = frozenset(get_args(FaultKind))
PREFIX = "/_sandbox"


class Runner(Protocol):
    """What the control API needs from the runner (SandboxSet)."""

    def tick(self, days: int, *, wait: bool = False) -> Changes: ...

    def credentials(self) -> dict[str, Any]: ...


class BadInputError(Exception):
    def __init__(self, message: str, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadInputError("expected a JSON object body")
    return data


def _vendor(value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in VENDORS:
        raise BadInputError(f"vendor must be one of {', '.join(VENDORS)}")
    return str(value)


def parse_fault(data: dict[str, Any]) -> tuple[str, str, Fault, int | None, float | None]:
    """(vendor, pattern, fault, times, rate) from a POST /faults body; BadInputError lists what is wrong."""
    problems = []
    vendor = data.get("vendor")
    if vendor not in VENDORS:
        problems.append(f"vendor must be one of {', '.join(VENDORS)}")
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        problems.append(f"kind must be one of {', '.join(sorted(FAULT_KINDS))}")
    times, rate = data.get("times"), data.get("rate")
    if times is not None and rate is not None:
        problems.append("give times or rate, not both")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        problems.append("times must be an integer >= 1")
    if rate is not None and (not isinstance(rate, int | float) or not 0 <= rate <= 1):
        problems.append("rate must be a number between 0 and 1")
    pattern = data.get("pattern", "*")
    if not isinstance(pattern, str) or not pattern:
        problems.append("pattern must be a non-empty string (fnmatch over '<METHOD> <url rule>')")
    numbers = {"status": int, "retry_after": float, "delay": float, "every": int}
    kwargs: dict[str, Any] = {}
    for name, typ in numbers.items():
        if name in data:
            value = data[name]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                problems.append(f"{name} must be a non-negative number")
            else:
                kwargs[name] = typ(value)
    ids = data.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
        problems.append("ids must be a list of record ids")
    if problems:
        raise BadInputError("; ".join(problems), code="invalid_fault")
    fault = Fault(kind=kind, ids=tuple(str(i) for i in ids), message=str(data.get("message", "")), **kwargs)
    if times is None and rate is None:
        times = 1
    return str(vendor), pattern, fault, times, (float(rate) if rate is not None else None)


def _days(data: dict[str, Any]) -> int:
    days = data.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        raise BadInputError("days must be an integer between 0 and 3650")
    return days


def changes_summary(changes: Changes) -> dict[str, Any]:
    """Counts and sorted keys of one tick's changes (JSON-ready)."""
    fields = ("customers", "contacts", "deals", "tickets", "surveys", "deleted")
    return {
        "counts": {f: len(getattr(changes, f)) for f in fields},
        "keys": {f: sorted(getattr(changes, f)) for f in fields},
    }


def customer_truth(book_deals: list[Any], c: Customer, with_path: bool) -> dict[str, Any]:
    renewals = [
        {
            "date": d.close_date.isoformat(),
            "outcome": "renewed" if d.stage == "closed_won" else "churned",
            "latent_health": round(seeding.renewal_health(c, d.close_date), 4),
        }
        for d in book_deals
        if d.kind == "renewal" and d.stage in ("closed_won", "closed_lost") and d.deleted_at is None
    ]
    out: dict[str, Any] = {
        "name": c.name,
        "segment": c.segment,
        "arr": str(c.arr),
        "renewal_date": c.renewal_date.isoformat(),
        "latent_health": c.latent_health,
        "outcome": c.outcome,
        "outcome_date": c.outcome_date.isoformat() if c.outcome_date else None,
        "duplicate_of": c.zendesk.duplicate_of,
        "renewals": renewals,
    }
    if with_path:
        out["health_path"] = [[d.isoformat(), h] for d, h in c.health_path]
        out["usage_path"] = [[w.isoformat(), n] for w, n in c.usage_path]
        out["licensed_seats"] = c.licensed_seats
    return out


def stats(ctx: SandboxContext) -> dict[str, Any]:
    book = ctx.book
    tickets = Counter(t.channel for t in book.tickets.values() if t.deleted_at is None)
    surveys = Counter(s.kind for s in book.surveys.values())
    dups = sum(1 for c in book.customers.values() if c.zendesk.duplicate_of)
    return {
        "now": book.now.isoformat(),
        "customers": len(book.customers) - dups,
        "duplicates": dups,
        "churned": sum(1 for c in book.customers.values() if c.outcome == "churned"),
        "contacts": sum(1 for c in book.contacts.values() if c.deleted_at is None),
        "deals": sum(1 for d in book.deals.values() if d.deleted_at is None),
        "tickets": dict(tickets),
        "comments": sum(len(t.comments) for t in book.tickets.values() if t.deleted_at is None),
        "surveys": dict(surveys),
        "deleted": {
            "contacts": sum(1 for c in book.contacts.values() if c.deleted_at is not None),
            "deals": sum(1 for d in book.deals.values() if d.deleted_at is not None),
            "tickets": sum(1 for t in book.tickets.values() if t.deleted_at is not None),
        },
    }


LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def create_control_app(ctx: SandboxContext, runner: Runner) -> Flask:
    """The control API Flask app for one sandbox set."""
    app = Flask("healthscore-sandbox-control")
    # It listens on 127.0.0.1 only, but a web page can still reach it by DNS rebinding (its own name
    # re-pointed at 127.0.0.1: same origin to the browser, so it reads the answers) and read the credentials
    # and webhook secrets, re-point webhooks or tick the clock. A rebound request names the attacker's host:
    # only loopback names are answered (400 otherwise; security audit 9).
    app.config["TRUSTED_HOSTS"] = list(LOOPBACK_HOSTS)

    @app.errorhandler(BadInputError)
    def _bad(exc: BadInputError) -> tuple[Response, int]:
        return jsonify(error=exc.code, message=str(exc)), exc.status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return jsonify(error=(exc.name or "error").lower().replace(" ", "_"), message=exc.description), code

    # The vendors' deep-link paths as read-only HTML (plain HTTP: a browser opens them without a warning).
    register_record_pages(app, ctx)

    @app.get(f"{PREFIX}/credentials")
    def credentials() -> Response:
        return jsonify(runner.credentials())

    @app.get(f"{PREFIX}/faults")
    def faults_list() -> Response:
        return jsonify(faults=ctx.faults.describe())

    @app.post(f"{PREFIX}/faults")
    def faults_add() -> tuple[Response, int]:
        vendor, pattern, fault, times, rate = parse_fault(_body())
        if rate is not None:
            ctx.faults.rate(vendor, pattern, fault, rate)
        else:
            ctx.faults.script(vendor, pattern, fault, times=times or 1)
        return jsonify(faults=ctx.faults.describe()), 201

    @app.delete(f"{PREFIX}/faults")
    def faults_clear() -> Response:
        ctx.faults.clear(_vendor(request.args.get("vendor"), required=False))
        return jsonify(faults=ctx.faults.describe())

    @app.get(f"{PREFIX}/counters")
    def counters_get() -> Response:
        vendor = _vendor(request.args.get("vendor"), required=False)
        if vendor is not None:
            return jsonify(
                vendor=vendor,
                count=ctx.counters.get(vendor, request.args.get("pattern", "*")),
                counters=ctx.counters.snapshot().get(vendor, {}),
            )
        return jsonify(counters=ctx.counters.snapshot())

    @app.delete(f"{PREFIX}/counters")
    def counters_reset() -> Response:
        ctx.counters.reset()
        return jsonify(counters={})

    @app.get(f"{PREFIX}/state")
    def state() -> Response:
        return jsonify({v: vendor_module(v).written_fields(ctx) for v in VENDORS})

    @app.get(f"{PREFIX}/clock")
    def clock() -> Response:
        return jsonify(now=ctx.book.now.isoformat())

    @app.post(f"{PREFIX}/clock")
    @app.post(f"{PREFIX}/tick")
    def tick() -> Response:
        days = _days(_body())
        changes = runner.tick(days)
        return jsonify(now=ctx.book.now.isoformat(), days=days, **changes_summary(changes))

    @app.get(f"{PREFIX}/truth")
    def truth() -> Response:
        with_path = request.args.get("path") in ("1", "true", "yes")
        with ctx.lock:
            deals: dict[str, list[Any]] = {}
            for d in ctx.book.deals.values():
                deals.setdefault(d.customer_key, []).append(d)
            customers = {
                k: customer_truth(deals.get(k, []), c, with_path) for k, c in ctx.book.customers.items()
            }
            vendors = {v: vendor_module(v).truth(ctx) for v in VENDORS}
            now = ctx.book.now.isoformat()
        return jsonify(now=now, customers=customers, vendors=vendors)

    @app.get(f"{PREFIX}/webhooks")
    def webhooks_get() -> Response:
        deliveries = getattr(runner, "deliveries", [])
        return jsonify(
            config={
                v: {
                    "url": s.webhook_url,
                    "secret": s.webhook_secret,
                    "organization_id": s.extra.get("org_id"),
                }
                for v, s in ctx.vendors.items()
            },
            deliveries=[
                {"vendor": d.vendor, "url": d.url, "status": d.status, "error": d.error} for d in deliveries
            ],
        )

    @app.post(f"{PREFIX}/webhooks")
    def webhooks_set() -> Response:
        data = _body()
        vendor = _vendor(data.get("vendor"))
        url = data.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise BadInputError("url must be an http(s) URL or null")
        secret = data.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise BadInputError("secret must be a string")
        with ctx.lock:
            state = ctx.vendors[str(vendor)]
            state.webhook_url = url
            if secret is not None:
                state.webhook_secret = secret
        return jsonify(vendor=vendor, url=url, secret=state.webhook_secret)

    @app.get(f"{PREFIX}/limits")
    def limits_get() -> Response:
        return jsonify(enabled=ctx.limits.enabled, limits=ctx.limits.describe())

    @app.post(f"{PREFIX}/limits")
    def limits_set() -> Response | tuple[Response, int]:
        mode = (request.get_json(silent=True) or {}).get("mode")
        if mode not in ("real", "off"):
            return jsonify(message='send {"mode": "real"} or {"mode": "off"}'), 400
        ctx.limits = limits_for(str(mode))
        return jsonify(enabled=ctx.limits.enabled, limits=ctx.limits.describe())

    @app.get(f"{PREFIX}/stats")
    def stats_get() -> Response:
        with ctx.lock:
            return jsonify(stats(ctx))

    return app
