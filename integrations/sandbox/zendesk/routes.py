"""The Zendesk sandbox Flask app: counters and faults per request, token checks, and the route modules
(OAuth, incremental exports, CBP reads, writes) registered on it.
"""

from __future__ import annotations

import math

from flask import Flask, Response, g, jsonify, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.cache import _Cache
from integrations.sandbox.zendesk.exports import _export_routes
from integrations.sandbox.zendesk.oauth import _oauth_routes
from integrations.sandbox.zendesk.reads import _read_routes
from integrations.sandbox.zendesk.responses import _err, _render_fault
from integrations.sandbox.zendesk.state import _FORBIDDEN, _INVALID_TOKEN, API, VENDOR, _state
from integrations.sandbox.zendesk.tickets_api import _tickets_routes
from integrations.sandbox.zendesk.writes import _write_routes

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
        if request.path.startswith(API + "/") and (refused := ctx.limits.admit(VENDOR)) is not None:
            # Zendesk's answer once the plan's per-minute budget is spent: 429 + Retry-After (seconds).
            resp = _err(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
            resp.headers["Retry-After"] = str(max(1, math.ceil(refused.retry_after)))
            resp.headers["X-Rate-Limit"] = str(refused.window[0])
            resp.headers["X-Rate-Limit-Remaining"] = "0"
            return resp
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
    ctx.warmers.append(lambda: cache.warm(ctx))
    _oauth_routes(app, ctx)
    _export_routes(app, ctx, cache)
    _read_routes(app, ctx, cache)
    _write_routes(app, ctx, _require_write)
    _tickets_routes(app, ctx, _require_write)
    return app
