"""Installation-scope API keys (the Zendesk sidebar's) stop when their installation is disconnected.

Audit 7 left it: the sidebar's key kept answering after Zendesk was disconnected (keys were not tied to a
vendor), while the disconnect message said the tokens were revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer, sidebar_key

HEALTH = "/api/v1/health/zendesk/Acme-ORG-1"
UNKNOWN = "hsk_00000000_" + "A" * 43  # a well-formed key nobody has


def _url(app: Any) -> str:
    return app.config["HEALTHSCORE"].sqlalchemy_url


def _refused(client: Any, key: str) -> tuple[int, Any]:
    resp = client.get(HEALTH, headers=bearer(key))
    return resp.status_code, resp.get_json()


def _connect_zendesk(app: Any, tenant_id: int) -> None:
    with transaction(_url(app)) as session:
        session.add(
            m.Installation(
                tenant_id=tenant_id,
                vendor="zendesk",
                base_url="https://acme.zendesk.example",
                token_url="https://acme.zendesk.example/oauth/tokens",
                client_id="again",
                client_secret_enc="",
                status="connected",
                created_at=datetime.now(UTC),
            )
        )


def _create_key(admin: Any, name: str) -> tuple[int, str]:
    resp = admin.post("/admin/keys", data={"name": name, "scope": "installation"}, follow_redirects=True)
    page = resp.data.decode()
    secret = page.split('<code class="secret">', 1)[1].split("<", 1)[0] if 'class="secret"' in page else ""
    return resp.status_code, secret


def test_the_sidebar_key_stops_when_zendesk_is_disconnected_and_a_new_one_works_after_reconnecting(
    client: Any, acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme = tenants["acme"]
    key, _ = sidebar_key(_url(app), acme)
    unknown = _refused(client, UNKNOWN)
    assert unknown[0] == 401
    assert client.get(HEALTH, headers=bearer(key)).status_code == 200

    out = acme_admin.post("/admin/integrations/zendesk/disconnect", follow_redirects=True)
    assert out.status_code == 200
    page = out.data.decode()
    assert (
        "The API key “zendesk sidebar” bound to it is revoked" in page
    )  # the admin is told the sidebar stops

    assert _refused(client, key) == unknown  # the very answer of a key that never existed
    with transaction(_url(app)) as session:
        entries = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.tenant_id == acme.id, m.AuditEntry.action == "api_key.revoked"
            )
        ).all()
        assert [(e.detail.get("name"), e.detail.get("reason")) for e in entries] == [
            ("zendesk sidebar", "Zendesk disconnected")
        ]
        assert (
            session.scalar(select(m.ApiKey.revoked_at).where(m.ApiKey.name == "zendesk sidebar")) is not None
        )
    # the audit log page shows it to the admin
    log = acme_admin.get("/admin/audit?action=api_key.revoked").data.decode()
    assert "Zendesk disconnected" in log

    # reconnecting: the old key stays dead; a new installation key (made as before) works
    _connect_zendesk(app, acme.id)
    assert _refused(client, key) == unknown
    status, secret = _create_key(acme_admin, "Zendesk sidebar 2")
    assert status == 200
    assert secret.startswith("hsk_")
    assert client.get(HEALTH, headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/tickets/zendesk/Acme-T2", headers=bearer(secret)).status_code == 200


def test_a_key_whose_installation_is_disconnected_is_refused_even_if_not_revoked(
    client: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Keys out there before this fix, or a disconnect in flight: the lookup checks the installation."""
    acme = tenants["acme"]
    key, zendesk_id = sidebar_key(_url(app), acme)
    unknown = _refused(client, UNKNOWN)
    assert client.get(HEALTH, headers=bearer(key)).status_code == 200
    with transaction(_url(app)) as session:
        session.get(m.Installation, zendesk_id).status = "disconnected"
    assert _refused(client, key) == unknown
    with transaction(_url(app)) as session:  # removed outright (the key's link is set to NULL, or dangles)
        inst = session.get(m.Installation, zendesk_id)
        inst.status = "connected"
        session.flush()
        session.delete(inst)
    assert _refused(client, key) == unknown
    # other scopes are not tied to an installation
    assert client.get(HEALTH, headers=bearer(acme.read_key)).status_code == 200


def test_an_installation_key_needs_a_connected_zendesk(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme = tenants["acme"]
    resp = acme_admin.post("/admin/keys", data={"name": "early sidebar", "scope": "installation"})
    assert resp.status_code == 400
    assert "Connect Zendesk first" in resp.data.decode()
    with transaction(_url(app)) as session:
        assert session.scalar(select(m.ApiKey).where(m.ApiKey.name == "early sidebar")) is None
        assert (
            session.scalar(
                select(m.Installation).where(
                    m.Installation.tenant_id == acme.id, m.Installation.vendor == "zendesk"
                )
            )
            is None
        )


def test_another_workspace_disconnecting_leaves_this_ones_sidebar_working(
    client: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    from connector.installs import installs
    from connector.installs.vault import Vault

    acme_key, _ = sidebar_key(_url(app), tenants["acme"])
    globex_key, _ = sidebar_key(_url(app), tenants["globex"])
    with transaction(_url(app)) as session:
        found, _, keys = installs.disconnect(
            session, Vault(app.config["HEALTHSCORE"]), tenants["globex"].id, "zendesk"
        )
        assert found
        assert [k.name for k in keys] == ["zendesk sidebar"]
    assert client.get(HEALTH, headers=bearer(acme_key)).status_code == 200
    assert _refused(client, globex_key)[0] == 401


def test_the_hubspot_card_stops_when_hubspot_is_disconnected(
    client: Any, acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Held on the old code (regression test): the HubSpot card uses no API key: it is verified with the
    installation's client secret, which disconnecting deletes with the installation, so a request signed
    with that secret is then answered as a portal nobody connected."""
    import time

    from connector.installs.vault import Vault
    from tests.connector import builders as b
    from webhooks.inbound import sign_hubspot_v3

    with transaction(_url(app)) as session:
        inst = b.installation(session, Vault(app.config["HEALTHSCORE"]), tenants["acme"].id, "hubspot")
        inst.vendor_account = "4242"
        inst.tokens_enc = None  # nothing to revoke at HubSpot from a test

    def card(portal: str) -> Any:
        path = f"/embed/hubspot/card?companyId=9001&portalId={portal}"
        ts = int(time.time() * 1000)
        headers = sign_hubspot_v3(b.CLIENT_SECRET, "GET", "http://127.0.0.1:5000" + path, b"", ts)
        return client.get(path, headers=headers)

    assert card("4242").status_code == 200
    stranger = card("999")
    assert stranger.status_code == 401
    assert acme_admin.post("/admin/integrations/hubspot/disconnect").status_code == 302
    after = card("4242")
    assert (after.status_code, after.get_json()) == (401, stranger.get_json())


def test_the_keys_page_says_an_installation_key_is_bound_to_zendesk(
    app: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """The binding was only in the docs and the API description: an admin reading the keys page could not
    tell that disconnecting Zendesk stops the sidebar's key."""
    sidebar_key(_url(app), tenants["acme"])
    page = acme_admin.get("/admin/keys").get_data(as_text=True)
    row = next(r for r in page.split("<tr>") if "zendesk sidebar" in r)
    assert "bound to Zendesk: stops when Zendesk is disconnected" in row
    assert "needs Zendesk connected" in page  # the scope choice says it before a key is made
    others = [r for r in page.split("<tr>")[2:] if "zendesk sidebar" not in r]
    assert others
    assert all("data-bound" not in r for r in others)  # read/admin keys are not bound
