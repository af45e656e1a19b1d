"""Standard Webhooks (v1, HMAC-SHA256) signing and verification: pure, the clock is passed in.

Spec: standard-webhooks `spec/standard-webhooks.md` v1.0.0. The signed content is
``"{webhook-id}.{webhook-timestamp}.{raw body}"``, keyed with the base64-decoded part of a ``whsec_`` secret.

We compute the HMAC with the standard library instead of calling `standardwebhooks.Webhook` because that
class signs ``str`` bodies only, reads the wall clock inside ``verify`` with a fixed 5-minute tolerance and
raises bare ``ValueError`` on malformed headers; we need raw bytes, an injected clock and one reason code
per failure. The tests prove both directions of interoperability with the package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from secrets import token_bytes as _token_bytes

from webhooks.errors import VerificationReason as R
from webhooks.errors import WebhookVerificationError

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = timedelta(seconds=300)
# The spec recommends 24 to 64 random bytes for a symmetric key.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_HMAC_LEN = hashlib.sha256().digest_size


def generate_secret(num_bytes: int = 32, *, token_bytes: Callable[[int], bytes] = _token_bytes) -> str:
    """Return a new endpoint secret ``whsec_<base64>``; ``token_bytes`` is injectable for tests."""
    if not MIN_SECRET_BYTES <= num_bytes <= MAX_SECRET_BYTES:
        raise ValueError(f"num_bytes must be {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES}, got {num_bytes}")
    return SECRET_PREFIX + base64.b64encode(token_bytes(num_bytes)).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_`` secret (the prefix is optional, padding may be missing).

    Raises:
        ValueError: the secret is empty or not base64 — a configuration error, not a bad request.
    """
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _as_list(secrets: str | Sequence[str]) -> list[str]:
    # A bare str is a Sequence[str] too; iterating it would sign with single characters.
    items = [secrets] if isinstance(secrets, str) else list(secrets)
    if not items:
        raise ValueError("at least one secret is required")
    return items


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(msg_id: str, timestamp: int, body: bytes, secrets: str | Sequence[str]) -> str:
    """Return the ``webhook-signature`` value: one ``v1,<b64>`` per secret, space-separated (rotation)."""
    if not msg_id or "." in msg_id:
        raise ValueError("msg_id must be non-empty and must not contain '.'")
    if isinstance(timestamp, bool) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative int of Unix seconds")
    parts = []
    for secret in _as_list(secrets):
        digest = _digest(decode_secret(secret), msg_id, str(int(timestamp)), body)
        parts.append(f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}")
    return " ".join(parts)


def sign_headers(msg_id: str, timestamp: int, body: bytes, secrets: str | Sequence[str]) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one delivery attempt."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(int(timestamp)),
        HEADER_SIGNATURE: sign(msg_id, timestamp, body, secrets),
    }


def _parse_signatures(value: str) -> list[bytes]:
    """Return the decoded v1 signatures; other well-formed versions (e.g. ``v1a``) are skipped."""
    found: list[bytes] = []
    for entry in value.split():
        version, comma, encoded = entry.partition(",")
        if not comma or not version or not encoded:
            raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "entry is not 'version,signature'")
        if version != SIGNATURE_VERSION:
            continue
        try:
            sig = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "v1 signature is not base64") from exc
        if len(sig) != _HMAC_LEN:
            raise WebhookVerificationError(R.MALFORMED_SIGNATURE, "v1 signature has the wrong length")
        found.append(sig)
    return found


def check_timestamp(raw: str, now: datetime, tolerance: timedelta) -> int:
    """Return ``raw`` as Unix seconds if it is an integer within ``tolerance`` of ``now``.

    Raises:
        WebhookVerificationError: bad_timestamp, timestamp_too_old or timestamp_in_future.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not _TIMESTAMP_RE.fullmatch(raw):
        raise WebhookVerificationError(R.BAD_TIMESTAMP, "not an integer of Unix seconds")
    ts = int(raw)
    skew = ts - now.timestamp()
    if skew < -tolerance.total_seconds():
        raise WebhookVerificationError(R.TIMESTAMP_TOO_OLD)
    if skew > tolerance.total_seconds():
        raise WebhookVerificationError(R.TIMESTAMP_IN_FUTURE)
    return ts


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: str | Sequence[str],
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Verify a Standard Webhooks request against any of ``secrets`` and return its ``webhook-id``.

    The caller still de-duplicates on the returned id (replay inside the tolerance window).

    Raises:
        WebhookVerificationError: missing_header, bad_id, bad_timestamp, timestamp_too_old,
            timestamp_in_future, malformed_signature or no_matching_signature.
        ValueError: a configured secret is unusable.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get(HEADER_ID, "").strip()
    raw_ts = lower.get(HEADER_TIMESTAMP, "").strip()
    raw_sig = lower.get(HEADER_SIGNATURE, "").strip()
    if not (msg_id and raw_ts and raw_sig):
        raise WebhookVerificationError(R.MISSING_HEADER)
    if "." in msg_id:
        raise WebhookVerificationError(R.BAD_ID)
    check_timestamp(raw_ts, now, tolerance)
    presented = _parse_signatures(raw_sig)
    keys = [decode_secret(s) for s in _as_list(secrets)]
    # Compare every pair without early exit on a mismatch; compare_digest keeps each comparison constant-time.
    matched = False
    for key in keys:
        expected = _digest(key, msg_id, raw_ts, body)
        for sig in presented:
            matched |= hmac.compare_digest(expected, sig)
    if not matched:
        raise WebhookVerificationError(R.NO_MATCHING_SIGNATURE)
    return msg_id
