"""Turn a stored installation into an adapter: decrypt its tokens and persist rotated ones at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import select

from connector.clock import tenant_clock
from connector.config import Settings
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations.base import Adapter
from integrations.errors import ReauthRequiredError
from integrations.oauth import TokenSet
from integrations.registry import Connection, create_adapter

logger = logging.getLogger(__name__)

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
        moved = new_tokens.instance_url and new_tokens.instance_url != tokens.instance_url
        if inst.vendor == "salesforce" and moved:
            _vet_instance_url(settings, str(new_tokens.instance_url))
        store.save_tokens(url, vault, tenant_id, inst_id, new_tokens)

    def load() -> TokenSet | None:
        # What another process may have stored since this one read the row (a rotated Zendesk pair).
        with transaction(url) as session:
            stored = session.scalar(
                select(m.Installation.tokens_enc).where(
                    m.Installation.id == inst_id, m.Installation.tenant_id == tenant_id
                )
            )
        return store.token_from_dict(vault.decrypt_json(stored)) if stored else None

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
        load_tokens=load,
        ca_file=inst.ca_file,
        settings=dict((inst.settings or {}).get("mapping") or {}),  # connector-level keys stay out
        **overrides,
    )


def _vet_instance_url(settings: Settings, instance_url: str) -> None:
    """A refresh answer may move the org (`instance_url`); every later call, bearer token included, goes
    there. It passes the same guard as the one from the code exchange (installs.exchange), or the refresh
    fails before anything uses or stores it.

    Raises:
        ReauthRequiredError: the new instance URL is not one we may send the token to.
    """
    from connector.installs.url_guard import UnsafeVendorUrlError, check_vendor_url

    try:
        check_vendor_url("salesforce", instance_url, production=settings.env == "production")
    except UnsafeVendorUrlError as exc:
        logger.warning("refreshed Salesforce instance URL refused: %s", exc.reason)
        raise ReauthRequiredError(
            "salesforce", "the token refresh named an instance URL we cannot use"
        ) from exc


def adapter_for(settings: Settings, inst: m.Installation, **overrides: Any) -> Adapter:
    return create_adapter(connection_for(settings, inst, **overrides))
