"""The Salesforce sandbox Flask app: counters and faults per request, session checks, `Sforce-Limit-Info`
and the REST routes (query, sObjects, collections, tooling, limits, OAuth, identity).
"""

from __future__ import annotations

import json
import time
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from integrations.sandbox.context import Fault, SandboxContext
from integrations.sandbox.salesforce.oauth import _base_url, _oauth_error, authorize, revoke, token_endpoint
from integrations.sandbox.salesforce.query import _batch_size, _page, full_record, start_query
from integrations.sandbox.salesforce.render import rendered
from integrations.sandbox.salesforce.render import warm as warm_rows
from integrations.sandbox.salesforce.schema import (
    COLLECTION_LIMIT,
    DAILY_API_LIMIT,
    DATA,
    VENDOR,
    SalesforceApiError,
)
from integrations.sandbox.salesforce.soql_eval import visible_objects
from integrations.sandbox.salesforce.tasks import COUNTER as TASK_COUNTER
from integrations.sandbox.salesforce.tasks import create_tasks, is_task_collection, update_tasks
from integrations.sandbox.salesforce.writes import create_custom_field, describe, update_records

# ----------------------------------------------------------------------------------------------------------
# The Flask app
# ----------------------------------------------------------------------------------------------------------


def _error_response(exc: SalesforceApiError) -> flask.Response:
    return flask.Response(json.dumps(exc.body()), exc.status, mimetype="application/json")


def _fault_response(fault: Fault, path: str) -> flask.Response | None:
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return None
    if fault.kind == "timeout":
        time.sleep(fault.delay)
        return _error_response(SalesforceApiError(504, "SERVER_UNAVAILABLE", "Gateway timeout"))
    if fault.kind == "rate_limit":
        resp = _error_response(
            SalesforceApiError(429, "TOO_MANY_REQUESTS", fault.message or "Too many requests")
        )
        resp.headers["Retry-After"] = f"{fault.retry_after:g}"
        return resp
    if fault.kind == "server_error":
        code = "SERVER_UNAVAILABLE" if fault.status == 503 else "UNKNOWN_EXCEPTION"
        msg = fault.message or (
            "Server temporarily unavailable"
            if fault.status == 503
            else "An unexpected error occurred. Please include this ErrorId if you contact support: 1384157063-1 (-1)"
        )
        return _error_response(SalesforceApiError(fault.status, code, msg))
    if fault.kind == "expired_token":
        return _error_response(SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    if fault.kind == "revoked_refresh":
        if path.startswith("/services/oauth2/"):
            return _oauth_error("invalid_grant", "expired access/refresh token")
        return _error_response(SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    if fault.kind == "quota":
        return _error_response(
            SalesforceApiError(
                403, "REQUEST_LIMIT_EXCEEDED", fault.message or "TotalRequests Limit exceeded."
            )
        )
    if fault.kind == "malformed_page":
        # A body cut off mid-stream, served as JSON: what a proxy reset looks like to the client.
        return flask.Response(
            '{"totalSize": 3, "done": false, "records": [{"attributes": ', 200, mimetype="application/json"
        )
    return None  # reject_rows: read by the batch handler


def _check_session(ctx: SandboxContext) -> None:
    vs = ctx.vendors[VENDOR]
    auth = flask.request.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    expiry = vs.access_tokens.get(token)
    if expiry is None or expiry <= ctx.now:
        raise SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _json_body() -> Any:
    try:
        return json.loads(flask.request.get_data() or b"null")
    except ValueError as exc:
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}"
        ) from exc


