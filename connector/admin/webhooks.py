"""Webhook endpoints of a tenant: add (secret shown once), rotate (old + new both sign until the rotation
ends), list.

A rotation ends by itself, like Stripe's "expire the old secret in N hours": the previous secret signs next
to the new one for the hours the admin chose (1 hour to 7 days, 24 by default), so receivers can switch
without losing a delivery; after `rotation_ends_at` deliveries carry the new signature only and the old
secret is dropped. The drop happens lazily, at the next delivery run (the scheduler's minute job, which
also covers endpoints with nothing to deliver) or when the endpoint is read, and is audit-logged once
(`webhook.rotation_finished`, actor healthscore, automatic). "Finish now" (`finish_rotation`) ends it early.
Rotations run on the wall clock, also for a sandbox tenant: a simulated clock must not keep a leaked
secret signing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import clock
from connector.installs.vault import Vault
from connector.pipeline.rotation import finish_lapsed_rotation as finish_lapsed_rotation
from connector.pipeline.rotation import finish_lapsed_rotations as finish_lapsed_rotations
from connector.store import models as m
from connector.store.repo import audit, utcnow
from webhooks.errors import UnsafeReason, UnsafeTargetError
from webhooks.events import EventType
from webhooks.signing import generate_secret
from webhooks.ssrf import check_url

EVENT_TYPES = tuple(str(e) for e in EventType)
# Every event goes out to each endpoint with a day of retries: without a bound, an admin (or a leaked admin
# key) could aim thousands of endpoints at one third-party URL and make the service a traffic amplifier,
# keeping the delivery workers busy for every other workspace. Svix-style senders cap endpoints too.
MAX_ENDPOINTS = 50
# How long the previous secret keeps signing after a rotation: long enough for a receiver's deploy, short
# enough that a leaked secret does not stay valid for long (Stripe offers up to 7 days too).
ROTATION_DEFAULT_HOURS = 24
ROTATION_MIN_HOURS = 1
ROTATION_MAX_HOURS = 7 * 24


class EndpointError(ValueError):
    """A webhook endpoint request that cannot be accepted (the message says why)."""


# What the person who typed the URL can do about each refusal. Only a private or loopback address is
# something the server's operator may allow; cloud metadata addresses never are.
_UNSAFE_HINTS = {
    UnsafeReason.HTTPS_REQUIRED: "Use an https:// URL.",
    UnsafeReason.BAD_SCHEME: "Use an https:// URL.",
    UnsafeReason.UNRESOLVABLE: "Check the host name: it does not resolve from this server.",
    UnsafeReason.CREDENTIALS_IN_URL: "Leave the user name and password out of the URL: every delivery is signed.",
    UnsafeReason.METADATA_HOST: "Cloud metadata addresses are never allowed.",
}


def _what_to_do(exc: UnsafeTargetError) -> str:
    if exc.reason == UnsafeReason.BLOCKED_ADDRESS and "metadata" not in exc.detail:
        return (
            "Webhooks go to addresses on the public internet; a receiver on a private network needs the "
            "operator of this healthscore server to allow private targets "
            "(HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true, self-hosted servers only)."
        )
    if exc.reason == UnsafeReason.BLOCKED_ADDRESS:
        return _UNSAFE_HINTS[UnsafeReason.METADATA_HOST]
    return _UNSAFE_HINTS.get(UnsafeReason(exc.reason), "Check the URL.")


def add_endpoint(
    session: Session,
    vault: Vault,
    tenant_id: int,
    url: str,
    *,
    events: list[str] | None = None,
    description: str = "",
    allow_private: bool = False,
    actor: str = "cli",
) -> tuple[m.WebhookEndpoint, str]:
    """Create an endpoint; returns it and its secret (shown once, stored encrypted)."""
    unknown = sorted(set(events or []) - set(EVENT_TYPES))
    if unknown:
        raise EndpointError(f"unknown event types {unknown}; choose from {list(EVENT_TYPES)}")
    count = session.scalar(
        select(func.count()).select_from(m.WebhookEndpoint).where(m.WebhookEndpoint.tenant_id == tenant_id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise EndpointError(
            f"a workspace can have at most {MAX_ENDPOINTS} webhook endpoints: delete one it no longer uses, "
            "or send several event types to one endpoint"
        )
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeTargetError as exc:
        raise EndpointError(f"refused {url}: {exc}. {_what_to_do(exc)}") from exc
    secret = generate_secret()
    ep = m.WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        description=description,
        event_types=list(events or EVENT_TYPES),
        secrets_enc=vault.encrypt_json([secret]),
        enabled=True,
        created_at=utcnow(),
    )
    session.add(ep)
    session.flush()
    audit(session, tenant_id, actor, "webhook.endpoint_added", target=url)
    return ep, secret


def rotation_hours(hours: int | str | None) -> int:
    """The rotation's length in hours (None or "": the default); EndpointError outside 1 hour to 7 days."""
    if hours is None or (isinstance(hours, str) and not hours.strip()):
        return ROTATION_DEFAULT_HOURS
    try:
        value = int(hours)
    except (TypeError, ValueError):
        value = None
    if isinstance(hours, bool):
        value = None
    if value is None or not ROTATION_MIN_HOURS <= value <= ROTATION_MAX_HOURS:
        text = str(hours)[:20]
        given = f"{value} hours" if value is not None and len(str(value)) <= 20 else repr(text)
        raise EndpointError(
            f"the old secret keeps signing for between 1 hour and 7 days ({ROTATION_MAX_HOURS} hours) "
            f"after a rotation, not {given}: choose a whole number of hours from {ROTATION_MIN_HOURS} to "
            f"{ROTATION_MAX_HOURS} ({ROTATION_DEFAULT_HOURS} if you are unsure)"
        )
    return value


