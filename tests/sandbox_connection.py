"""A vendor Connection on the shared sandbox set, built from its `credentials()` the way an installation is.

Tests that drive a real adapter against the seeded sandboxes all need the same wiring (token endpoint per
vendor, the sandbox CA, the book's clock, no real sleeping); keyword overrides replace any field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.demo.run import TOKEN_PATHS
from integrations.oauth import TokenSet
from integrations.registry import Connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet


def sandbox_tokens(sandbox: SandboxSet, vendor: str) -> TokenSet:
    """The vendor's issued tokens; Salesforce token sets carry the instance URL."""
    creds = sandbox.credentials()[vendor]
    return TokenSet(
        access_token=creds["access_token"],
        refresh_token=creds["refresh_token"],
        instance_url=creds["base_url"] if vendor == "salesforce" else None,
    )


def sandbox_connection(sandbox: SandboxSet, vendor: str, **overrides: Any) -> Connection:
    creds = sandbox.credentials()[vendor]
    base = creds["base_url"]
    fields: dict[str, Any] = {
        "vendor": vendor,
        "base_url": base,
        "token_url": f"{base}{TOKEN_PATHS[vendor]}",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "tokens": sandbox_tokens(sandbox, vendor),
        "save_tokens": lambda tokens: None,
        "ca_file": sandbox.ca_file,
        "sleep": lambda seconds: None,
        "clock": lambda: sandbox.ctx.book.now,
    }
    fields.update(overrides)
    return Connection(**fields)
