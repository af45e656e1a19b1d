"""Pure verifiers (and matching signers) for vendor webhooks: Zendesk, HubSpot, Salesforce.

Every verifier takes the raw body bytes, the headers and an injected ``now``, and raises
`WebhookVerificationError(reason)`. The ``sign_*`` functions produce exactly what the vendor sends; the
vendor sandboxes import them, so their names and signatures are a contract.

Per vendor (docs/shared/reference/security.md §2):
- Zendesk: base64 HMAC-SHA256(secret as UTF-8, ISO-8601 timestamp header text + body). Zendesk sets no
  freshness window; we enforce ±tolerance ourselves.
- HubSpot v3: base64 HMAC-SHA256(client secret, method + URI + body + ms timestamp); reject older than 5 min.
  v1/v2 (hex SHA-256, no timestamp, so replayable) are here for CRM-object subscriptions that still send v1;
  accept them only behind a setting.
- Salesforce: no signature exists. See `webhooks.salesforce_om` (OrganizationId must match the install,
  plus an unguessable per-install token in the URL path), re-exported here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from webhooks.errors import VerificationReason as R
from webhooks.errors import WebhookVerificationError
from webhooks.salesforce_om import (
    SalesforceNotification,
    SalesforceOutboundMessage,
    parse_salesforce_outbound,
    salesforce_ack,
    same_org_id,
    sign_salesforce_outbound,
    verify_salesforce_outbound,
    verify_url_token,
)

# One import point for every vendor's verifier and signer (the Salesforce ones live in salesforce_om).
__all__ = [
    "HUBSPOT_SIGNATURE",
    "HUBSPOT_SIGNATURE_V3",
    "HUBSPOT_SIGNATURE_VERSION",
    "HUBSPOT_TIMESTAMP",
    "ZENDESK_SIGNATURE",
    "ZENDESK_TIMESTAMP",
    "ReplayGuard",
    "SalesforceNotification",
    "SalesforceOutboundMessage",
    "check_replay",
    "check_size",
    "hubspot_canonical_uri",
    "hubspot_event_key",
    "parse_salesforce_outbound",
    "salesforce_ack",
    "same_org_id",
    "sign_hubspot_v1",
    "sign_hubspot_v2",
    "sign_hubspot_v3",
    "sign_salesforce_outbound",
    "sign_zendesk",
    "verify_hubspot_legacy",
    "verify_hubspot_v3",
    "verify_salesforce_outbound",
    "verify_url_token",
    "verify_zendesk",
]

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
HUBSPOT_SIGNATURE_V3 = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP = "X-HubSpot-Request-Timestamp"
HUBSPOT_SIGNATURE = "X-HubSpot-Signature"
HUBSPOT_SIGNATURE_VERSION = "X-HubSpot-Signature-Version"
DEFAULT_TOLERANCE = timedelta(minutes=5)

# HubSpot "Validating requests" (v3): these escapes are decoded in the URI before hashing.
_HUBSPOT_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_HUBSPOT_DECODE_RE = re.compile("|".join(_HUBSPOT_DECODE), re.IGNORECASE)
_MS_RE = re.compile(r"[0-9]{1,15}")
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")


# ---------------------------------------------------------------- common


def check_size(body: bytes, limit: int) -> None:
    """Reject bodies over ``limit`` bytes before any parsing or HMAC work.

    Raises:
        WebhookVerificationError: body_too_large.
    """
    if len(body) > limit:
        raise WebhookVerificationError(R.BODY_TOO_LARGE, f"{len(body)} > {limit} bytes")


class ReplayGuard(Protocol):
    """Remembers delivery keys; `seen` records ``key`` and says whether it was already there.

    Implementations must be atomic (e.g. INSERT … ON CONFLICT DO NOTHING) and keep keys at least as long
    as the timestamp tolerance, or a replay inside the window gets through.
    """

    def seen(self, key: str) -> bool: ...


def check_replay(guard: ReplayGuard, key: str) -> None:
    """Raises `WebhookVerificationError("replayed")` if ``key`` was delivered before."""
    if guard.seen(key):
        raise WebhookVerificationError(R.REPLAYED)


def hubspot_event_key(event: Mapping[str, Any]) -> str:
    """The de-duplication key of one HubSpot event; ``eventId`` alone is not unique (HubSpot docs)."""
    parts = (event.get(k) for k in ("portalId", "subscriptionId", "eventId", "occurredAt"))
    return "hubspot:" + ":".join("" if p is None else str(p) for p in parts)


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value.strip()
    return ""


def _secrets(secrets: str | Sequence[str]) -> list[str]:
    items = [secrets] if isinstance(secrets, str) else list(secrets)
    if not items or not all(items):
        raise ValueError("at least one non-empty secret is required")
    return items


def _b64_signature(value: str) -> bytes:
    try:
        sig = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "not base64") from exc
    if len(sig) != hashlib.sha256().digest_size:
        raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "wrong length")
    return sig


def _hmac(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


def _any_match(expected: Sequence[bytes], presented: bytes) -> None:
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate, presented)
    if not matched:
        raise WebhookVerificationError(R.NO_MATCHING_SIGNATURE)


def _check_window(skew_seconds: float, tolerance: timedelta) -> None:
    if skew_seconds < -tolerance.total_seconds():
        raise WebhookVerificationError(R.TIMESTAMP_TOO_OLD)
    if skew_seconds > tolerance.total_seconds():
        raise WebhookVerificationError(R.TIMESTAMP_IN_FUTURE)


# ---------------------------------------------------------------- Zendesk


def _zendesk_timestamp(value: str | datetime) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_zendesk(secret: str, timestamp: str | datetime, body: bytes) -> dict[str, str]:
    """Headers Zendesk sends: the ISO-8601 timestamp text and base64 HMAC over timestamp + body."""
    ts = _zendesk_timestamp(timestamp)
    signature = base64.b64encode(_hmac(secret, ts.encode("utf-8") + body)).decode("ascii")
    return {ZENDESK_SIGNATURE: signature, ZENDESK_TIMESTAMP: ts}


def verify_zendesk(
    headers: Mapping[str, str],
    body: bytes,
    secrets: str | Sequence[str],
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Verify a Zendesk webhook against any of ``secrets`` (a webhook's secret can be reset).

    Raises:
        WebhookVerificationError: missing_header, bad_timestamp, timestamp_too_old, timestamp_in_future,
            malformed_signature or no_matching_signature.
    """
    raw_sig = _header(headers, ZENDESK_SIGNATURE)
    raw_ts = _header(headers, ZENDESK_TIMESTAMP)
    if not (raw_sig and raw_ts):
        raise WebhookVerificationError(R.MISSING_HEADER)
    try:
        when = datetime.fromisoformat(raw_ts)
    except ValueError as exc:
        raise WebhookVerificationError(R.BAD_TIMESTAMP, "not ISO-8601") from exc
    if when.tzinfo is None:
        raise WebhookVerificationError(R.BAD_TIMESTAMP, "no UTC offset")
    _check_window((when - now).total_seconds(), tolerance)
    presented = _b64_signature(raw_sig)
    message = raw_ts.encode("utf-8") + body
    _any_match([_hmac(s, message) for s in _secrets(secrets)], presented)


