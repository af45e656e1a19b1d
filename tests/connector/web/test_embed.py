"""The HubSpot app card backend: HubSpot v3 signature over method + URI + body + timestamp."""

from __future__ import annotations

import time
from typing import Any

import pytest

from connector.installs.vault import Vault
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData
from webhooks.inbound import sign_hubspot_v3

SECRET = "hubspot-client-secret-acme"
BASE = "http://127.0.0.1:5000"


@pytest.fixture
def hubspot_install(app: Any, tenants: dict[str, TenantData]) -> int:
    """Acme runs on HubSpot portal 4242; its Red account is HubSpot company 9001."""
    vault = Vault(app.config["HEALTHSCORE"])
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=tenants["acme"].id,
                vendor="hubspot",
                base_url="https://api.hubapi.com",
                token_url="t",
                client_id="c",
                client_secret_enc=vault.encrypt(SECRET),
                vendor_account="4242",
                created_at=NOW,
            )
        )
        acc = session.get(m.Account, tenants["acme"].accounts["Acme Red Corp"])
        acc.vendor, acc.external_id = "hubspot", "9001"
    return 4242


def _signed(client: Any, path: str, secret: str = SECRET, skew_ms: int = 0, method: str = "GET") -> Any:
    ts = int(time.time() * 1000) + skew_ms
    headers = sign_hubspot_v3(secret, method, BASE + path, b"", ts)
    return client.open(path, method=method, headers=headers)


def test_signed_request_gets_the_card(client: Any, hubspot_install: int) -> None:
    resp = _signed(
        client, "/embed/hubspot/card?companyId=9001&portalId=4242&userId=1&userEmail=a%40b.c&appId=7"
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["band"] == "red"
    assert body["band_label"] == "Red (At risk)"
    assert body["score"] == 31.0
    assert body["drivers"] == ["Acme drivers text 2"]
    assert body["url"].endswith("/accounts/" + str(body["url"].rsplit("/", 1)[1]))


def test_unknown_company_is_not_found_not_error(client: Any, hubspot_install: int) -> None:
    body = _signed(client, "/embed/hubspot/card?companyId=1&portalId=4242").get_json()
    assert body["status"] == "not_found"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"secret": "wrong"}, "/embed/hubspot/card?companyId=9001&portalId=4242"),
        ({"skew_ms": -10 * 60 * 1000}, "/embed/hubspot/card?companyId=9001&portalId=4242"),
        ({}, "/embed/hubspot/card?companyId=9001&portalId=999"),  # a portal that is not a customer
    ],
    ids=["wrong-secret", "stale", "unknown-portal"],
)
def test_bad_signatures_are_401(client: Any, hubspot_install: int, kwargs: dict[str, Any], path: str) -> None:
    resp = _signed(client, path, **kwargs)
    assert resp.status_code == 401
    assert "Red" not in resp.get_data(as_text=True)


def test_tampered_query_fails(client: Any, hubspot_install: int) -> None:
    ts = int(time.time() * 1000)
    headers = sign_hubspot_v3(SECRET, "GET", BASE + "/embed/hubspot/card?companyId=1&portalId=4242", b"", ts)
    resp = client.get("/embed/hubspot/card?companyId=9001&portalId=4242", headers=headers)
    assert resp.status_code == 401


def test_unsigned_and_malformed(client: Any, hubspot_install: int) -> None:
    assert client.get("/embed/hubspot/card?companyId=9001&portalId=4242").status_code == 401
    assert client.get("/embed/hubspot/card?companyId=9001").status_code == 400
    assert client.get("/embed/hubspot/card?companyId=9001&portalId=abc").status_code == 400
    missing = _signed(client, "/embed/hubspot/card?portalId=4242")
    assert missing.status_code == 400


def test_post_with_body_is_signed_over_the_body(client: Any, hubspot_install: int) -> None:
    ts = int(time.time() * 1000)
    body = b'{"companyId": "9001"}'
    path = "/embed/hubspot/card?portalId=4242"
    headers = sign_hubspot_v3(SECRET, "POST", BASE + path, body, ts)
    ok = client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})
    assert ok.status_code == 200
    assert ok.get_json()["band"] == "red"
    bad = client.post(
        path, data=b'{"companyId": "9002"}', headers={**headers, "Content-Type": "application/json"}
    )
    assert bad.status_code == 401


