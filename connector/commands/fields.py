"""`healthscore fields ensure`: create our custom fields in every connected vendor (idempotent)."""

from __future__ import annotations

from typing import Any

import click

from connector import store
from connector.cli import settings_from
from connector.commands.output import emit
from connector.commands.pipeline import tenant_ids
from connector.connections import adapter_for
from connector.db import transaction
from integrations.errors import IntegrationError


@click.group("fields")
def COMMAND() -> None:  # noqa: N802
    """Custom fields the product writes (score, band, trend, drivers, …)."""


def ensure_all(settings: Any, tenant_id: int) -> dict[str, Any]:
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


@COMMAND.command("ensure")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def ensure(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """Create missing fields; a missing permission names the exact permission or scope to grant."""
    settings = settings_from(ctx)
    out = {slug: ensure_all(settings, tid) for tid, slug in tenant_ids(settings, tenant)}
    if as_json:
        emit({"tenants": out}, True)
        return
    for slug, vendors in out.items():
        for vendor, r in vendors.items():
            if "error" in r:
                click.echo(f"{slug} {vendor}: FAILED {r['error']} — {r['hint']}")
            else:
                click.echo(
                    f"{slug} {vendor}: created {len(r['created'])}, already there {len(r['existing'])}"
                )
