"""/healthz (checks the database), /metrics (Prometheus) and /favicon.ico."""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request, send_from_directory
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connector.store.db import autocommit_engine
from connector.web.errors import problem

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "healthscore_http_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "healthscore_http_request_seconds", "HTTP request latency", ["endpoint"], registry=REGISTRY
)
_PING = text("SELECT 1")
PIPELINE_RECORDS = Counter(
    "healthscore_pipeline_records_total", "Records handled by pipeline steps", ["step"], registry=REGISTRY
)


# The method label takes these values only: any token is a valid HTTP method, and each new label value is a
# time series kept for the life of the process (one request per made-up method grew memory without bound).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g._t0 = time.perf_counter()

    @app.after_request
    def _record(resp: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(method, endpoint, str(resp.status_code)).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - g.get("_t0", time.perf_counter()))
        return resp

    @app.get("/healthz")
    def healthz() -> Any:
        settings = current_app.config["HEALTHSCORE"]
        try:
            # One statement in autocommit: no BEGIN and ROLLBACK round trips around it.
            with autocommit_engine(settings.sqlalchemy_url).connect() as conn:
                conn.execute(_PING)
        except SQLAlchemyError as exc:
            return jsonify({"status": "error", "database": "unreachable", "detail": type(exc).__name__}), 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """The product's icon where browsers look for it unasked (raw JSON pages such as /api/openapi.json
        have no <link rel="icon">, and a 404 there was a console error). Cached for a day."""
        return send_from_directory(
            app.static_folder or "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400
        )

    @app.get("/metrics")
    def metrics() -> Any:
        if not metrics_allowed(current_app.config["HEALTHSCORE"].metrics_token):
            return problem(
                401,
                "unauthorized",
                "The metrics need a token.",
                "Send `Authorization: Bearer <HEALTHSCORE_METRICS_TOKEN>`, or scrape from this host.",
            )
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def metrics_allowed(token: str) -> bool:
    """With a token set: only requests bearing it. Without: only clients on this machine (loopback),
    so the request counts and routes are not published to the internet by default."""
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    if any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP")):
        # Behind a reverse proxy on this machine every visitor arrives from loopback: a forwarded request
        # is someone else's (with trusted_proxies set, ProxyFix has already put their address in remote_addr,
        # and an untrusted header must not make a remote client look local either way).
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
