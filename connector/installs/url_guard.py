"""Vet every URL an admin types for a vendor connection (and the instance URL a vendor hands back).

The OAuth token exchange POSTs the client secret and the PKCE verifier to the URL on the connect form, so
that URL must never reach an internal service. Two layers:
- production: only the vendors' real host patterns, over https on the default port;
- everywhere: the outbound-webhook SSRF guard (`webhooks.ssrf.check_url`) on the resolved addresses. Outside
  production (development, test, the demo) loopback is allowed because the vendor sandboxes listen there;
  private, link-local and metadata addresses never are.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from webhooks.errors import UnsafeTargetError
from webhooks.ssrf import Resolver, blocked_reason, check_url, resolve_host

# Per vendor, the hosts its OAuth/API endpoints live on (lower-case, anchored).
VENDOR_HOSTS: dict[str, tuple[re.Pattern[str], ...]] = {
    "salesforce": tuple(
        re.compile(p)
        for p in (
            r"login\.salesforce\.com",
            r"test\.salesforce\.com",
            r"[a-z0-9-]+(\.[a-z0-9-]+)?\.my\.salesforce\.com",  # My Domain, incl. *.sandbox.my…
            r"[a-z0-9-]+\.sandbox\.my\.salesforce\.com",
        )
    ),
    "hubspot": tuple(
        re.compile(p) for p in (r"api\.hubapi\.com", r"app\.hubspot\.com", r"app-eu1\.hubspot\.com")
    ),
    "zendesk": (re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.zendesk\.com"),),
}

GENERIC = "this URL cannot be used for {label}"
HINT = {
    "salesforce": "use https://login.salesforce.com, https://test.salesforce.com or your My Domain URL "
    "(https://NAME.my.salesforce.com)",
    "hubspot": "use https://app.hubspot.com (API calls go to https://api.hubapi.com)",
    "zendesk": "use your account URL, https://YOUR-SUBDOMAIN.zendesk.com",
}


class UnsafeVendorUrlError(ValueError):
    """The URL is refused; `reason` is for the log only, the message is what a person sees."""

    def __init__(self, vendor: str, reason: str) -> None:
        self.reason = reason
        label = {"salesforce": "Salesforce", "hubspot": "HubSpot", "zendesk": "Zendesk"}.get(vendor, vendor)
        super().__init__(f"{GENERIC.format(label=label)} — {HINT.get(vendor, 'check the URL')}")


def vendor_host_allowed(vendor: str, host: str) -> bool:
    host = host.rstrip(".").lower()
    return any(p.fullmatch(host) for p in VENDOR_HOSTS.get(vendor, ()))


def check_vendor_url(vendor: str, url: str, *, production: bool, resolver: Resolver = resolve_host) -> str:
    """Return the URL when it may receive our OAuth secrets; raise otherwise.

    Raises:
        UnsafeVendorUrlError: not a vendor host (production), not https (except loopback outside
            production), or resolving to an address the SSRF guard refuses.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeVendorUrlError(vendor, "unparseable") from exc
    host = (parts.hostname or "").rstrip(".").lower()
    if production:
        if parts.scheme != "https" or port not in (None, 443):
            raise UnsafeVendorUrlError(vendor, "https on the default port required")
        if not vendor_host_allowed(vendor, host):
            raise UnsafeVendorUrlError(vendor, f"host {host!r} is not a {vendor} host")
    try:
        target = check_url(url, allow_private=not production, resolver=resolver)
    except UnsafeTargetError as exc:
        raise UnsafeVendorUrlError(vendor, str(exc.reason)) from exc
    loopback_only = all(_is_loopback(a) for a in target.addresses)
    for address in target.addresses:
        reason = blocked_reason(address)
        # Outside production the sandboxes on loopback are fine; nothing else internal is.
        if reason is not None and not (reason == "loopback" and not production):
            raise UnsafeVendorUrlError(vendor, f"{address} is {reason}")
    if target.scheme != "https" and not (loopback_only and not production):
        raise UnsafeVendorUrlError(vendor, "https required (http only for a local sandbox)")
    return url.strip()


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return blocked_reason(address) == "loopback"
