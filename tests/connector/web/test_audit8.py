"""Audit 8: attacks the earlier audits' tests did not cover (one section per finding). Each test failed on
the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web import test_embed
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


# ------------------------------------------------------------------ timing of the HubSpot card's refusals


@pytest.fixture
def portal(app: Any, tenants: dict[str, TenantData]) -> int:
    """test_embed's HubSpot install: acme on portal 4242, its Red account HubSpot company 9001."""
    return int(test_embed.hubspot_install.__wrapped__(app, tenants))  # type: ignore[attr-defined]


def test_the_card_decrypts_a_secret_for_a_portal_nobody_connected(
    client: Any, portal: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit 7 made a portal that is no customer's answer with the very bytes a customer's portal gets for a
    bad signature, but only a customer's portal paid for the vault (its client secret decrypted) and an ORM
    object: it answered ~0.2 ms later (interleaved medians of 1,500 requests each: 1.82-2.07 ms against
    1.64-1.81 ms), and the card has no per-address budget, so timing listed which portals use healthscore.
    Now both decrypt one secret and read three columns (after: 2.79/2.79, 3.26/3.25, 3.52/3.49 ms)."""
    from sqlalchemy import event

    from connector.installs.vault import Vault

    decrypted: list[str] = []
    real = Vault.decrypt
    monkeypatch.setattr(Vault, "decrypt", lambda self, token: decrypted.append(token) or real(self, token))
    loaded: list[Any] = []
    listener = lambda target, _context: loaded.append(target)  # noqa: E731
    event.listen(m.Installation, "load", listener)
    try:
        for number in (portal, portal + 1):
            resp = test_embed._signed(
                client, f"/embed/hubspot/card?companyId=9001&portalId={number}", secret="wrong"
            )
            assert resp.status_code == 401
    finally:
        event.remove(m.Installation, "load", listener)
    assert len(decrypted) == 2  # the customer's secret, then the decoy's
    assert loaded == []  # no ORM object for one and none for the other


def test_the_card_still_serves_a_customers_portal(client: Any, portal: int) -> None:
    resp = test_embed._signed(client, f"/embed/hubspot/card?companyId=9001&portalId={portal}")
    assert resp.status_code == 200
    assert resp.get_json()["name"] == "Acme Red Corp"


# ------------------------------------------------------------------ secrets in the paths of failed requests


@pytest.mark.parametrize(
    ("method", "path", "secret"),
    [
        ("POST", "/inbound/salesforce/acme/sf-URL-token-0123456789", "sf-URL-token-0123456789"),
        ("GET", "/invite/invite-TOKEN-0123456789", "invite-TOKEN-0123456789"),
    ],
    ids=["salesforce-url-token", "invitation"],
)
def test_a_failed_request_does_not_log_the_secret_in_its_path(
    app: Any,
    tenants: dict[str, TenantData],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    secret: str,
) -> None:
    """Flask logs every request that fails with its path ("Exception on /inbound/salesforce/acme/<token>
    [POST]"), and two paths carry secrets: the Salesforce inbound URL token (the one secret a forged Outbound
    Message lacks) and an invitation link (sets the password of an account for a week). A database outage
    wrote both into the log; the redaction filter knew neither."""
    import io

    from sqlalchemy.exc import OperationalError

    from connector.installs import users
    from connector.logs import configure_logging
    from connector.realtime import inbound

    def down(*_args: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(inbound, "_read_install", down)
    monkeypatch.setattr(users, "_invited", down)
    inbound.forget_installs()
    app.testing = False  # the production path: the error handler answers and Flask logs the exception
    app.config["PROPAGATE_EXCEPTIONS"] = False
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    try:
        resp = app.test_client().open(path, method=method, data=b"<x/>", content_type="text/xml")
    finally:
        configure_logging()
    assert resp.status_code == 500
    log = stream.getvalue()
    assert "Exception on" in log  # the failure is logged ...
    assert secret not in log  # ... without the secret


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Exception on /inbound/salesforce/acme/tok_AbC-123 [POST]", "tok_AbC-123"),
        ("https://hs.example/invite/AbC_d-123 sent", "AbC_d-123"),
        ("Max retries exceeded with url: /oauth/v1/refresh-tokens/na1-abc-123 (Caused by", "na1-abc-123"),
        ("GET /oauth/v1/access-tokens/CJDq9-abc.def", "CJDq9-abc.def"),
    ],
    ids=["salesforce-url-token", "invitation", "hubspot-refresh-token", "hubspot-access-token"],
)
def test_secrets_in_url_paths_are_redacted(line: str, secret: str) -> None:
    from connector.logs import redact

    assert secret not in redact(line)


def test_paths_without_secrets_are_kept() -> None:
    from connector.logs import redact

    line = "Exception on /admin/users/invite [POST]; /inbound/zendesk/acme; /inbound/salesforce/acme"
    assert redact(line) == line


# ------------------------------------------------------------------ the Zendesk sidebar's key, other vendors


def test_the_sidebar_key_looks_up_zendesk_records_only(client: Any, tenants: dict[str, TenantData]) -> None:
    """The installation key is bound to Zendesk for its sidebar (docs: it 'only reads the per-record lookups
    the in-vendor views need'), yet it read any CRM account's health by Salesforce or HubSpot id, and any
    vendor's ticket: a key kept in Zendesk's settings reached the CRM side too."""
    from tests.connector.web.seed import sidebar_key

    acme = tenants["acme"]
    key, _ = sidebar_key(client.application.config["HEALTHSCORE"].sqlalchemy_url, acme)
    crm_id = "001Acme000000000000"  # the seed's Acme Green Corp in Salesforce
    assert client.get(f"/api/v1/health/salesforce/{crm_id}", headers=bearer(acme.read_key)).status_code == 200
    for path in (
        f"/api/v1/health/salesforce/{crm_id}",
        "/api/v1/health/hubspot/9001",
        "/api/v1/tickets/salesforce/500x",
    ):
        resp = client.get(path, headers=bearer(key))
        assert resp.status_code == 403, path
        assert "Zendesk records only" in resp.get_json()["message"]
    # what the sidebar calls still answers
    assert client.get("/api/v1/health/zendesk/Acme-ORG-1", headers=bearer(key)).status_code in (200, 404)
    assert client.get("/api/v1/tickets/zendesk/1", headers=bearer(key)).status_code in (200, 404)
