"""The URL guard on every admin-typed vendor URL (issue 12, item 1: SSRF through the OAuth connect form)."""

from __future__ import annotations

import pytest

from connector.installs.url_guard import UnsafeVendorUrlError, check_vendor_url


def public(_host: str, _port: int) -> list[str]:
    return ["13.110.6.10"]  # a public address (no network in tests)


def internal(_host: str, _port: int) -> list[str]:
    return ["10.0.0.7"]


@pytest.mark.parametrize(
    ("vendor", "url"),
    [
        ("salesforce", "https://169.254.169.254/"),
        ("salesforce", "https://10.0.0.1/"),
        ("salesforce", "https://[::1]/"),
        ("salesforce", "http://localhost:6379/"),
        ("salesforce", "https://evil.example.com/"),
        ("salesforce", "https://login.salesforce.com.evil.example/"),
        ("salesforce", "https://login.salesforce.com:8443/"),
        ("salesforce", "http://login.salesforce.com/"),
        ("zendesk", "https://acme.zendesk.com@10.0.0.1/"),
        ("hubspot", "https://api.hubapi.com.internal/"),
        ("zendesk", "https://login.salesforce.com/"),
    ],
)
def test_production_refuses_everything_but_vendor_hosts(vendor: str, url: str) -> None:
    with pytest.raises(UnsafeVendorUrlError) as info:
        check_vendor_url(vendor, url, production=True, resolver=public)
    # The message a person sees is generic: no address, no reason code.
    assert "cannot be used" in str(info.value)
    assert "10.0.0.1" not in str(info.value)


@pytest.mark.parametrize(
    ("vendor", "url"),
    [
        ("salesforce", "https://login.salesforce.com"),
        ("salesforce", "https://test.salesforce.com/"),
        ("salesforce", "https://acme.my.salesforce.com"),
        ("salesforce", "https://acme--uat.sandbox.my.salesforce.com"),
        ("hubspot", "https://api.hubapi.com"),
        ("hubspot", "https://app.hubspot.com"),
        ("zendesk", "https://acme.zendesk.com"),
    ],
)
def test_production_accepts_vendor_hosts(vendor: str, url: str) -> None:
    assert check_vendor_url(vendor, url, production=True, resolver=public) == url


def test_vendor_host_resolving_inside_is_refused() -> None:
    """DNS pointing a vendor-looking name at an internal address is refused too."""
    with pytest.raises(UnsafeVendorUrlError):
        check_vendor_url("zendesk", "https://acme.zendesk.com", production=True, resolver=internal)


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://192.168.1.1/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
        "http://example.com/",  # plain http only for a local sandbox
    ],
)
def test_development_refuses_internal_but_loopback(url: str) -> None:
    with pytest.raises(UnsafeVendorUrlError):
        check_vendor_url("salesforce", url, production=False, resolver=public)


@pytest.mark.parametrize("url", ["https://127.0.0.1:8443", "http://localhost:5001", "https://[::1]:9000"])
def test_development_allows_loopback_sandboxes(url: str) -> None:
    def loop(host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    assert check_vendor_url("salesforce", url, production=False, resolver=loop) == url


def test_token_exchange_never_reaches_an_internal_host_and_hides_remote_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exchange re-vets the URL right before the POST, and a refusal's remote text is not shown."""
    from datetime import UTC, datetime

    from authlib.integrations.requests_client import OAuth2Session, OAuthError

    from connector.installs import installs

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    calls: list[str] = []

    def refuse(self: object, url: str, **_kw: object) -> dict[str, str]:
        calls.append(url)
        raise OAuthError(error="invalid_client", description="<b>internal body: db password=hunter2</b>")

    monkeypatch.setattr(OAuth2Session, "fetch_token", refuse)
    internal_app = installs.AppConfig(
        vendor="zendesk", base_url="https://10.0.0.1", client_id="cid", client_secret="sec"
    )
    _url, pending = installs.authorization_request(internal_app, "https://h.example/cb", now)
    with pytest.raises(installs.InstallError) as info:
        installs.exchange(pending, "code", now, production=False, resolver=public)
    assert calls == []  # nothing was sent
    vendor_app = installs.AppConfig(
        vendor="zendesk", base_url="https://acme.zendesk.com", client_id="cid", client_secret="sec"
    )
    _url, pending = installs.authorization_request(vendor_app, "https://h.example/cb", now)
    with pytest.raises(installs.InstallError) as info:
        installs.exchange(pending, "code", now, production=True, resolver=public)
    assert calls == ["https://acme.zendesk.com/oauth/tokens"]
    assert "invalid_client" in info.value.detail
    assert "hunter2" not in info.value.detail
    assert "<b>" not in info.value.detail
