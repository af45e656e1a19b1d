"""Pure table from Salesforce responses (HTTP status + `[{"errorCode","message"}]` body) to our error taxonomy.

Sources: the REST API "Status Codes and Error Responses" page and what simple-salesforce raises per status
(sdk-wire.md §1.4): 401 INVALID_SESSION_ID, 403 REQUEST_LIMIT_EXCEEDED (the org's rolling 24 h quota, not a
rate limit), 400 MALFORMED_QUERY / INVALID_FIELD, 404 NOT_FOUND, 503 SERVER_UNAVAILABLE. 429 is not a
Salesforce status but proxies and the sandbox send it, with Retry-After.
"""

from __future__ import annotations

from typing import Any

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

VENDOR = "salesforce"

PERMISSION_CODES = frozenset(
    {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "FUNCTIONALITY_NOT_ENABLED",
    }
)
TRANSIENT_CODES = frozenset(
    {"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG"}
)
# Whole-request rejections one bad row can cause: splitting the batch isolates that row.
SPLITTABLE_CODES = frozenset(
    {
        "JSON_PARSER_ERROR",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "MALFORMED_ID",
        "STRING_TOO_LONG",
        "FIELD_INTEGRITY_EXCEPTION",
        "NUMBER_OUTSIDE_VALID_RANGE",
    }
)
# Per-row SaveResult codes worth retrying next run as they are (not the record's fault).
RETRYABLE_ROW_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "SERVER_UNAVAILABLE"}
)
MAPPING_HINT = (
    "A field or object named in the Salesforce field mapping does not exist or is not visible to the "
    "integration user: check the installation's Salesforce settings and the user's field-level security."
)


class BatchRejectedError(RecordRejectedError):
    """A whole sObject Collections request refused because of its content (`code` says why)."""

    def __init__(self, vendor: str, detail: str, *, code: str) -> None:
        super().__init__(vendor, detail)
        self.code = code


class UnknownObjectError(FatalIntegrationError):
    """INVALID_TYPE: the queried sObject does not exist for this user (no access, or a feature the org has
    not turned on, such as field history)."""


def first_error(body: Any) -> tuple[str | None, str]:
    """(errorCode, message) of the first entry of a Salesforce error body; (None, "") if it has none."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        entry = body[0]
        code = entry.get("errorCode") or entry.get("statusCode")
        return (str(code) if code else None), str(entry.get("message") or "")[:200]
    return None, ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form); None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def classify(status: int, body: Any, *, retry_after: str | None = None) -> IntegrationError:
    """The error for a failed REST call. `body` is the parsed JSON (or text) the SDK kept."""
    code, message = first_error(body)
    detail = f"HTTP {status} {code or ''}: {message}".strip()
    if status == 401 or code == "INVALID_SESSION_ID":
        return TokenExpiredError(VENDOR, detail)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return QuotaExhaustedError(VENDOR, detail)
    if status == 429:
        return RateLimitError(VENDOR, detail, retry_after=parse_retry_after(retry_after))
    if status >= 500 or code in TRANSIENT_CODES:
        return TransientError(VENDOR, detail)
    if status == 403 or code in PERMISSION_CODES:
        return PermissionDeniedError(VENDOR, detail)
    if code in SPLITTABLE_CODES:
        return BatchRejectedError(VENDOR, detail, code=code or "")
    if code == "INVALID_TYPE":
        return UnknownObjectError(VENDOR, detail, hint=MAPPING_HINT)
    if code in ("MALFORMED_QUERY", "INVALID_FIELD") or status == 404:
        return FatalIntegrationError(VENDOR, detail, hint=MAPPING_HINT)
    return FatalIntegrationError(VENDOR, detail)


def is_duplicate_field(status: int, body: Any) -> bool:
    """True when a Tooling CustomField create failed only because the field already exists."""
    code, _ = first_error(body)
    return status == 400 and code in ("DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE")


def classify_token_error(status: int, body: Any) -> IntegrationError:
    """The error for a refused refresh grant (`{"error","error_description"}` from /services/oauth2/token)."""
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    description = str(body.get("error_description") or "")[:200] if isinstance(body, dict) else ""
    detail = f"token endpoint HTTP {status} {error}: {description}".strip()
    if status >= 500 or status == 429:
        return TransientError(VENDOR, detail)
    if error in ("invalid_grant", "inactive_user", "inactive_org", "invalid_client_id", "invalid_client"):
        # A revoked or expired refresh token, or a connected app that no longer exists: only a human can fix it.
        return ReauthRequiredError(VENDOR, detail)
    return FatalIntegrationError(VENDOR, detail)


def malformed(detail: str) -> MalformedResponseError:
    return MalformedResponseError(VENDOR, detail)
