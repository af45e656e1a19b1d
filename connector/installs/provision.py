"""Provision our custom fields in every connected vendor of a tenant (idempotent)."""

from __future__ import annotations

from typing import Any

from connector.config import Settings
from connector.installs.connections import adapter_for
from connector.store import repo as store
from connector.store.db import transaction
from integrations.errors import IntegrationError


def ensure_all(settings: Settings, tenant_id: int) -> dict[str, Any]:
    with transaction(settings.sqlalchemy_url) as session:
        insts = [i for i in store.installations(session, tenant_id) if i.status == "connected"]
    out: dict[str, Any] = {}
    for inst in insts:
        adapter = adapter_for(settings, inst)
        try:
            changes = adapter.ensure_fields()
            out[inst.vendor] = {
                "created": [c.vendor_name for c in changes if c.action == "created"],
                "existing": [c.vendor_name for c in changes if c.action == "exists"],
            }
        except IntegrationError as exc:
            out[inst.vendor] = {"error": exc.detail, "hint": exc.hint}
        finally:
            adapter.close()
    return out
