"""Vendor sessions follow redirects within their origin only (integrations/redirects.py, audit 6).

A refresh grant carries the client secret and the refresh token in its body, which requests re-sends on a
307/308 to wherever Location points. Before: a token endpoint answering `307 Location: <another host>`
got the secrets re-POSTed there, and the grant succeeded with that host's tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integrations.errors import IntegrationError
from integrations.oauth import TokenSet
from integrations.redirects import CrossOriginRedirectError, _origin, vendor_session
from integrations.registry import Connection
from tests.integrations.redirect_servers import two_origins


def _connection(vendor: str, base_url: str) -> Connection:
    return Connection(
        vendor=vendor,
        # zenpy wants an https API root; the grants go to token_url alone
        base_url=base_url.replace("http://", "https://"),
        token_url=f"{base_url}/token",
        client_id="cid",
        client_secret="the-client-secret",
        tokens=TokenSet(access_token="at-old", refresh_token="rt-old"),
        save_tokens=lambda _t: None,
        timeout=5.0,
        sleep=lambda _s: None,
    )


def _salesforce(conn: Connection) -> Any:
    from integrations.salesforce.client import SalesforceClient

    client = SalesforceClient(conn, conn.tokens)
    return lambda: client.refresh_grant("rt-old")


def _zendesk(conn: Connection) -> Any:
    from integrations.zendesk.client import ZendeskClient

    client = ZendeskClient(conn)
    return client.refresh


def _hubspot(conn: Connection) -> Any:
    from integrations.hubspot.client import HubSpotClient

    client = HubSpotClient(conn)
    return lambda: client.refresh("rt-old")


GRANTS: dict[str, Callable[[Connection], Any]] = {
    "salesforce": _salesforce,
    "zendesk": _zendesk,
    "hubspot": _hubspot,
}


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("vendor", sorted(GRANTS))
def test_refresh_grant_is_not_reposted_to_another_origin(vendor: str, status: int) -> None:
    with two_origins() as (ours, other):
        ours.redirect("/token", f"{other.url}/token", status)
        other.answer("/token")
        grant = GRANTS[vendor](_connection(vendor, ours.url))
        with pytest.raises(IntegrationError) as info:
            grant()
    assert isinstance(info.value, CrossOriginRedirectError)
    assert info.value.vendor == vendor
    assert other.received == []  # the secrets went nowhere else
    assert "the-client-secret" not in str(info.value)


@pytest.mark.parametrize("vendor", sorted(GRANTS))
def test_refresh_grant_follows_a_redirect_within_its_origin(vendor: str) -> None:
    with two_origins() as (ours, _other):
        ours.redirect("/token", "/token2", 307)
        ours.answer("/token2")
        GRANTS[vendor](_connection(vendor, ours.url))()
    assert [(m, p) for m, p, _b in ours.received] == [("POST", "/token"), ("POST", "/token2")]


@pytest.mark.parametrize(
    "location",
    [
        "{other}/x",
        "//127.0.0.2:{port}/x",  # scheme-relative, another host
        "{ours_https}/x",  # same host and port, another scheme
        "http://127.0.0.1:{port}\\@127.0.0.2:{port}/x",  # urllib3 and urlsplit read different hosts
    ],
)
def test_cross_origin_locations_are_refused(location: str) -> None:
    with two_origins() as (ours, other):
        port = ours.url.rsplit(":", 1)[1]
        target = location.format(other=other.url, port=port, ours_https=ours.url.replace("http:", "https:"))
        ours.redirect("/x", target, 302)
        with pytest.raises(CrossOriginRedirectError):
            vendor_session("zendesk").get(f"{ours.url}/x", timeout=5)
    assert other.received == []


def test_origin_reading() -> None:
    assert _origin("https://A.example.com./x") == ("https", "a.example.com", 443)
    assert _origin("https://a.example.com:443/x") == _origin("https://a.example.com/y")
    assert _origin("http://a.example\\@b.example/") is None  # parsers disagree: refused
    assert _origin("ftp://a.example/") is None