# ---------------------------------------------------------------- HubSpot


def hubspot_canonical_uri(uri: str) -> str:
    """Decode the escapes HubSpot decodes before signing (``%3A`` → ``:`` …), nothing else."""
    return _HUBSPOT_DECODE_RE.sub(lambda m: _HUBSPOT_DECODE[m.group(0).upper()], uri)


def _hubspot_v3_message(method: str, uri: str, body: bytes, timestamp_ms: str) -> bytes:
    return (
        method.upper().encode("utf-8")
        + hubspot_canonical_uri(uri).encode("utf-8")
        + body
        + timestamp_ms.encode("ascii")
    )


def sign_hubspot_v3(
    client_secret: str, method: str, uri: str, body: bytes, timestamp_ms: int
) -> dict[str, str]:
    """Headers HubSpot sends with a v3 signature; ``uri`` is the full URL it calls."""
    ts = str(int(timestamp_ms))
    signature = _hmac(client_secret, _hubspot_v3_message(method, uri, body, ts))
    return {HUBSPOT_SIGNATURE_V3: base64.b64encode(signature).decode("ascii"), HUBSPOT_TIMESTAMP: ts}


def verify_hubspot_v3(
    headers: Mapping[str, str],
    body: bytes,
    client_secret: str | Sequence[str],
    *,
    method: str,
    uri: str,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Verify a HubSpot v3 request. ``uri`` must be the public URL HubSpot called (rebuild it from the
    configured public base URL behind a proxy, not from ``request.url``).

    HubSpot itself only rejects old timestamps; we also reject ones more than ``tolerance`` ahead.

    Raises:
        WebhookVerificationError: missing_header, bad_timestamp, timestamp_too_old, timestamp_in_future,
            malformed_signature or no_matching_signature.
    """
    raw_sig = _header(headers, HUBSPOT_SIGNATURE_V3)
    raw_ts = _header(headers, HUBSPOT_TIMESTAMP)
    if not (raw_sig and raw_ts):
        raise WebhookVerificationError(R.MISSING_HEADER)
    if not _MS_RE.fullmatch(raw_ts):
        raise WebhookVerificationError(R.BAD_TIMESTAMP, "not integer milliseconds")
    _check_window(int(raw_ts) / 1000 - now.timestamp(), tolerance)
    presented = _b64_signature(raw_sig)
    message = _hubspot_v3_message(method, uri, body, raw_ts)
    _any_match([_hmac(s, message) for s in _secrets(client_secret)], presented)


def sign_hubspot_v1(client_secret: str, body: bytes) -> dict[str, str]:
    """Legacy v1 headers: hex SHA-256 (not HMAC) of secret + body."""
    digest = hashlib.sha256(client_secret.encode("utf-8") + body).hexdigest()
    return {HUBSPOT_SIGNATURE: digest, HUBSPOT_SIGNATURE_VERSION: "v1"}


def sign_hubspot_v2(client_secret: str, method: str, uri: str, body: bytes) -> dict[str, str]:
    """Legacy v2 headers: hex SHA-256 of secret + method + URI + body."""
    source = (client_secret + method.upper() + uri).encode("utf-8") + body
    return {HUBSPOT_SIGNATURE: hashlib.sha256(source).hexdigest(), HUBSPOT_SIGNATURE_VERSION: "v2"}


def verify_hubspot_legacy(
    headers: Mapping[str, str], body: bytes, client_secret: str | Sequence[str], *, method: str, uri: str
) -> None:
    """Verify a v1 or v2 signature (per ``X-HubSpot-Signature-Version``). No timestamp: the caller MUST
    de-duplicate (`hubspot_event_key`) and should accept these only behind a setting.

    Raises:
        WebhookVerificationError: missing_header, malformed_signature or no_matching_signature.
    """
    raw_sig = _header(headers, HUBSPOT_SIGNATURE)
    version = _header(headers, HUBSPOT_SIGNATURE_VERSION).lower()
    if not raw_sig or version not in {"v1", "v2"}:
        raise WebhookVerificationError(R.MISSING_HEADER)
    if not _HEX64_RE.fullmatch(raw_sig):
        raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "not 64 hex digits")
    presented = bytes.fromhex(raw_sig)
    expected = []
    for secret in _secrets(client_secret):
        signed = (
            sign_hubspot_v1(secret, body) if version == "v1" else sign_hubspot_v2(secret, method, uri, body)
        )
        expected.append(bytes.fromhex(signed[HUBSPOT_SIGNATURE]))
    _any_match(expected, presented)