def rotate_secret(
    session: Session,
    vault: Vault,
    tenant_id: int,
    endpoint_id: int,
    actor: str = "cli",
    *,
    hours: int | str | None = None,
    now: datetime | None = None,
) -> str:
    """A new secret signs alongside the previous one for `hours` (default 24, 1 to 168), then alone;
    returns the new secret. A rotation already in progress drops its oldest secret; one whose end has
    passed is finished (and logged) first.

    Raises:
        EndpointError: no such endpoint in this tenant, or `hours` out of bounds (nothing changes).
    """
    length = rotation_hours(hours)
    now = now or clock.wall_clock()
    ep = _get(session, tenant_id, endpoint_id)
    finish_lapsed_rotation(session, vault, ep, now)
    secrets = vault.decrypt_json(ep.secrets_enc)
    new = generate_secret()
    ep.secrets_enc = vault.encrypt_json([new, *secrets[:1]])
    ep.rotation_ends_at = now + timedelta(hours=length)
    audit(
        session,
        tenant_id,
        actor,
        "webhook.secret_rotated",
        target=ep.url,
        hours=length,
        old_secret_until=ep.rotation_ends_at.isoformat(),
    )
    return new


def finish_rotation(session: Session, vault: Vault, tenant_id: int, endpoint_id: int) -> None:
    """Stop signing with the previous secret now ("Finish now"; the caller audit-logs it)."""
    ep = _get(session, tenant_id, endpoint_id)
    ep.secrets_enc = vault.encrypt_json(vault.decrypt_json(ep.secrets_enc)[:1])
    ep.rotation_ends_at = None


def list_endpoints(session: Session, tenant_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(m.WebhookEndpoint)
        .where(m.WebhookEndpoint.tenant_id == tenant_id)
        .order_by(m.WebhookEndpoint.id)
    )
    return [
        {
            "id": e.id,
            "url": e.url,
            "events": e.event_types,
            "enabled": e.enabled,
            "disabled_reason": e.disabled_reason,
        }
        for e in rows
    ]


def _get(session: Session, tenant_id: int, endpoint_id: int) -> m.WebhookEndpoint:
    ep = session.get(m.WebhookEndpoint, endpoint_id)
    if ep is None or ep.tenant_id != tenant_id:
        raise EndpointError(f"no webhook endpoint {endpoint_id} in this tenant")
    return ep
