"""Audit 8: attacks the earlier audits' tests did not cover (one section per finding). Each test failed on
the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer

# ------------------------------------------------------------------ raw (unescaped) surrogates in JSON

CESU_HIGH = "\ud800".encode("utf-8", "surrogatepass")  # b"\xed\xa0\x80": not UTF-8, yet json.loads takes it


def test_a_raw_surrogate_in_a_json_body_is_a_400_not_a_500(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """The app-wide check refused "\\ud800" written as an escape, but not the same surrogate written as raw
    bytes: json.loads decodes bytes with "surrogatepass", so the description parsed to a lone surrogate and
    storing it raised UnicodeEncodeError (a 500) on SQLite and PostgreSQL alike."""
    body = b'{"url": "https://93.184.216.34/x", "event_types": ["account.band_changed"], "description": "x'
    resp = client.post(
        "/api/v1/webhooks",
        data=body + CESU_HIGH + b'"}',
        content_type="application/json",
        headers=bearer(tenants["acme"].admin_key),
    )
    assert resp.status_code == 400
    assert "lone surrogate" in resp.get_json()["message"]
    with transaction(client.application.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.query(m.WebhookEndpoint).count() == 0


@pytest.mark.parametrize("path", ["/inbound/zendesk/acme", "/inbound/hubspot/acme"])
def test_a_raw_surrogate_in_an_inbound_body_is_refused_before_the_signature(
    client: Any, tenants: dict[str, TenantData], path: str
) -> None:
    # Before: on to the signature check, and with a valid signature the event id was a 500 when stored.
    resp = client.post(path, data=b'{"id": "' + CESU_HIGH + b'"}', content_type="application/json")
    assert resp.status_code == 400


def test_other_multi_byte_text_still_passes(client: Any, tenants: dict[str, TenantData]) -> None:
    """ED 9F BF is U+D7FF, the last character before the surrogates: proper UTF-8, accepted."""
    body = '{"url": "https://93.184.216.34/x", "event_types": ["account.band_changed"], "description": "\ud7ff é 😀"}'
    resp = client.post(
        "/api/v1/webhooks",
        data=body.encode(),
        content_type="application/json",
        headers=bearer(tenants["acme"].admin_key),
    )
    assert resp.status_code == 201
