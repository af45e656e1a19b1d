"""Zendesk errors as a pure table: (zenpy exception name, HTTP status, body) → integrations.errors classes.

client.py (the only zenpy importer) extracts the exception's class names, the status and the JSON body and
calls `classify`; nothing here imports zenpy or requests. Bodies are never copied into messages whole: only
Zendesk's `error` code and a short description are kept (they carry no secrets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    RateLimitError,
    ReauthRequiredError,
    RecordRejectedError,
    TokenExpiredError,
    TransientError,
)

VENDOR = "zendesk"
WINDOW_SECONDS = 60.0  # Zendesk limits are per minute: without Retry-After, wait one full window
TOO_RECENT_WAIT = 61.0  # StartTimeTooRecent: the export refuses the last minute; wait it out once
TRANSPORT_ERRORS = frozenset({"Timeout", "ConnectionError", "ChunkedEncodingError", "SSLError"})
MALFORMED_ERRORS = frozenset({"KeyError", "JSONDecodeError", "ZenpyException", "TypeError"})
_GENERIC = frozenset({"BaseException", "Exception", "object"})


def error_code(body: Mapping[str, Any] | None) -> str:
    """Zendesk's error code: `{"error": "Code"}`, `{"error": {"title": ...}}` or OAuth's `{"error": "x"}`."""
    if not body:
        return ""
    err = body.get("error")
    if isinstance(err, Mapping):
        return str(err.get("title") or err.get("message") or "")
    return str(err or "")


def describe(body: Mapping[str, Any] | None) -> str:
    """A short, loggable description from a Zendesk error body (never the whole body)."""
    if not body:
        return ""
    err = body.get("error")
    text = err.get("message") if isinstance(err, Mapping) else None
    text = text or body.get("description") or body.get("error_description") or ""
    return str(text)[:200]


def classify(
    names: Iterable[str],
    status: int | None,
    body: Mapping[str, Any] | None,
    *,
    retry_after: float | None = None,
    scope: str = "write",
) -> IntegrationError:
    """Map one failed Zendesk call to the error that says what the caller does next.

    `names` are the class names in the exception's MRO (e.g. ("RecordNotFoundException", "APIException")),
    `scope` names what a 403 lacks (e.g. "write scope and an admin role") for the PermissionDeniedError.
    """
    names = list(names)
    kinds = set(names)
    code = error_code(body)
    detail = f"HTTP {status} {code}: {describe(body)}".strip() if status else ", ".join(sorted(kinds))
    if "RatelimitBudgetExceeded" in kinds or status == 429:
        wait = retry_after if retry_after is not None else WINDOW_SECONDS
        return RateLimitError(VENDOR, f"rate limited ({detail})", retry_after=wait)
    if kinds & TRANSPORT_ERRORS:
        return TransientError(VENDOR, f"network error: {', '.join(sorted(kinds & TRANSPORT_ERRORS))}")
    if status is None:
        if kinds & MALFORMED_ERRORS:
            return MalformedResponseError(VENDOR, f"unreadable response ({', '.join(sorted(kinds))})")
        # `names` is the exception's MRO, most specific first: name that, not "BaseException, Exception, …"
        specific = [n for n in names if n not in _GENERIC] or sorted(kinds)
        return FatalIntegrationError(VENDOR, f"unexpected error: {specific[0]}")
    return _by_status(status, code, detail, scope)


def _by_status(status: int, code: str, detail: str, scope: str) -> IntegrationError:
    if status == 401 or code == "invalid_token":
        return TokenExpiredError(VENDOR, detail)
    if status == 403:
        return PermissionDeniedError(
            VENDOR,
            detail,
            missing=scope,
            hint=f"The Zendesk user who connected healthscore needs the {scope}; reconnect as a Zendesk admin.",
        )
    if code == "StartTimeTooRecent":
        return RateLimitError(VENDOR, detail, retry_after=TOO_RECENT_WAIT)
    if status == 422 or code == "RecordInvalid":
        return RecordRejectedError(VENDOR, detail)
    if status >= 500 or status == 409:
        return TransientError(VENDOR, detail)
    return FatalIntegrationError(VENDOR, detail)


def token_error(status: int, body: Mapping[str, Any] | None) -> IntegrationError:
    """Errors of the refresh grant at /oauth/tokens: a refused grant or client means reconnecting."""
    code = error_code(body)
    if code in ("invalid_grant", "invalid_client", "unauthorized_client") or status in (400, 401):
        return ReauthRequiredError(VENDOR, f"refresh refused: {code or status}")
    if status == 429:
        return RateLimitError(VENDOR, "token endpoint rate limited", retry_after=WINDOW_SECONDS)
    return TransientError(VENDOR, f"token endpoint HTTP {status}")
