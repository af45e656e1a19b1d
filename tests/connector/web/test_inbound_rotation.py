"""Admin → Integrations → Rotate inbound URL: a new token in the Salesforce Outbound Message URL, shown once
(Post/Redirect/Get), audit-logged; the old URL is refused at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.realtime import inbound as realtime_inbound
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, sign_in_as
from webhooks.salesforce_om import SalesforceNotification, sign_salesforce_outbound

SF_ORG = "00D5g000004ABCD"
OLD_TOKEN = "sf-url-token-old-123"
PUBLIC = "http://127.0.0.1:5000"


@pytest.fixture
def salesforce(app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = app.config["HEALTHSCORE"]
    vault = Vault(settings)
    with transaction(settings.sqlalchemy_url) as s:
        inst = m.Installation(
            tenant_id=tenants["acme"].id, vendor="salesforce", status="connected",
            base_url="https://x.test", token_url="https://x.test/token", client_id="cid",
            client_secret_enc=vault.encrypt("other"), vendor_account=SF_ORG, settings={},
            created_at=datetime.now(UTC),
        )  # fmt: skip
        realtime_inbound.set_inbound_token(inst, vault, OLD_TOKEN)
        s.add(inst)
    monkeypatch.setattr(realtime_inbound, "dispatch", lambda _settings, _accepted: None)


def _outbound(client: Any, path: str, n: int) -> Any:
    note = SalesforceNotification(id=f"04l5g{n:013d}", sobject_type="Case", fields={"Id": f"5005g{n:013d}"})
    headers, body = sign_salesforce_outbound(SF_ORG, "04k5gACTION00000", [note])
    return client.post(path, data=body, headers={"Content-Type": "text/xml; charset=utf-8", **headers})


def test_rotating_the_inbound_url_shows_it_once_and_the_old_one_stops(
    client: Any, tenants: dict[str, TenantData], app: Any, salesforce: None
) -> None:
    old_path = f"/inbound/salesforce/acme/{OLD_TOKEN}"
    assert _outbound(client, old_path, 1).status_code == 200  # works before, and is cached by the process
    sign_in_as(client, tenants["acme"], "admin")
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert "Rotate inbound URL" in page
    assert 'data-confirm="Make a new Salesforce inbound URL? The current one stops working at once' in page
    assert OLD_TOKEN not in page
    sent = client.post("/admin/integrations/salesforce/rotate-inbound")
    assert sent.status_code == 303
    assert "reveal=" in sent.location
    shown = client.get(sent.location).get_data(as_text=True)
    url = shown.split('id="inbound-url"', 1)[1].split('<code class="secret wrap">', 1)[1].split("<", 1)[0]
    assert url.startswith(f"{PUBLIC}/inbound/salesforce/acme/")
    assert "will not be shown again" in shown
    new_path = url.removeprefix(PUBLIC)
    assert new_path != old_path
    # shown once: a reload says so
    again = client.get(sent.location).get_data(as_text=True)
    assert url not in again
    assert "The new Salesforce inbound URL was already shown once" in again
    # the old URL is refused at once, the new one is accepted
    refused = _outbound(client, old_path, 2)
    assert refused.status_code == 401
    assert "bad_token" in refused.get_data(as_text=True)
    assert _outbound(client, new_path, 3).status_code == 200
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        entry = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "integration.inbound_url_rotated")
        ).one()
        assert entry.actor == "admin@acme.test"
        assert entry.target == "salesforce"
        assert entry.tenant_id == tenants["acme"].id
        inst = s.scalars(select(m.Installation).where(m.Installation.vendor == "salesforce")).one()
        assert new_path.rsplit("/", 1)[1] not in str(inst.settings)  # stored encrypted, as before


def test_only_admins_of_a_connected_salesforce_can_rotate(
    client: Any, tenants: dict[str, TenantData], salesforce: None
) -> None:
    sign_in_as(client, tenants["acme"], "viewer")
    assert client.post("/admin/integrations/salesforce/rotate-inbound").status_code == 403
    sign_in_as(client, tenants["globex"], "admin")  # no Salesforce installation in globex
    sent = client.post(
        "/admin/integrations/salesforce/rotate-inbound"
    )  # Integrations says it is not connected
    assert (sent.status_code, sent.location) == (303, "/admin/integrations")
    assert "Rotate inbound URL" not in client.get("/admin/integrations").get_data(as_text=True)
    # acme's URL still works: globex's attempt changed nothing
    assert _outbound(client, f"/inbound/salesforce/acme/{OLD_TOKEN}", 4).status_code == 200
