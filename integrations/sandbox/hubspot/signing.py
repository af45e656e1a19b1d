"""HubSpot's v3 request signature, computed the way HubSpot signs what it sends (the sandbox's own code).

From HubSpot's developer docs ("Validating requests", v3) and the changelog "Introducing version 3 of webhook
signatures", not from the product's verifier, so a misreading on one side fails the known-answer tests:
- `X-HubSpot-Request-Timestamp`: the time of sending in epoch milliseconds;
- `X-HubSpot-Signature-v3`: base64 of HMAC-SHA256 keyed with the app's client secret over the UTF-8 string
  method + URI + body + timestamp, where URI is the full URL called with the escapes %3A %2F %3F %40 %21 %24
  %27 %28 %29 %2A %2C %3B decoded (receivers decode them before hashing, so HubSpot signs them decoded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
_DECODED_ESCAPE = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


def signed_uri(uri: str) -> str:
    """The URI as it enters the signature: only the listed escapes decoded, everything else untouched."""
    return _DECODED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), uri)


def sign_v3(client_secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """The two headers HubSpot adds to a request it sends to `uri`."""
    stamp = str(int(timestamp_ms))
    source = f"{method.upper()}{signed_uri(uri)}".encode() + body + stamp.encode()
    digest = hmac.new(client_secret.encode("utf-8"), source, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(digest).decode("ascii"), TIMESTAMP_HEADER: stamp}
