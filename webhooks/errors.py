"""Errors raised by the webhooks package, each carrying one machine-readable reason code.

```
WebhookError
├── WebhookVerificationError(reason)   → reject the inbound request (400/401/413); never a 500
├── UnsafeTargetError(reason)          → refuse to send to / save this endpoint URL
└── DeliveryError(reason)              → programming/config problem while preparing a delivery
```

Reason codes are `StrEnum` members so they compare equal to their plain strings
(`err.reason == "missing_header"`) and serialise as-is into JSON error bodies and attempt logs.
"""

from __future__ import annotations

from enum import StrEnum


class VerificationReason(StrEnum):
    """Why an inbound signed request was rejected."""

    MISSING_HEADER = "missing_header"
    BAD_TIMESTAMP = "bad_timestamp"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    NO_MATCHING_SIGNATURE = "no_matching_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    # The webhook-id is unusable (contains "." which would make the signed content ambiguous).
    BAD_ID = "bad_id"
    BODY_TOO_LARGE = "body_too_large"
    REPLAYED = "replayed"
    # Salesforce outbound messages: not a SOAP notifications envelope we can read.
    MALFORMED_BODY = "malformed_body"
    ORG_ID_MISMATCH = "org_id_mismatch"
    # A per-installation URL token (Salesforce outbound messages) did not match.
    BAD_TOKEN = "bad_token"  # noqa: S105 - a reason code, not a secret


class UnsafeReason(StrEnum):
    """Why an outbound target URL was refused by the SSRF guard."""

    BAD_URL = "bad_url"
    BAD_SCHEME = "bad_scheme"
    HTTPS_REQUIRED = "https_required"
    CREDENTIALS_IN_URL = "credentials_in_url"
    MISSING_HOST = "missing_host"
    BAD_PORT = "bad_port"
    METADATA_HOST = "metadata_host"
    UNRESOLVABLE = "unresolvable"
    BLOCKED_ADDRESS = "blocked_address"


class WebhookError(Exception):
    """Base of every error this package raises; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class WebhookVerificationError(WebhookError):
    """An inbound webhook failed verification; `reason` is a `VerificationReason`."""


class UnsafeTargetError(WebhookError):
    """An outbound URL points somewhere we must not connect to; `reason` is an `UnsafeReason`."""


class DeliveryError(WebhookError):
    """A delivery could not even be attempted because its inputs are invalid (e.g. no secrets)."""
