"""Sixth security audit: attacks the earlier audits' tests did not cover (one section per finding)."""

from __future__ import annotations

from typing import Any

import pytest

# ------------------------------------------------------------------ host header in Werkzeug's own redirects


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
