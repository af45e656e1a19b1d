"""Turn a stored installation into an adapter: decrypt its tokens and persist rotated ones at once."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from connector.clock import tenant_clock
from connector.config import Settings
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations.base import Adapter
from integrations.oauth import TokenSet
from integrations.registry import Connection, create_adapter

# Set by a worker around a part of a split pass (connector.jobs.passes): installation → the callable each
# vendor client runs before every HTTP request (the shared budget in Redis). Unset: no budget (eager, CLI).
CALL_GATE: ContextVar[Callable[[m.Installation], Callable[[], None] | None] | None] = ContextVar(
    "call_gate", default=None
)


def connection_for(settings: Settings, inst: m.Installation, **overrides: Any) -> Connection:
    """The adapter Connection of one installation; rotated tokens are saved in their own transaction."""
    vault = Vault(settings)
    tokens = store.token_from_dict(vault.decrypt_json(inst.tokens_enc or "")) if inst.tokens_enc else None
    if tokens is None:
        tokens = TokenSet(access_token="")
    tenant_id, inst_id, url = inst.tenant_id, inst.id, settings.sqlalchemy_url

    def save(new_tokens: TokenSet) -> None:
        store.save_tokens(url, vault, tenant_id, inst_id, new_tokens)

    gate = CALL_GATE.get()
    if gate is not None and "before_call" not in overrides:
        overrides["before_call"] = gate(inst)
    base_url = inst.base_url
    if inst.vendor == "salesforce" and tokens.instance_url:
        base_url = tokens.instance_url
    if "clock" not in overrides:
        # The stored clock (a simulated world's "now" for demo tenants), read once: it only moves on a tick.
        with transaction(settings.sqlalchemy_url) as session:
            overrides["clock"] = tenant_clock(session, tenant_id)
    return Connection(
        vendor=inst.vendor,
        base_url=base_url,
        token_url=inst.token_url,
        client_id=inst.client_id,
        client_secret=vault.decrypt(inst.client_secret_enc),
        tokens=tokens,
        save_tokens=save,
        ca_file=inst.ca_file,
        settings=dict((inst.settings or {}).get("mapping") or {}),  # connector-level keys stay out
        **overrides,
    )


def adapter_for(settings: Settings, inst: m.Installation, **overrides: Any) -> Adapter:
    return create_adapter(connection_for(settings, inst, **overrides))