def create_app(ctx: SandboxContext) -> flask.Flask:
    """The Salesforce sandbox WSGI app bound to `ctx`."""
    app = flask.Flask(__name__)
    app.url_map.strict_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]  # Salesforce keeps "attributes" first
    ctx.warmers.append(lambda: warm_rows(ctx))

    @app.before_request
    def _enter() -> flask.Response | None:
        rule = flask.request.url_rule
        key = f"{flask.request.method} {rule.rule if rule is not None else '<unmatched>'}"
        flask.g.key = key
        ctx.counters.record(VENDOR, key)
        if flask.request.path.startswith("/services/data/") and ctx.limits.admit(VENDOR) is not None:
            # The org's rolling 24 h API request limit is spent: Salesforce answers every call with this.
            return _error_response(
                SalesforceApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )
        fault = ctx.faults.take(VENDOR, key)
        flask.g.row_fault = fault if fault is not None and fault.kind == "reject_rows" else None
        if fault is not None:
            resp = _fault_response(fault, flask.request.path)
            if resp is not None:
                return resp
        if flask.request.path.startswith("/services/data/") and rule is not None:
            with ctx.lock:
                _check_session(ctx)
        return None

    @app.after_request
    def _limit_info(resp: flask.Response) -> flask.Response:
        if flask.request.path.startswith("/services/data/"):
            used = ctx.counters.get(VENDOR, "* /services/data/*")
            resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{DAILY_API_LIMIT}"
        return resp

    @app.errorhandler(SalesforceApiError)
    def _api_error(exc: SalesforceApiError) -> flask.Response:
        return _error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> flask.Response:
        if exc.code == 404:
            return _error_response(
                SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            )
        if exc.code == 405:
            return _error_response(
                SalesforceApiError(
                    405, "METHOD_NOT_ALLOWED", f"HTTP Method '{flask.request.method}' not allowed."
                )
            )
        return _error_response(
            SalesforceApiError(exc.code or 500, "UNKNOWN_EXCEPTION", exc.description or "")
        )

    def _query(include_deleted: bool) -> flask.Response:
        soql = flask.request.args.get("q")
        if not soql:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = _batch_size(flask.request.headers.get("Sforce-Query-Options"))
        with ctx.lock:
            return flask.jsonify(start_query(ctx, soql, include_deleted, batch))

    def _more(locator: str, endpoint: str) -> flask.Response:
        qid, _, offset = locator.partition("-")
        if not offset.isdigit():
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        with ctx.lock:
            return flask.jsonify(_page(ctx, qid, int(offset), endpoint))

    app.add_url_rule(f"{DATA}/query/", "query", lambda: _query(False))
    app.add_url_rule(f"{DATA}/queryAll/", "queryAll", lambda: _query(True))
    app.add_url_rule(f"{DATA}/query/<locator>", "query_more", lambda locator: _more(locator, "query"))
    app.add_url_rule(
        f"{DATA}/queryAll/<locator>", "queryAll_more", lambda locator: _more(locator, "queryAll")
    )

    def _sobject(name: str) -> str:
        found = visible_objects(ctx.vendors[VENDOR]).get(name.lower())
        if found is None:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    @app.get(f"{DATA}/sobjects/<name>/describe")
    def _describe(name: str) -> flask.Response:
        with ctx.lock:
            return flask.jsonify(describe(ctx, _sobject(name)))

    @app.get(f"{DATA}/sobjects/<name>/<rid>")
    def _get_record(name: str, rid: str) -> flask.Response:
        sobject = _sobject(name)
        with ctx.lock:
            rows = [r for r in rendered(ctx, sobject) if r["Id"] == rid and not r.get("IsDeleted")]
            if not rows:
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return flask.jsonify(full_record(ctx, sobject, rows[0]))

    @app.patch(f"{DATA}/sobjects/<name>/<rid>")
    def _patch_record(name: str, rid: str) -> flask.Response:
        sobject = _sobject(name)
        body = _json_body()
        if sobject != "Account" or not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected an Account field map")
        with ctx.lock:
            result = update_records(ctx, "Account", [{**body, "id": rid}], True, None)[0]
        if not result["success"]:
            err = result["errors"][0]
            status = 404 if err["statusCode"] in ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED") else 400
            raise SalesforceApiError(status, err["statusCode"], err["message"], err.get("fields", []))
        return flask.Response("", 204)

    @app.patch(f"{DATA}/composite/sobjects")
    def _collections_update() -> flask.Response:
        body = _json_body()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body must be {allOrNone, records: [...]}"
            )
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        if is_task_collection(records):
            ctx.counters.record(TASK_COUNTER, flask.g.key)
            with ctx.lock:
                return flask.jsonify(update_tasks(ctx, records, bool(body.get("allOrNone"))))
        row_fault = flask.g.row_fault or ctx.faults.peek(VENDOR, flask.g.key, "reject_rows")
        with ctx.lock:
            results = update_records(ctx, "Account", records, bool(body.get("allOrNone")), row_fault)
        return flask.jsonify(results)

    @app.post(f"{DATA}/composite/sobjects")
    def _collections_create() -> flask.Response:
        body = _json_body()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body must be {allOrNone, records: [...]}"
            )
        if len(body["records"]) > COLLECTION_LIMIT:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        ctx.counters.record(TASK_COUNTER, flask.g.key)
        with ctx.lock:
            return flask.jsonify(create_tasks(ctx, body["records"], bool(body.get("allOrNone"))))

    @app.post(f"{DATA}/tooling/sobjects/CustomField")
    def _custom_field() -> flask.Response:
        body = _json_body()
        with ctx.lock:
            created = create_custom_field(ctx, body)
        return flask.Response(json.dumps(created), 201, mimetype="application/json")

    @app.get(f"{DATA}/limits")
    def _limits() -> flask.Response:
        used = ctx.counters.get(VENDOR, "* /services/data/*")
        return flask.jsonify(
            {
                "DailyApiRequests": {"Max": DAILY_API_LIMIT, "Remaining": max(0, DAILY_API_LIMIT - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            }
        )

    @app.post("/services/oauth2/token")
    def _token() -> flask.Response:
        with ctx.lock:
            return token_endpoint(ctx)

    @app.route("/services/oauth2/authorize", methods=["GET", "POST"])
    def _authorize() -> flask.Response:
        with ctx.lock:
            return authorize(ctx)

    @app.get("/id/<org>/<user>")
    def _identity(org: str, user: str) -> flask.Response:
        # The identity URL from the token response's `id` (OAuth "Identity URLs"): who the token belongs to.
        with ctx.lock:
            _check_session(ctx)
            vs = ctx.vendors[VENDOR]
            if (org, user) != (vs.extra["org_id"], vs.extra["user_id"]):
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            base = _base_url(ctx)
            return flask.jsonify(
                {
                    "id": f"{base}/id/{org}/{user}",
                    "asserted_user": True,
                    "user_id": user,
                    "organization_id": org,
                    "username": "integration@sandbox-crm.example",
                    "display_name": "Integration User",
                    "email": "integration@sandbox-crm.example",
                    "active": True,
                    "user_type": "STANDARD",
                    "urls": {
                        "rest": f"{base}/services/data/v{{version}}/",
                        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                        "query": f"{base}/services/data/v{{version}}/query/",
                    },
                }
            )

    @app.post("/services/oauth2/revoke")
    def _revoke() -> flask.Response:
        with ctx.lock:
            return revoke(ctx)

    return app