@pytest.mark.parametrize("status", ["connected", "reconnect", "disconnected"])
def test_a_portal_connected_to_two_workspaces_is_not_guessed(
    client: Any, hubspot_install: int, app: Any, tenants: dict[str, TenantData], status: str
) -> None:
    """Security (finding D): the card took the first installation of the portal, so with the same portal in
    two workspaces (connected before the callback refused that) it could show the other workspace's scores.
    With more than one live installation it answers as for a portal that is not installed; a disconnected
    one does not count."""
    vault = Vault(app.config["HEALTHSCORE"])
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=tenants["globex"].id, vendor="hubspot", base_url="https://api.hubapi.com",
                token_url="t", client_id="c", client_secret_enc=vault.encrypt(SECRET), vendor_account="4242",
                status=status, created_at=NOW, account_shared=True,  # a pair from before migration 0011
            )
        )  # fmt: skip
    resp = _signed(client, "/embed/hubspot/card?companyId=9001&portalId=4242")
    if status == "disconnected":
        assert resp.status_code == 200
        assert resp.get_json()["name"] == "Acme Red Corp"
    else:
        assert resp.status_code == 401
        assert "Red" not in resp.get_data(as_text=True)
        assert "Acme" not in resp.get_data(as_text=True)


def test_a_former_customer_is_named_so_on_the_card(
    app: Any, client: Any, hubspot_install: int, tenants: dict[str, TenantData]
) -> None:
    """The card said 'Not scored' (and the app 'Not scored yet … after the next sync') for a customer that
    has left, whom scoring skips for good; the account page says 'Former customer — not scored'."""
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for external_id, name, status in (
            ("9100", "Acme Gone Corp", "churned"),
            ("9101", "Acme New Corp", None),
        ):
            session.add(
                m.Account(
                    tenant_id=tenants["acme"].id, vendor="hubspot", external_id=external_id, name=name,
                    domains=[], status=status, vendor_updated_at=NOW, metrics={},
                )
            )  # fmt: skip
    gone = _signed(client, "/embed/hubspot/card?companyId=9100&portalId=4242").get_json()
    assert (gone["status"], gone["band_label"], gone["title"], gone["former"]) == (
        "unscored", "Former customer — not scored", "Former customer — not scored", True,
    )  # fmt: skip
    assert "has left" in gone["message"]
    new = _signed(client, "/embed/hubspot/card?companyId=9101&portalId=4242").get_json()
    assert (new["status"], new["band_label"], new["title"], new["former"]) == (
        "unscored", "Not scored", "Not scored yet", False,
    )  # fmt: skip
    assert new["message"] == "Waiting for data: the next scoring pass scores it."
    scored = _signed(client, "/embed/hubspot/card?companyId=9001&portalId=4242").get_json()
    assert (scored["band_label"], scored["former"]) == ("Red (At risk)", False)
    assert "title" not in scored


def test_bad_signatures_do_not_spend_the_portals_card_budget(
    client: Any, hubspot_install: int, app: Any
) -> None:
    """All card fetches come from HubSpot's shared servers: requests that fail verification (anyone's own
    HubSpot app aimed at this URL) must not use up the card for a customer's users; the budget is the
    installation's, spent by verified fetches only."""
    from dataclasses import replace

    from connector.web import ratelimits

    app.config["HEALTHSCORE"] = replace(app.config["HEALTHSCORE"], card_rate_limit="3 per minute")
    app.extensions[ratelimits.EXTENSION] = ratelimits.Budgets("memory://", app.config["HEALTHSCORE"])
    path = "/embed/hubspot/card?companyId=9001&portalId=4242"
    for _ in range(20):  # far past the old per-address 600/min in proportion: all from the same address
        assert _signed(client, path, secret="someone-elses-app").status_code == 401
    for _ in range(3):
        assert _signed(client, path).status_code == 200
    over = _signed(client, path)
    assert over.status_code == 429
    assert over.headers["Retry-After"].isdigit()
    assert "3 per 1 minute" in over.get_json()["message"]
