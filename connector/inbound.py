"""Accepting vendor webhooks: verify, de-duplicate, record, and hand the refresh to a worker.

The HTTP layer (web/inbound.py) stays thin; this module decides. Nothing here writes vendor data: an
accepted event only triggers the normal incremental re-sync of that vendor, so a forged or replayed
event can at worst cause one extra sync.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connector import models as m
from connector.config import Settings
from connector.db import transaction
from connector.store import utcnow
from connector.vault import Vault
from webhooks.errors import WebhookVerificationError
from webhooks.inbound import (
    check_size,
    hubspot_event_key,
    verify_hubspot_v3,
    verify_salesforce_outbound,
    verify_zendesk,
)

logger = logging.getLogger(__name__)
MAX_BODY = 512 * 1024


@dataclass(frozen=True, slots=True)
class Accepted:
    tenant_id: int
    vendor: str
    event_ids: tuple[int, ...]
    duplicates: int


class InboundRejectedError(Exception):
    """The request is refused: `status` and a stable `reason` code for the response and the log."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def _installation(session: Any, slug: str, vendor: str) -> m.Installation:
    inst = session.scalar(
        select(m.Installation)
        .join(m.Tenant, m.Tenant.id == m.Installation.tenant_id)
        .where(m.Tenant.slug == slug, m.Installation.vendor == vendor)
    )
    if inst is None or inst.status == "disconnected":
        raise InboundRejectedError(404, "unknown_installation", f"no {vendor} installation for this URL")
    return inst


def verify(
    settings: Settings,
    vendor: str,
    slug: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    path: str,
    token: str | None,
    now: datetime,
) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """Check size, tenant and signature; returns (tenant id, [(event key, event)]).

    Raises:
        InboundRejectedError: with a reason code (body_too_large, unknown_installation, bad signature reasons…).
    """
    try:
        check_size(body, MAX_BODY)
    except WebhookVerificationError as exc:
        raise InboundRejectedError(413, exc.reason, "body too large") from exc
    vault = Vault(settings)
    with transaction(settings.sqlalchemy_url) as session:
        inst = _installation(session, slug, vendor)
        tenant_id = inst.tenant_id
        webhook_secret = vault.decrypt(inst.webhook_secret_enc) if inst.webhook_secret_enc else None
        client_secret = vault.decrypt(inst.client_secret_enc)
        org = inst.vendor_account
        expected_token = (inst.settings or {}).get("inbound_token")
    try:
        if vendor == "zendesk":
            if not webhook_secret:
                raise InboundRejectedError(
                    409, "not_configured", "no Zendesk webhook signing secret stored for this installation"
                )
            verify_zendesk(headers, body, [webhook_secret], now)
            event = _json(body)
            return tenant_id, [(str(event.get("id") or _digest(body)), event)]
        if vendor == "hubspot":
            verify_hubspot_v3(
                headers,
                body,
                client_secret,
                method=method,
                uri=settings.public_base_url.rstrip("/") + path,
                now=now,
            )
            events = _json(body)
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                raise InboundRejectedError(400, "malformed_body", "HubSpot sends a JSON array of events")
            if org and any(str(e.get("portalId")) != str(org) for e in events):
                raise InboundRejectedError(403, "wrong_tenant", "portalId does not match this installation")
            return tenant_id, [(hubspot_event_key(e), e) for e in events]
        if vendor == "salesforce":
            if not org:
                raise InboundRejectedError(
                    409, "not_configured", "no Salesforce organization id stored for this installation"
                )
            msg = verify_salesforce_outbound(body, org, url_token=token, expected_url_token=expected_token)
            return tenant_id, [
                (f"{msg.action_id}:{n.id}", {"sobject": n.sobject_type, "id": n.record_id})
                for n in msg.notifications
            ]
    except WebhookVerificationError as exc:
        status = (
            401
            if exc.reason in {"no_matching_signature", "missing_header", "bad_token", "org_id_mismatch"}
            else 400
        )
        raise InboundRejectedError(status, exc.reason, f"verification failed: {exc.reason}") from exc
    raise InboundRejectedError(404, "unknown_vendor", f"unknown vendor {vendor}")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InboundRejectedError(400, "malformed_body", "body is not JSON") from exc


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def record(
    settings: Settings, tenant_id: int, vendor: str, events: list[tuple[str, dict[str, Any]]]
) -> Accepted:
    """Store each new event once (the unique key makes vendor redelivery a no-op)."""
    ids: list[int] = []
    dupes = 0
    for key, payload in events:
        try:
            with transaction(settings.sqlalchemy_url) as session:
                row = m.InboundEvent(
                    tenant_id=tenant_id,
                    vendor=vendor,
                    event_key=key[:200],
                    payload=_small(payload),
                    status="queued",
                    received_at=utcnow(),
                )
                session.add(row)
                session.flush()
                ids.append(row.id)
        except IntegrityError:
            dupes += 1
    return Accepted(tenant_id, vendor, tuple(ids), dupes)


def _small(payload: dict[str, Any]) -> dict[str, Any]:
    """Keep what a person needs to see, not whole vendor bodies (they may carry personal data)."""
    keep = (
        "id",
        "type",
        "subject",
        "time",
        "subscriptionType",
        "objectId",
        "propertyName",
        "occurredAt",
        "sobject",
    )
    return {k: payload[k] for k in keep if k in payload}


_running: dict[tuple[int, str], threading.Lock] = {}
_dirty: set[tuple[int, str]] = set()
_guard = threading.Lock()


def dispatch(settings: Settings, accepted: Accepted) -> None:
    """Hand the refresh to Celery, or (single-process demo: `celery_always_eager`) to a background thread
    that coalesces bursts: while a refresh runs, further events only mark the tenant dirty."""
    if not accepted.event_ids:
        return
    if not settings.celery_always_eager:
        from connector.tasks import configure, refresh_accounts

        configure(settings)
        refresh_accounts.delay(accepted.tenant_id, accepted.vendor, list(accepted.event_ids))
        return
    key = (accepted.tenant_id, accepted.vendor)
    with _guard:
        lock = _running.setdefault(key, threading.Lock())
        _dirty.add(key)
    threading.Thread(target=_drain, args=(settings, key, lock, list(accepted.event_ids)), daemon=True).start()


def _drain(settings: Settings, key: tuple[int, str], lock: threading.Lock, ids: list[int]) -> None:
    from connector import realtime

    if not lock.acquire(blocking=False):
        return  # the running refresh will see the dirty flag and go again
    try:
        while True:
            with _guard:
                if key not in _dirty:
                    return
                _dirty.discard(key)
            try:
                realtime.refresh(settings, key[0], key[1], ids)
            except Exception:
                logger.exception("realtime refresh failed", extra={"tenant": key[0], "vendor": key[1]})
    finally:
        lock.release()
