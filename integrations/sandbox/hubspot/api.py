"""HubSpot-shaped errors (`{status, message, correlationId, category}`), rate-limit headers, scripted
faults and the per-request checks (bearer token, scope, JSON body) every route module shares.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from flask import Response, request

from integrations.sandbox.context import Fault, SandboxContext, VendorState
from integrations.sandbox.hubspot.index import _state
from integrations.sandbox.hubspot.schema import TOKEN_PATHS

# ---------------------------------------------------------------------------------------------------------
# Errors in HubSpot's shape
# ---------------------------------------------------------------------------------------------------------


class HubSpotError(Exception):
    """Raised inside handlers; rendered as HubSpot's error JSON."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra
        self.headers: dict[str, str] = {}


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Content-Type"] = "application/json;charset=utf-8"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _validation(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR", **extra)


def rate_limit_headers(state: VendorState, remaining: int = 99) -> dict[str, str]:
    used = state.extra.get("daily_used", 0)
    return {
        "X-HubSpot-RateLimit-Daily": "250000",
        "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, 250_000 - used)),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": str(remaining),
        "X-HubSpot-RateLimit-Secondly": "10",
        "X-HubSpot-RateLimit-Secondly-Remaining": str(min(9, remaining)),
    }


def _fault_response(ctx: SandboxContext, fault: Fault, path: str) -> Response | None:
    """Render a fault as HubSpot sends it; None when the request should proceed."""
    state = _state(ctx)
    if fault.kind == "rate_limit":
        body = error_body(
            fault.message or "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
        headers = rate_limit_headers(state, remaining=0)
        headers["Retry-After"] = str(max(1, math.ceil(fault.retry_after)))
        return _json(body, 429, headers)
    if fault.kind == "quota":
        body = error_body(
            fault.message or "You have reached your daily limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="DAILY",
        )
        headers = rate_limit_headers(state, remaining=0)
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
        return _json(body, 429, headers)
    if fault.kind == "server_error":
        return _json(error_body(fault.message or "internal error", "INTERNAL_ERROR"), fault.status or 500)
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return None
    if fault.kind == "timeout":
        time.sleep(fault.delay)
        return _json(error_body("Gateway timeout", "INTERNAL_ERROR"), 504)
    if fault.kind == "expired_token":
        return _json(
            error_body(
                "The OAuth token used to make this call expired 0 minute(s) ago.", "EXPIRED_AUTHENTICATION"
            ),
            401,
        )
    if fault.kind == "revoked_refresh":
        if path in TOKEN_PATHS:
            return _json(
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
                400,
            )
        return _json(error_body("Authentication credentials not found.", "INVALID_AUTHENTICATION"), 401)
    if fault.kind == "malformed_page":
        # A 200 whose body is cut off mid-object: what a proxy that drops the connection leaves behind.
        return Response(
            '{"results":[{"id":"1","properties":{"name":"Ac', status=200, mimetype="application/json"
        )
    return None


# ---------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------


def _bearer() -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _require(ctx: SandboxContext, scope: str | None) -> None:
    """Authenticate the bearer token against the sandbox clock and check one scope."""
    state = _state(ctx)
    token = _bearer()
    if not token or token not in state.access_tokens:
        raise HubSpotError(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
        )
    expires = state.access_tokens[token]
    if ctx.now >= expires:
        minutes = int((ctx.now - expires).total_seconds() // 60)
        raise HubSpotError(
            401,
            f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
            "EXPIRED_AUTHENTICATION",
        )
    if scope and scope not in state.extra["token_scopes"].get(token, []):
        raise HubSpotError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )


def _body() -> Any:
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise _validation("Invalid input JSON on line 1, column 1: Unexpected character") from None


def _props_arg() -> list[str] | None:
    values: list[str] = []
    for raw in request.args.getlist("properties"):
        values.extend(p for p in raw.split(",") if p)
    return values or None
