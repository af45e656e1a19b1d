"""`healthscore webhooks`: endpoints that receive signed account.band_changed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from connector.admin.webhooks import (
    EVENT_TYPES,
    ROTATION_DEFAULT_HOURS,
    ROTATION_MAX_HOURS,
    ROTATION_MIN_HOURS,
    EndpointError,
    add_endpoint,
    list_endpoints,
    rotate_secret,
)
from connector.commands.context import settings_from
from connector.commands.output import emit, fail
from connector.commands.pipeline import tenant_ids
from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from connector.store.db import transaction
from connector.web.formatting import problem_text


@click.group("webhooks")
def COMMAND() -> None:  # noqa: N802
    """Outbound webhooks (Standard Webhooks signatures): add, list, rotate, deliver, replay."""


@COMMAND.command("add")
@click.argument("url")
@click.option("--tenant", help="Tenant slug (needed when there are several).")
@click.option(
    "--events", "events", multiple=True, type=click.Choice(EVENT_TYPES), help="Repeatable; default all."
)
@click.option("--description", default="", help="What this endpoint is for.")
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …, "secret": …}.')
@click.pass_context
def add(
    ctx: click.Context, url: str, tenant: str | None, events: tuple[str, ...], description: str, as_json: bool
) -> None:
    """Add an endpoint and print its signing secret ONCE (store it in your receiver)."""
    settings = settings_from(ctx, schema=True)
    targets = tenant_ids(settings, tenant)
    if len(targets) > 1:
        fail("several tenants exist", "pass --tenant SLUG", code=2)
    try:
        with transaction(settings.sqlalchemy_url) as session:
            ep, secret = add_endpoint(
                session,
                Vault(settings),
                targets[0][0],
                url,
                events=list(events),
                description=description,
                allow_private=settings.webhooks_allow_private_targets,
            )
            ep_id = ep.id
    except EndpointError as exc:
        fail(problem_text(str(exc)), code=2)  # the URL check's codes in the web page's words
        return
    emit({"id": ep_id, "secret": secret}, as_json, f"endpoint {ep_id} added\nsecret (shown once): {secret}")


@COMMAND.command("list")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def list_cmd(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List endpoints (secrets are never shown again)."""
    settings = settings_from(ctx, schema=True)
    with transaction(settings.sqlalchemy_url) as session:
        out = {slug: list_endpoints(session, tid) for tid, slug in tenant_ids(settings, tenant)}
    emit({"tenants": out}, as_json, _endpoints_text(out))


def _endpoints_text(out: dict[str, list[dict[str, Any]]]) -> str:
    """One line per endpoint for people (--json gives the same as one object)."""
    lines = []
    for slug, endpoints in out.items():
        lines.append(f"{slug}: {len(endpoints)} endpoint{'s' if len(endpoints) != 1 else ''}")
        for ep in endpoints:
            state = "enabled" if ep["enabled"] else f"disabled ({ep['disabled_reason'] or 'by an admin'})"
            lines.append(f"  {ep['id']:>4}  {ep['url']}  {', '.join(ep['events']) or 'all events'}  {state}")
    return (
        "\n".join(lines)
        or "no tenants yet: run `healthscore demo`, or add one with `healthscore users create-admin`"
    )


@COMMAND.command("rotate")
@click.argument("endpoint_id", type=int)
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option(
    "--hours",
    type=int,
    default=ROTATION_DEFAULT_HOURS,
    show_default=True,
    help=f"How long the old secret keeps signing too ({ROTATION_MIN_HOURS} to {ROTATION_MAX_HOURS}).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …, "secret": …, "old_secret_until": …}.')
@click.pass_context
def rotate(ctx: click.Context, endpoint_id: int, tenant: str, hours: int, as_json: bool) -> None:
    """New secret; old and new both sign until the rotation ends (--hours), so receivers can switch
    without loss; then only the new one signs."""
    settings = settings_from(ctx, schema=True)
    tid = tenant_ids(settings, tenant)[0][0]
    try:
        with transaction(settings.sqlalchemy_url) as session:
            secret = rotate_secret(session, Vault(settings), tid, endpoint_id, hours=hours)
            ep = session.get(m.WebhookEndpoint, endpoint_id)
            ends = ep.rotation_ends_at if ep is not None else None
    except EndpointError as exc:
        fail(str(exc), code=2)
        return
    until = ends.isoformat() if ends else None
    emit(
        {"id": endpoint_id, "secret": secret, "old_secret_until": until},
        as_json,
        f"new secret (shown once): {secret}\nthe old secret stops signing at {until}",
    )


@COMMAND.command("deliver")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def deliver_cmd(ctx: click.Context, as_json: bool) -> None:
    """Send every delivery that is due now (workers do this continuously)."""
    from dataclasses import asdict

    report = asdict(delivery.deliver_due(settings_from(ctx, schema=True)))
    text = (
        f"{report['delivered']} delivered, {report['failed']} failed (retried later), {report['dead']} given up"
        f" of {report['attempted']} due"
        + (f"; {report['endpoints_disabled']} endpoints disabled" if report["endpoints_disabled"] else "")
        + ("; stopped at the time limit, more may be due: run it again" if report["out_of_time"] else "")
    )
    emit(report, as_json, text)


@COMMAND.command("replay")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--event", "event_id", help="One event id (msg_…).")
@click.option("--since", type=click.DateTime(), help="Replay events created since (UTC).")
@click.option("--until", type=click.DateTime(), help="… and until (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def replay(
    ctx: click.Context,
    tenant: str,
    event_id: str | None,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
) -> None:
    """Queue one event, or every event in a time range, for delivery again (same webhook-id).

    \b
    Example:
      healthscore webhooks replay --tenant northwind --event msg_2Lh8…
      healthscore webhooks replay --tenant northwind --since 2026-12-01 --until "2026-12-02 12:00:00"
    """
    from datetime import UTC

    if not event_id and not since:
        fail("say what to replay", "pass --event msg_… or --since DATE", code=2)
    if since and until and since > until:
        fail(
            f"--since {since:%Y-%m-%d %H:%M:%S} is after --until {until:%Y-%m-%d %H:%M:%S}",
            "swap them",
            code=2,
        )
    settings = settings_from(ctx, schema=True)
    tid = tenant_ids(settings, tenant)[0][0]
    n = delivery.replay(
        settings,
        tid,
        event_msg_id=event_id,
        since=since.replace(tzinfo=UTC) if since else None,
        until=until.replace(tzinfo=UTC) if until else None,
    )
    if event_id and not n:
        fail(
            f"no delivery of event {event_id!r} in {tenant}: nothing was queued",
            "event ids (msg_…) are the webhook-id header your receiver got; the admin Webhooks page lists them",
            code=2,
        )
    emit({"queued": n}, as_json, f"{n} deliveries queued again")
