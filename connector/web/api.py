"""REST API v1 (Bearer API keys, tenant-scoped): accounts, health by CRM id, tickets, webhooks, models,
backtest, sync status. Errors are problem details (errors.problem). The OpenAPI document: api_docs.py."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Response, g, jsonify, request

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.installs import users as auth
from connector.readmodels import jsonable
from connector.web import blueprints, ratelimits
from connector.web.access import db, settings
from connector.web.blueprints import BadRequestError
from connector.web.errors import problem
from connector.web.formatting import band_text
from connector.web.security import csrf

bp = blueprints.api
csrf.exempt(bp)  # bearer tokens, no cookies: CSRF does not apply

VENDORS = ("salesforce", "hubspot", "zendesk")
MAX_TEXT_ARG = 200
# endpoint → the action its key scope must allow (auth.key_allows)
ACTIONS = {
    "api.health": "lookup",
    "api.ticket_lookup": "lookup",
    # Webhook endpoints and their deliveries are admin reading, as in the app: an endpoint URL is often a
    # secret of its own (a Slack or Zapier hook), which a read-scope key (a BI tool) has no need to see.
    "api.list_webhooks": "admin",
    "api.get_webhook": "admin",
    "api.create_webhook": "admin",
    "api.update_webhook": "admin",
    "api.delete_webhook": "admin",
    "api.rotate_webhook": "admin",
    "api.backtest": "admin",
    "api.create_play": "admin",  # plays: connector/web/api_plays.py
    "api.update_play": "admin",
    "api.delete_play": "admin",
    "api.play_dry_run": "admin",
    "api.openapi": "public",
}


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def required_action(endpoint: str | None, method: str) -> str:
    """What a key's scope must allow to call `endpoint` with `method`: its ACTIONS entry; else reading for
    GET/HEAD/OPTIONS and admin for anything that writes. An endpoint added without an entry was 'read' for
    every method, so a new POST, PATCH or DELETE would have been open to read-scope keys (a BI tool's) until
    someone listed it (security audit 11: fail closed)."""
    listed = ACTIONS.get(endpoint or "")
    if listed is not None:
        return listed
    return "read" if method.upper() in READ_METHODS else "admin"


@bp.errorhandler(BadRequestError)
def _bad(exc: BadRequestError) -> Response:
    return problem(400, "bad_request", exc.message, exc.hint)


@bp.before_request
def _authenticate() -> Response | None:
    """Bearer key → tenant, scope check, and the key's own rate limit. A request without a working key
    spends its client address's budget instead, checked before the key is looked up, so guessing keys
    is throttled whatever the guesses are (a right guess past the budget is refused like a wrong one)."""
    action = required_action(request.endpoint, request.method)
    if action == "public":
        return None
    address = request.remote_addr or "unknown"
    breach = ratelimits.budgets().exhausted("api_unauthenticated", address)
    if breach is not None:
        return _unauthenticated_too_many(breach, address)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    key = auth.resolve_api_key(db(), token.strip()) if scheme.lower() == "bearer" and token else None
    if key is None:
        known = scheme.lower() == "bearer" and token
        # A revoked key is a client left behind, not a guess: it does not spend the address's budget, so
        # a stale vendor app behind a shared proxy (Zendesk's, for the sidebar) cannot lock out the other
        # tenants' keys coming through the same addresses.
        if not (known and auth.api_key_revoked(db(), token.strip())):
            breach = ratelimits.budgets().spend("api_unauthenticated", address)
            if breach is not None:
                return _unauthenticated_too_many(breach, address)
        return problem(
            401,
            "unauthorized",
            "This API key is unknown or revoked."
            if known
            else "Send an API key as `Authorization: Bearer <key>`.",
            f"Create {'a new key' if known else 'a key'} under Admin → API keys.",
        )
    breach = ratelimits.budgets().spend("api", f"key:{key.id}")
    g.api_quota = ratelimits.budgets().quota("api", f"key:{key.id}")  # X-RateLimit-* (_quota_headers)
    if breach is not None:
        return ratelimits.api_too_many(
            breach, "for this API key", "Spread the calls out, or ask for a higher api_rate_limit."
        )
    if not auth.key_allows(key.scope, action):
        return problem(
            403,
            "forbidden",
            f"A {key.scope} key cannot call this endpoint.",
            "Use a key with the admin scope.",
        )
    vendor = (request.view_args or {}).get("vendor")
    if key.scope == "installation" and vendor != auth.INSTALLATION_KEY_VENDOR:
        # Bound to the Zendesk installation, for its sidebar: it looked up Salesforce and HubSpot records
        # by CRM id too (audit 8), more than the in-vendor view needs.
        return problem(
            403,
            "forbidden",
            f"This key is bound to the {auth.INSTALLATION_KEY_VENDOR.title()} installation: it looks up "
            f"{auth.INSTALLATION_KEY_VENDOR.title()} records only.",
            "Use a read key for the other vendors' records.",
        )
    g.api_tenant_id, g.api_key_name = key.tenant_id, f"api-key:{key.prefix}"
    db().commit()  # last_used_at
    return None


@bp.after_request
def _quota_headers(resp: Response) -> Response:
    """Every answer to a request whose API key spent its budget says what is left of it (X-RateLimit-Limit,
    -Remaining, -Reset in epoch seconds: Flask-Limiter's names; its headers_enabled covers only its own
    decorated limits, and the API's budgets are spent once the key is known). A 429 for another budget
    (the workspace's backtests, the client address's without a valid key) describes that one instead; a
    401 carries none."""
    quota: ratelimits.Quota | None = g.pop("api_quota", None)
    if quota is not None and request.path.startswith("/api/v1/"):
        resp.headers.update(quota.headers())
    return resp


def _unauthenticated_too_many(breach: ratelimits.Breach, address: str) -> Response:
    g.api_quota = ratelimits.budgets().quota("api_unauthenticated", address)
    return ratelimits.api_too_many(
        breach,
        "without a valid API key from this address",
        "Send a valid key as `Authorization: Bearer <key>`; keys are under Admin → API keys.",
    )


@bp.before_request
def _validate_body() -> Response | None:
    """After authentication: every JSON body against its OpenAPI schema (one layer for all routes)."""
    from connector.web.api_validation import validate_request

    return validate_request()


def _tenant() -> int:
    value: int = g.api_tenant_id
    return value


def _int_arg(name: str, default: int, low: int = 1, high: int = 10_000) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"`{name}` must be a whole number", f"e.g. {name}={default}") from None
    if not low <= value <= high:
        raise BadRequestError(f"`{name}` must be between {low} and {high}")
    return value


def _vendor(vendor: str | None) -> str | None:
    if vendor is not None and vendor not in VENDORS:
        raise BadRequestError(f"unknown vendor {vendor!r}", f"one of {', '.join(VENDORS)}")
    return vendor


@bp.get("/v1/accounts")
def accounts() -> Response:
    sort = request.args.get("sort", "score")
    if sort not in readmodels.SORTS:
        raise BadRequestError(f"unknown sort {sort!r}", f"one of {', '.join(readmodels.SORTS)}")
    limit, page = _int_arg("limit", 50, 1, 200), _int_arg("page", 1)
    for name in ("q", "band", "segment"):
        # A search of 50,000 characters was a 500 (SQLite: "LIKE pattern too complex"); no name is that long.
        if len(request.args.get(name, "")) > MAX_TEXT_ARG:
            raise BadRequestError(f"`{name}` is longer than {MAX_TEXT_ARG} characters")
    data = readmodels.portfolio(
        db(),
        _tenant(),
        band=request.args.get("band") or None,
        segment=request.args.get("segment") or None,
        q=request.args.get("q") or None,
        sort=sort,
        page=page,
        per_page=limit,
    )
    return jsonify(
        {
            "data": jsonable(data.rows),
            "page": page,
            "limit": limit,
            "total": data.total,
            "next_page": page + 1 if page < data.pages else None,
            "bands": jsonable(data.bands),
        }
    )


@bp.get("/v1/accounts/<int:account_id>")
def account(account_id: int) -> Response:
    detail = readmodels.account_detail(db(), _tenant(), account_id)
    if detail is None:
        return problem(404, "not_found", "No such account.")
    return jsonify(jsonable(detail))


@bp.get("/v1/accounts/<int:account_id>/week-on-week")
def account_week_on_week(account_id: int) -> Response:
    """Is each dimension and metric better or worse than a week ago (connector/readmodels/week_on_week.py)."""
    from connector.pipeline.score import current_model
    from connector.readmodels.week_on_week import week_on_week

    if readmodels.account_detail(db(), _tenant(), account_id, tickets=0) is None:
        return problem(404, "not_found", "No such account.")
    return jsonify(jsonable(week_on_week(db(), _tenant(), account_id, current_model(db(), _tenant()))))


def _health_body(acc: Any) -> dict[str, Any]:
    detail = readmodels.account_detail(db(), _tenant(), acc.id, tickets=0)
    assert detail is not None  # noqa: S101 - resolved from this tenant just before
    url = settings().public_base_url.rstrip("/") + f"/accounts/{acc.id}"
    return {
        "account_id": detail.id,
        "name": detail.name,
        "vendor": detail.vendor,
        "external_id": detail.external_id,
        "score": detail.score,
        "band": detail.band,
        "band_label": band_text(detail.band, detail.former),  # the sidebar shows it as the page does
        "former": detail.former,
        "trend_30d": detail.trend_30d,
        "confidence": detail.confidence,
        "sentiment_30d": detail.sentiment_30d,
        "drivers": detail.drivers,
        "recommended_action": detail.recommended_action,
        "as_of": jsonable(detail.as_of),
        "model_version": detail.model_version,
        "url": url,
    }


@bp.get("/v1/health/<vendor>/<external_id>")
def health(vendor: str, external_id: str) -> Response:
    _vendor(vendor)
    acc = readmodels.resolve_crm_account(db(), _tenant(), vendor, external_id)
    if acc is None:
        return problem(
            404,
            "not_found",
            f"No account for {vendor} id {external_id}.",
            "It may not be synced yet, or (for Zendesk) not linked: see Admin → Unmatched review.",
        )
    return jsonify(_health_body(acc))


def _cursor() -> int | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        value = int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = -1
    if not 0 <= value < 2**63:  # a row id; beyond 64 bits the query itself overflowed (a 500)
        raise BadRequestError("`cursor` is not a cursor this API returned", "pass `next_cursor` unchanged")
    return value


@bp.get("/v1/tickets")
def tickets() -> Response:
    limit = _int_arg("limit", 50, 1, 200)
    label = request.args.get("sentiment")
    if label is not None and label not in {"negative", "neutral", "positive"}:
        raise BadRequestError("`sentiment` must be negative, neutral or positive")
    rows = readmodels.tickets(
        db(),
        _tenant(),
        vendor=_vendor(request.args.get("vendor")),
        status=request.args.get("status") or None,
        label=label,
        account_id=_int_arg("account_id", 0, 1, 2**62) or None,
        after_id=_cursor(),
        limit=limit,
    )
    nxt = (
        base64.urlsafe_b64encode(str(rows[-1].id).encode()).decode().rstrip("=")
        if len(rows) == limit
        else None
    )
    return jsonify({"data": jsonable(rows), "next_cursor": nxt, "limit": limit})


@bp.get("/v1/tickets/<vendor>/<external_id>")
def ticket_lookup(vendor: str, external_id: str) -> Response:
    row = readmodels.ticket(db(), _tenant(), _vendor(vendor) or vendor, external_id)
    if row is None:
        return problem(404, "not_found", f"No {vendor} ticket {external_id}.", "It may not be synced yet.")
    return jsonify(jsonable(row))


@bp.get("/v1/models")
def models() -> Response:
    rows = readmodels.model_versions(db(), _tenant())
    return jsonify(
        {
            "data": [
                {
                    "id": r.id,
                    "version": r.version,
                    "status": r.status,
                    "created_by": r.created_by,
                    "created_at": jsonable(r.created_at),
                    "published_at": jsonable(r.published_at),
                }
                for r in rows
            ]
        }
    )


@bp.get("/v1/models/<int:version_id>")
def model(version_id: int) -> Response:
    r = readmodels.model_version(db(), _tenant(), version_id)
    if r is None:
        return problem(404, "not_found", "No such model version.")
    return jsonify(
        {
            "id": r.id,
            "version": r.version,
            "status": r.status,
            "yaml": r.yaml,
            "backtest": r.backtest,
            "created_at": jsonable(r.created_at),
            "published_at": jsonable(r.published_at),
        }
    )


@bp.post("/v1/backtest")
def backtest() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("yaml"), str):
        raise BadRequestError('send JSON {"yaml": "<model>"}')
    _model, problems = admin_actions.validate_model(body["yaml"])
    if problems:
        return problem(
            422,
            "invalid_model",
            "The model does not validate.",
            "Fix every listed problem.",
            problems=problems,
        )
    # Seconds of CPU each: a budget per workspace, shared with the model editor's previews (admin_model.py).
    breach = ratelimits.budgets().spend("backtest", f"tenant:{_tenant()}")
    if breach is not None:
        g.api_quota = ratelimits.budgets().quota("backtest", f"tenant:{_tenant()}")
        return ratelimits.api_too_many(
            breach,
            "for backtests in this workspace",
            "A backtest costs seconds of CPU; the model editor's previews count too.",
        )
    as_of = _as_of(body.get("as_of"))
    horizon = int(body.get("horizon_days") or 90)
    try:
        result = admin_actions.backtest_preview(
            settings(), _tenant(), body["yaml"], as_of=as_of, horizon_days=horizon
        )
    except admin_actions.AsOfAfterDataError as exc:
        return problem(
            422,
            "as_of_after_data",
            f"as_of {exc}.",
            f"Send as_of {exc.latest.isoformat()} or earlier (the newest data minus the {exc.horizon_days}-day "
            "horizon, the last date whose outcomes are all known), or leave as_of out.",
            as_of=exc.as_of.isoformat(),
            newest_data=exc.newest.isoformat(),
            latest_as_of=exc.latest.isoformat(),
        )
    except admin_actions.AsOfBeforeDataError as exc:
        return problem(
            422,
            "as_of_before_data",
            f"as_of {exc}.",
            f"Send as_of {exc.hint}, or leave as_of out.",
            as_of=exc.as_of.isoformat(),
            oldest_data=exc.oldest.isoformat(),
            latest_as_of=exc.latest.isoformat(),
        )
    if not result.get("available", True):
        return problem(501, "not_available", str(result.get("message")), None)
    return jsonify(jsonable(result))


def _as_of(value: str | None) -> datetime | None:
    """The body's `as_of` (YYYY-MM-DD, the schema checked the shape) as midnight UTC; 400 for a date that
    does not exist (2026-02-30)."""
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError as exc:
        raise BadRequestError(f"as_of {value!r} is not a date (YYYY-MM-DD)") from exc


@bp.get("/v1/sync")
def sync_status() -> Response:
    insts = readmodels.installations(db(), _tenant())
    runs = readmodels.runs(db(), _tenant(), limit=10)
    return jsonify(
        {
            "installations": [
                {
                    "vendor": i.vendor,
                    "status": i.status,
                    "vendor_account": i.vendor_account,
                    "last_sync_at": jsonable(i.last_sync_at),
                    "last_error": i.last_error,
                }
                for i in insts
            ],
            "runs": [
                {
                    "run_id": r.run_id,
                    "kind": r.kind,
                    "status": r.status,
                    "started_at": jsonable(r.started_at),
                    "finished_at": jsonable(r.finished_at),
                }
                for r in runs
            ],
        }
    )
