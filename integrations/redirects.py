"""Vendor HTTP calls follow redirects within their own origin only.

requests follows redirects by default, and a 307/308 re-sends the body: an OAuth code exchange or refresh
grant (client secret, refresh token, PKCE verifier in the form) answered with
`307 Location: https://elsewhere/` was POSTed again, secrets and all, to a host nobody vetted (the URL
guard checks the address typed on the connect form, not where its answer points: another host, an
internal address, the metadata service). requests drops the Authorization header on a change of host,
never the body. So every session that talks to a vendor gets `same_origin_redirects`: a redirect to
another scheme, host or port raises `CrossOriginRedirectError` before it is followed; a redirect within the
origin is followed as before.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

from integrations.errors import MalformedResponseError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossOriginRedirectError(MalformedResponseError, requests.RequestException):
    """A vendor answer redirected to another origin; nothing was sent there.

    Both an IntegrationError (the adapters' callers see a malformed vendor answer) and a
    requests.RequestException (code that catches transport failures around a plain requests call, such as
    the OAuth exchange and revoke, treats it as one)."""

    def __init__(self, vendor: str, source: str, target: str) -> None:
        super().__init__(
            vendor, f"answer redirected to another origin ({_origin_text(source)} -> {_origin_text(target)})"
        )


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) as urllib3 (what requests connects to) and urlsplit both read it; None when
    either cannot read it or they disagree (a backslash, '@' or other parser differential)."""
    try:
        a = parse_url(url)
        b = urlsplit(url)
        b_port = b.port
    except ValueError:
        return None
    scheme = (a.scheme or "").lower()
    if scheme not in _DEFAULT_PORTS or (b.scheme or "").lower() != scheme:
        return None
    host_a = (a.host or "").strip("[]").rstrip(".").lower()
    host_b = (b.hostname or "").rstrip(".").lower()
    port_a = a.port or _DEFAULT_PORTS[scheme]
    port_b = b_port or _DEFAULT_PORTS[scheme]
    if not host_a or host_a != host_b or port_a != port_b:
        return None
    return scheme, host_a, port_a


def _origin_text(url: str) -> str:
    origin = _origin(url)
    return f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else "an unreadable URL"


def same_origin_redirects(session: requests.Session, vendor: str) -> requests.Session:
    """Make `session` refuse redirects that leave the requested origin (see the module's doc).

    The check sits where requests has built the next request of a redirect (its `rebuild_auth` step,
    wrapped on this instance), so it judges the very URL requests would connect to, whatever spelling
    the Location header used."""
    rebuild_auth: Callable[[requests.PreparedRequest, requests.Response], None] = session.rebuild_auth

    def checked(prepared: requests.PreparedRequest, response: requests.Response) -> None:
        source = (
            response.request.url if response.request is not None and response.request.url else response.url
        )
        target = prepared.url or ""
        here = _origin(source)
        if here is None or _origin(target) != here:
            response.close()
            raise CrossOriginRedirectError(vendor, source, target)
        rebuild_auth(prepared, response)

    session.rebuild_auth = checked  # type: ignore[method-assign]
    return session


def vendor_session(vendor: str) -> requests.Session:
    """A new requests session that follows same-origin redirects only."""
    return same_origin_redirects(requests.Session(), vendor)
