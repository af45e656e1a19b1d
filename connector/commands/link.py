"""`healthscore link`: identity matching between helpdesk organizations and CRM accounts."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from connector.commands.context import settings_from
from connector.commands.output import emit, fail
from connector.commands.pipeline import tenant_ids
from connector.pipeline import link as linking
from connector.store import models as m
from connector.store.db import transaction
from connector.store.truth import recorded_truth, vendor_maps


@click.group("link")
def COMMAND() -> None:  # noqa: N802
    """Identity linking: coverage report, review queue, human confirmations."""


def wrong_links(session: Any, tenant_id: int, truth: dict[str, Any]) -> int:
    """Linked tickets whose CRM account is not the ticket's true customer (per the sandbox's truth)."""
    crm = linking.crm_vendor(session, tenant_id)
    crm_accounts, _ = vendor_maps(truth, crm or "")
    wrong = 0
    rows = session.execute(
        select(m.Ticket.vendor, m.Ticket.external_id, m.Account.external_id)
        .join(m.Account, m.Account.id == m.Ticket.crm_account_id)
        .where(m.Ticket.tenant_id == tenant_id, m.Ticket.deleted_at.is_(None))
    )
    ticket_maps: dict[str, dict[str, str]] = {}
    for vendor, ticket_ext, crm_ext in rows:
        if vendor not in ticket_maps:
            ticket_maps[vendor] = vendor_maps(truth, vendor)[1]
        true_customer = ticket_maps[vendor].get(ticket_ext)
        if true_customer is not None and crm_accounts.get(crm_ext) != true_customer:
            wrong += 1
    return wrong


@COMMAND.command("report")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--relink", is_flag=True, help="Run the matcher first (human decisions are kept).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (one tenant) or {tenant: …}.")
@click.pass_context
def report(ctx: click.Context, tenant: str | None, relink: bool, as_json: bool) -> None:
    """Coverage: tickets linked, by method, wrong links (sandbox ground truth; null for real vendors), review queue."""
    settings = settings_from(ctx, schema=True)
    out: dict[str, Any] = {}
    for tid, slug in tenant_ids(settings, tenant):
        with transaction(settings.sqlalchemy_url) as session:
            rep = linking.link_tenant(session, tid)
            if not relink:
                session.rollback()
        with transaction(settings.sqlalchemy_url) as session:
            truth = recorded_truth(session, tid)
            wrong = wrong_links(session, tid, truth) if truth is not None else None
        out[slug] = {
            "tickets_total": rep.tickets_total,
            "tickets_linked": rep.tickets_linked,
            "coverage": round(rep.tickets_linked / rep.tickets_total, 4) if rep.tickets_total else None,
            "wrong_links": wrong,
            "truth": "recorded from the simulated book"
            if wrong is not None
            else "none recorded (a real vendor)",
            "by_method": rep.by_method,
            "organizations": rep.organizations,
            "organizations_linked": rep.organizations_linked,
            "unmatched": rep.unmatched,
        }
    data = next(iter(out.values())) if len(out) == 1 else out
    if as_json:
        emit(data, True)
        return
    for slug, r in out.items():
        cov = f"{r['coverage']:.1%}" if r["coverage"] is not None else "n/a"
        click.echo(
            f"{slug}: {r['tickets_linked']}/{r['tickets_total']} tickets linked ({cov}); "
            + (
                f"wrong links: {r['wrong_links']}"
                if r["wrong_links"] is not None
                else "wrong links: unknown (no ground truth recorded)"
            )
        )
        click.echo("  by method: " + ", ".join(f"{k} {v}" for k, v in sorted(r["by_method"].items())))
        click.echo(f"  organizations to review: {len(r['unmatched'])}")
        for u in r["unmatched"][:20]:
            click.echo(f"    - {u['organization']} ({u['external_id']}): {u['reason']}")


@COMMAND.command("confirm")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--organization", "org_ext", required=True, help="Helpdesk organization id.")
@click.option("--account", "crm_ext", help="CRM account id to link to (omit to mark 'no CRM account').")
@click.option("--by", "actor", default="cli", show_default=True, help="Who decided (kept in the audit log).")
@click.pass_context
def confirm(ctx: click.Context, tenant: str, org_ext: str, crm_ext: str | None, actor: str) -> None:
    """Record a human decision for one organization; it sticks across syncs and renames."""
    settings = settings_from(ctx, schema=True)
    tid = tenant_ids(settings, tenant)[0][0]
    with transaction(settings.sqlalchemy_url) as session:
        org = session.scalar(
            select(m.Account).where(
                m.Account.tenant_id == tid, m.Account.external_id == org_ext, m.Account.vendor == "zendesk"
            )
        )
        crm_id = None
        if crm_ext:
            crm = session.scalar(
                select(m.Account).where(
                    m.Account.tenant_id == tid,
                    m.Account.external_id == crm_ext,
                    m.Account.vendor != "zendesk",
                )
            )
            if crm is None:
                fail(
                    f"no CRM account {crm_ext} in {tenant}",
                    "check the id in `healthscore link report`",
                    code=2,
                )
            crm_id = crm.id if crm else None
        if org is None:
            fail(
                f"no organization {org_ext} in {tenant}", "check the id in `healthscore link report`", code=2
            )
            return
        linking.confirm_link(session, tid, org.id, crm_id, actor)
    click.echo(f"organization {org_ext} → {crm_ext or 'no CRM account'} (confirmed by {actor})")
