"""Zendesk's webhook signature, computed the way Zendesk signs what it sends (the sandbox's own code).

From Zendesk's developer docs ("Verifying webhook authenticity"), not from the product's verifier, so a
misreading on one side fails the known-answer tests:
- `X-Zendesk-Webhook-Signature-Timestamp`: the time of sending, ISO-8601 in UTC (`2021-07-25T10:00:00Z`);
- `X-Zendesk-Webhook-Signature`: base64(HMAC-SHA256(signing secret, TIMESTAMP + BODY)), the secret used as
  the text it is shown as (not base64-decoded) and an empty body for requests without one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The two headers Zendesk adds to a webhook request carrying `body`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256)
    return {SIGNATURE_HEADER: base64.b64encode(mac.digest()).decode("ascii"), TIMESTAMP_HEADER: timestamp}
