"""Pure table: a HubSpot failure (status, JSON body, headers) → the integration error taxonomy.

HubSpot error bodies are `{"status":"error","message","correlationId","category"[,"errors","context",
"errorType","policyName"]}`; the OAuth token endpoint answers `{"status":"BAD_REFRESH_TOKEN","message"}`.
The SDK raises `ApiException` subclasses carrying `.status`, `.body` (raw text) and `.headers`; connection
failures surface as `ApiException(status=0)` or raw urllib3 errors. Nothing here imports the SDK: the table
reads those attributes, so it is testable with plain values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import urllib3.exceptions

from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitError,
    ReauthRequiredError,
    RecordRejectedError,
    TokenExpiredError,
    TransientError,
)

VENDOR = "hubspot"
# Token-endpoint statuses that mean the grant itself is dead: only a new install fixes them.
_DEAD_GRANT = frozenset(
    {"BAD_REFRESH_TOKEN", "BAD_CLIENT_ID", "BAD_CLIENT_SECRET", "BAD_AUTH_CODE", "BAD_REDIRECT_URI"}
)


class ConflictError(FatalIntegrationError):
    """409: what we tried to create exists already (a property or group); callers treat it as done."""


class BatchRejectedError(RecordRejectedError):
    """A whole batch write refused with 400; `code` is HubSpot's most specific reason for it."""

    def __init__(self, vendor: str, detail: str, *, code: str) -> None:
        super().__init__(vendor, detail)
        self.code = code


def parse_body(body: str | bytes | None) -> dict[str, Any]:
    """The error body as a dict ({} when it is empty or not JSON: proxies answer HTML)."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    raw = _header(headers, "Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def missing_scopes(data: Mapping[str, Any]) -> list[str]:
    """Scopes a MISSING_SCOPES body names (errors[].context.requiredGranularScopes / requiredScopes)."""
    out: list[str] = []
    for err in data.get("errors") or []:
        context = err.get("context") or {} if isinstance(err, dict) else {}
        for key in ("requiredGranularScopes", "requiredScopes"):
            out.extend(str(s) for s in context.get(key) or [])
    return out


def row_error_code(data: Mapping[str, Any]) -> str:
    """The most specific code a validation body carries (PROPERTY_DOESNT_EXIST, INVALID_OPTION, ...)."""
    for err in data.get("errors") or []:
        if isinstance(err, dict) and err.get("code"):
            return str(err["code"])
    return str(data.get("category") or "VALIDATION_ERROR")


def classify(
    status: int, body: str | bytes | None, headers: Mapping[str, str] | None = None, *, writing: bool = False
) -> IntegrationError:
    """The error for one failed API call. `writing`: a 400 rejects the records sent, not our code."""
    data = parse_body(body)
    category = str(data.get("category") or "")
    message = str(data.get("message") or "")[:300]  # a body may echo record values; keep the detail short
    detail = f"HTTP {status} {category}: {message}".strip()
    if status == 429:
        if (
            data.get("policyName") == "DAILY"
            or _header(headers, "X-HubSpot-RateLimit-Daily-Remaining") == "0"
        ):
            return QuotaExhaustedError(VENDOR, detail)
        # No Retry-After: HubSpot's burst window is ten seconds, so wait one window.
        return RateLimitError(VENDOR, detail, retry_after=_retry_after(headers) or 10.0)
    if status == 401:
        return TokenExpiredError(VENDOR, detail)
    if status == 403:
        scopes = missing_scopes(data)
        missing = ", ".join(scopes) or None
        hint = f"Grant the HubSpot scope {missing} and reconnect." if missing else None
        return PermissionDeniedError(VENDOR, detail, missing=missing, hint=hint)
    if status == 0 or status >= 500 or status == 408:
        return TransientError(VENDOR, detail)
    if status == 409:
        return ConflictError(VENDOR, detail)
    if status in (400, 422) and writing:
        return BatchRejectedError(VENDOR, detail, code=row_error_code(data))
    return FatalIntegrationError(VENDOR, detail)


def classify_token_error(
    status: int, body: str | bytes | None, headers: Mapping[str, str] | None = None
) -> IntegrationError:
    """The error for a failed refresh grant: a dead grant means reconnect; 5xx and 429 are retried."""
    data = parse_body(body)
    if status == 429 or status == 0 or status >= 500:
        return classify(status, body, headers)
    code = str(data.get("status") or data.get("error") or "")
    if code in _DEAD_GRANT or status in (400, 401):
        return ReauthRequiredError(VENDOR, f"refresh refused: HTTP {status} {code}".strip())
    return FatalIntegrationError(VENDOR, f"token endpoint HTTP {status} {code}".strip())


def from_exception(exc: BaseException, *, writing: bool = False) -> IntegrationError:
    """Map an SDK/transport exception (duck-typed `ApiException` or urllib3 error) to our taxonomy."""
    if isinstance(exc, IntegrationError):
        return exc
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        headers = getattr(exc, "headers", None)
        return classify(
            status, getattr(exc, "body", None), dict(headers) if headers else None, writing=writing
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return TransientError(VENDOR, f"transport error: {type(exc).__name__}")
    if isinstance(exc, ValueError | TypeError | KeyError | AttributeError):
        # The SDK failed to deserialise what the server sent (bad datetime, wrong shape).
        return MalformedResponseError(VENDOR, f"could not read the response: {type(exc).__name__}")
    return FatalIntegrationError(VENDOR, f"unexpected {type(exc).__name__}")
