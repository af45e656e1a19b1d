"""Admin pages read stored states as words: a webhook delivery's `dead`, `claimed` or `pending` and an
installation's `reconnect` were shown as the stored codes ("dead", "claimed", "reconnect")."""

from __future__ import annotations

import re
from typing import Any

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData


def _chips(page: str) -> list[str]:
    return re.findall(r'<span class="chip chip-[a-z]+"(?: title="[^"]*")?>([^<]*)</span>', page)


def test_delivery_log_reads_each_status_as_words(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any, private_ok: None
) -> None:
    created = acme_admin.post(
        "/admin/webhooks/",
        data={"url": "http://127.0.0.1:9/in", "description": "ops", "event_types": ["account.band_changed"]},
    )
    assert created.status_code in (200, 303)
    acme = tenants["acme"].id
    states = [("delivered", 1), ("claimed", 1), ("pending", 0), ("pending", 2), ("failed", 1), ("dead", 8)]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        ep = session.query(m.WebhookEndpoint).one()
        ep_id = ep.id
        for n, (status, attempts) in enumerate(states):
            event = m.WebhookEvent(
                tenant_id=acme, msg_id=f"msg_{n}", type="account.band_changed", payload={}, created_at=NOW
            )
            session.add(event)
            session.flush()
            session.add(
                m.WebhookDelivery(
                    tenant_id=acme, endpoint_id=ep_id, event_id=event.id, status=status, attempts=attempts,
                    created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    log = page[page.index("Delivery log") :]
    shown = set(_chips(log))
    assert shown == {"delivered", "sending", "queued", "retrying", "not sent", "gave up"}
    assert 'title="Every retry failed, so no more are made; Replay sends it again."' in log


def test_integration_needing_a_reconnect_says_so_in_its_chip(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=tenants["acme"].id, vendor="hubspot", base_url="https://api.hubapi.com", token_url="t",
                client_id="c", client_secret_enc="x", status="reconnect", vendor_account="4242", created_at=NOW,
            )
        )  # fmt: skip
    page = acme_admin.get("/admin/integrations").get_data(as_text=True)
    assert '<span class="chip chip-reconnect">needs reconnecting</span>' in page
    assert ">reconnect<" not in page
