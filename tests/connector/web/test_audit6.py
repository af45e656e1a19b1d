"""Sixth security audit: attacks the earlier audits' tests did not cover (one section per finding)."""

from __future__ import annotations

from typing import Any

import pytest

# ------------------------------------------------------------------ host header in Werkzeug's own redirects


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, object]) -> dict[str, object]:
    """The Host allow-list off (audit 10 added it; evil.example is a 400 under it): even where a deployment
    answers any Host, Werkzeug's routing redirects must not name it."""
    return {**settings_overrides, "allowed_hosts": "*"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/admin/webhooks", "/admin/webhooks/"),  # the trailing slash
        ("/admin/webhooks?x=1", "/admin/webhooks/?x=1"),
        ("/admin//keys", "/admin/keys"),  # merged slashes
    ],
)
def test_routing_redirects_never_name_the_requests_host(acme_admin: Any, path: str, location: str) -> None:
    # Before: Werkzeug built the Location from the Host header (Flask returns routing redirects before
    # any error handler): 308 Location: http://evil.example/admin/webhooks/.
    resp = acme_admin.get(path, headers={"Host": "evil.example"})
    assert resp.status_code == 308
    assert resp.headers["Location"] == location
    assert resp.headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------------ whitespace and control characters in URLs


@pytest.mark.parametrize(
    "url", ["https://93.184.216.34/a\nb", "https://93.184.\t216.34/x", "https://93.184.216.34/a b"]
)
def test_webhook_urls_with_whitespace_or_controls_are_refused(client: Any, tenants: Any, url: str) -> None:
    # Before: stored as typed (201): urlsplit drops tabs and newlines before the SSRF guard looks at the host,
    # requests percent-encodes them, and the page shows a third spelling.
    from tests.connector.web.seed import bearer

    resp = client.post("/api/v1/webhooks", json={"url": url}, headers=bearer(tenants["acme"].admin_key))
    assert resp.status_code == 422
    assert "control character" in resp.get_json()["hint"]


def test_vendor_urls_with_a_tab_are_refused(acme_admin: Any) -> None:
    # A tab between labels passed the production host pattern once urlsplit had dropped it
    # ('evil.com<TAB>.my.salesforce.com' read as the My Domain 'evil.com.my.salesforce.com').
    from connector.installs.url_guard import UnsafeVendorUrlError, check_vendor_url

    with pytest.raises(UnsafeVendorUrlError):
        check_vendor_url(
            "salesforce",
            "https://evil.com\t.my.salesforce.com",
            production=True,
            resolver=lambda h, p: ["8.8.8.8"],
        )
    resp = acme_admin.post(
        "/admin/integrations/zendesk/connect",
        data={"base_url": "https://127.0.0.1:1\t/", "client_id": "c", "client_secret": "s"},
    )
    assert resp.status_code == 400
