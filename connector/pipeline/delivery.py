"""The emit step: deliver due webhook deliveries from the outbox table (at least once, with backoff).

Each delivery is claimed in its own transaction, sent, and its result recorded in another, so a crash
repeats at most the attempt in flight. The event's `msg_id` and stored payload are reused on every
retry, so receivers can de-duplicate on `webhook-id`.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import or_, select

from connector.config import Settings
from connector.installs.vault import Vault, VaultError
from connector.pipeline.rotation import finish_lapsed_rotation, finish_lapsed_rotations
from connector.store import models as m
from connector.store.db import transaction
from connector.store.repo import audit, utcnow
from webhooks.delivery import RetrySchedule, Rng, deliver, should_disable
from webhooks.errors import DeliveryError
from webhooks.events import encode_payload

logger = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=5)
DEFAULT_SCHEDULE = RetrySchedule()
# The scheduler starts a delivery run every minute whether the last one has ended or not, and one run
# sends one delivery at a time. A receiver that never answers costs an attempt's whole timeout (~13-23 s),
# so one workspace's slow endpoints (up to 50, each with every queued event) kept a run going for hours and
# each minute added another: the workers filled with delivery runs and every tenant's passes waited. A run
# now stops claiming after RUN_BUDGET_S (the next run goes on), and an endpoint that gave no answer gets
# no second attempt in the same run (its other deliveries stay due for the next run).
RUN_BUDGET_S = 50.0
_monotonic = time.monotonic  # tests move it


@dataclass(slots=True)
class EmitReport:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    endpoints_disabled: int = 0
    endpoints_skipped: int = 0  # gave no answer in this run: their other due deliveries wait for the next
    out_of_time: bool = False  # the run stopped at RUN_BUDGET_S with deliveries possibly still due


def _claim(
    url: str,
    tenant_id: int | None,
    now: datetime,
    ids: list[int] | None = None,
    skip: frozenset[int] = frozenset(),
) -> int | None:
    with transaction(url) as session:
        due = or_(
            (m.WebhookDelivery.status == "pending") & (m.WebhookDelivery.next_attempt_at <= now),
            (m.WebhookDelivery.status == "claimed") & (m.WebhookDelivery.claimed_at < now - CLAIM_TIMEOUT),
        )
        stmt = select(m.WebhookDelivery).where(due).order_by(m.WebhookDelivery.next_attempt_at).limit(1)
        if tenant_id is not None:
            stmt = stmt.where(m.WebhookDelivery.tenant_id == tenant_id)
        if ids is not None:
            stmt = stmt.where(m.WebhookDelivery.id.in_(ids))
        if skip:
            stmt = stmt.where(m.WebhookDelivery.endpoint_id.not_in(skip))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = session.scalar(stmt)
        if row is None:
            return None
        row.status, row.claimed_at = "claimed", now
        return row.id


def deliver_due(
    settings: Settings,
    tenant_id: int | None = None,
    *,
    now: datetime | None = None,
    session: requests.Session | None = None,
    rng: Rng | None = None,
    schedule: RetrySchedule = DEFAULT_SCHEDULE,
    limit: int = 10_000,
    budget_s: float = RUN_BUDGET_S,
) -> EmitReport:
    """Send the deliveries that are due now (for one tenant, or all), for at most `budget_s` seconds,
    skipping an endpoint for the rest of the run once it gave no answer (see RUN_BUDGET_S)."""
    report = EmitReport()
    http = session or requests.Session()
    rng = rng or random.Random()
    now = now or utcnow()
    started = _monotonic()
    _finish_lapsed_rotations(settings, tenant_id, now)
    silent: set[int] = set()
    for _ in range(limit):
        if _monotonic() - started >= budget_s:
            report.out_of_time = True
            logger.warning("webhook delivery run stopped after %.0f s; the next run goes on", budget_s)
            break
        delivery_id = _claim(settings.sqlalchemy_url, tenant_id, now, skip=frozenset(silent))
        if delivery_id is None:
            break
        endpoint_id = _attempt(settings, delivery_id, http, now, rng, schedule, report)
        if endpoint_id is not None:
            silent.add(endpoint_id)
    report.endpoints_skipped = len(silent)
    return report


def _finish_lapsed_rotations(settings: Settings, tenant_id: int | None, now: datetime) -> None:
    """Drop the previous secret of every rotation whose end has passed (audit-logged once each): this
    run is the scheduler's minute job, so a rotation ends on time also for an endpoint with nothing to
    deliver (connector/admin/webhooks.py)."""
    with transaction(settings.sqlalchemy_url) as s:
        finished = finish_lapsed_rotations(s, Vault(settings), tenant_id=tenant_id, now=now)
    if finished:
        logger.info("finished %d webhook secret rotation(s) whose end had passed", finished)


def _attempt(
    settings: Settings,
    delivery_id: int,
    http: requests.Session,
    now: datetime,
    rng: Rng,
    schedule: RetrySchedule,
    report: EmitReport,
) -> int | None:
    """One attempt of a claimed delivery; returns its endpoint's id when the receiver gave no answer (no
    status line: a timeout, a refused or failed connection), else None."""
    target = _load(settings, delivery_id, now)
    if target is None:
        return None
    url, secrets, msg_id, body = target
    try:
        result = deliver(
            url,
            secrets,
            msg_id,
            body,
            session=http,
            now=utcnow(),
            allow_private=settings.webhooks_allow_private_targets,
        )
    except DeliveryError as exc:
        # Our own configuration is broken (e.g. no usable secret): retrying cannot help, and raising
        # would stop every other delivery of this pass and leave this one claimed forever.
        _give_up(settings, delivery_id, f"{exc.reason}: {exc.detail}")
        return None
    report.attempted += 1
    with transaction(settings.sqlalchemy_url) as s:
        d = s.get(m.WebhookDelivery, delivery_id)
        ep = s.get(m.WebhookEndpoint, d.endpoint_id) if d else None
        if d is None or ep is None:
            return None
        d.attempts += 1
        d.last_status_code, d.last_error, d.updated_at, d.claimed_at = (
            result.status,
            result.detail or None,
            now,
            None,
        )
        s.add(
            m.WebhookAttempt(
                tenant_id=d.tenant_id,
                delivery_id=d.id,
                attempted_at=now,
                status_code=result.status,
                latency_ms=float(result.latency_ms),
                response_excerpt=result.response_excerpt[:1024],
                error=str(result.error) if result.error else None,
            )
        )
        if result.ok:
            d.status, d.next_attempt_at = "delivered", None
            report.delivered += 1
            return None
        nxt = schedule.next_attempt_at(d.attempts, now, rng, retry_after=result.retry_after)
        d.status, d.next_attempt_at = ("pending", nxt) if nxt else ("dead", None)
        report.failed += 1
        report.dead += nxt is None
        if _maybe_disable(s, ep, now, result.status):
            report.endpoints_disabled += 1
        return ep.id if result.status is None else None


def _maybe_disable(s: Any, ep: m.WebhookEndpoint, now: datetime, last_status: int | None) -> bool:
    """Disable an endpoint after a long failure streak (or 410 Gone) and tell the admin (audit log)."""
    recent = s.scalars(
        select(m.WebhookAttempt)
        .join(m.WebhookDelivery, m.WebhookDelivery.id == m.WebhookAttempt.delivery_id)
        .where(m.WebhookDelivery.endpoint_id == ep.id)
        .order_by(m.WebhookAttempt.id.desc())
        .limit(50)
    ).all()
    streak = []
    for a in recent:
        if a.status_code is not None and 200 <= a.status_code < 300:
            break
        streak.append(a)
    first = streak[-1].attempted_at if streak else None
    if not should_disable(len(streak), first, now, last_status=last_status):
        return False
    ep.enabled = False
    ep.disabled_reason = (
        f"disabled after {len(streak)} failed attempts since {first}; last status {last_status}"
    )
    audit(
        s, ep.tenant_id, "healthscore", "webhook.endpoint_disabled", target=ep.url, reason=ep.disabled_reason
    )
    logger.warning(
        "webhook endpoint %s disabled: %s", ep.id, ep.disabled_reason, extra={"tenant": ep.tenant_id}
    )
    return True


def _load(settings: Settings, delivery_id: int, now: datetime) -> tuple[str, list[str], str, bytes] | None:
    """The URL, secrets, event id and body of a claimed delivery; None (and marked failed) when it cannot
    be sent: endpoint disabled or removed, or its secrets unreadable with the configured keys. A rotation
    whose end has passed is finished first, so the old secret never signs after its end."""

    with transaction(settings.sqlalchemy_url) as s:
        d = s.get(m.WebhookDelivery, delivery_id)
        if d is None:
            return None
        ep, ev = s.get(m.WebhookEndpoint, d.endpoint_id), s.get(m.WebhookEvent, d.event_id)
        if ep is None or ev is None or not ep.enabled:
            d.status, d.last_error, d.claimed_at = "failed", "endpoint disabled or removed", None
            return None
        try:
            finish_lapsed_rotation(s, Vault(settings), ep, now)
            secrets = list(Vault(settings).decrypt_json(ep.secrets_enc))
        except VaultError as exc:
            d.status, d.last_error, d.claimed_at = "failed", str(exc), None
            return None
        return ep.url, secrets, ev.msg_id, encode_payload(ev.payload)


def _give_up(settings: Settings, delivery_id: int, reason: str) -> None:
    with transaction(settings.sqlalchemy_url) as s:
        d = s.get(m.WebhookDelivery, delivery_id)
        if d is not None:
            d.status, d.last_error, d.claimed_at, d.updated_at = "failed", reason, None, utcnow()
    logger.error("webhook delivery %s cannot be attempted: %s", delivery_id, reason)


def replay(
    settings: Settings,
    tenant_id: int,
    *,
    event_msg_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Queue one event (by msg id) or every event in a time range for delivery again; returns how many."""
    now = utcnow()
    with transaction(settings.sqlalchemy_url) as s:
        stmt = (
            select(m.WebhookDelivery)
            .join(m.WebhookEvent, m.WebhookEvent.id == m.WebhookDelivery.event_id)
            .where(m.WebhookDelivery.tenant_id == tenant_id)
        )
        if event_msg_id:
            stmt = stmt.where(m.WebhookEvent.msg_id == event_msg_id)
        if since:
            stmt = stmt.where(m.WebhookEvent.created_at >= since)
        if until:
            stmt = stmt.where(m.WebhookEvent.created_at <= until)
        rows = list(s.scalars(stmt))
        for d in rows:
            # A replay starts a fresh schedule: a dead delivery (attempts exhausted) would otherwise
            # get exactly one try. The attempt log keeps the earlier history.
            d.status, d.next_attempt_at, d.updated_at = "pending", now, now
            d.attempts, d.claimed_at = 0, None
        return len(rows)
