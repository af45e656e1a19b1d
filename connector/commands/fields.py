"""`healthscore fields ensure`: create our custom fields in every connected vendor (idempotent)."""

from __future__ import annotations

import click

from connector.commands.context import settings_from
from connector.commands.output import emit
from connector.commands.pipeline import _incomplete, tenant_ids
from connector.installs.provision import ensure_all


@click.group("fields")
def COMMAND() -> None:  # noqa: N802
    """Custom fields the product writes (score, band, trend, drivers, …)."""


@COMMAND.command("ensure")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def ensure(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """Create missing fields; a missing permission names the exact permission or scope to grant."""
    settings = settings_from(ctx, schema=True)
    out = {slug: ensure_all(settings, tid) for tid, slug in tenant_ids(settings, tenant)}
    failed = [
        (f"{slug} {vendor}", r)
        for slug, vendors in out.items()
        for vendor, r in vendors.items()
        if "error" in r
    ]
    if as_json:
        emit({"tenants": out}, True)
    else:
        for slug, vendors in out.items():
            for vendor, r in vendors.items():
                if "error" in r:
                    click.echo(f"{slug} {vendor}: FAILED {r['error']} — {r['hint']}")
                else:
                    click.echo(
                        f"{slug} {vendor}: created {len(r['created'])}, already there {len(r['existing'])}"
                    )
    # Exit 1 as sync and run do when part of the work did not finish (it exited 0 with every vendor FAILED).
    _incomplete(
        [f"{name}: {r['error']}" for name, r in failed],
        sum(len(vendors) for vendors in out.values()),
        "installations",
        str(failed[0][1].get("hint") or "fix what the lines above name, then run it again") if failed else "",
    )
