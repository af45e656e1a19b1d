"""The audit log says whether a webhook endpoint was paused or enabled again. Before, both buttons logged
'Webhook: updated · fields: enabled', so the log could not tell who paused an endpoint (found by the page walk)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from connector.admin.actions import update_endpoint
from connector.admin.webhooks import add_endpoint
from connector.installs.vault import Vault
from connector.store import models as m
from tests.connector import builders as b


def test_pause_enable_and_edit_each_say_what_happened(db_url: str, tmp_path: Path) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s)
        ep, _ = add_endpoint(s, Vault(settings), t, "http://127.0.0.1:9/hook", allow_private=True)
        update_endpoint(s, settings, t, ep.id, "ana@acme.test", enabled=False)
        update_endpoint(s, settings, t, ep.id, "ana@acme.test", enabled=True)
        update_endpoint(s, settings, t, ep.id, "ana@acme.test", description="billing")
        update_endpoint(s, settings, t, ep.id, "ana@acme.test", description="ops", enabled=False)
    with b.session(db_url) as s:
        logged = [
            (e.action, e.target, e.detail)
            for e in s.scalars(
                select(m.AuditEntry)
                .where(m.AuditEntry.action != "webhook.endpoint_added")
                .order_by(m.AuditEntry.id)
            )
        ]
    target = f"endpoint:{ep.id}"
    assert logged == [
        ("webhook.paused", target, {}),
        ("webhook.enabled", target, {}),
        ("webhook.updated", target, {"fields": ["description"]}),
        ("webhook.updated", target, {"fields": ["description", "enabled"], "now": "paused"}),
    ]
