"""Admin writes the web UI and API share: scoring model drafts and publishing, webhook endpoints and their
secrets, delivery replay, link decisions. Every function takes tenant_id and touches only that tenant's rows;
each writes an audit entry. The caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.installs.vault import Vault
from connector.pipeline import link as linking
from connector.pipeline.backtest import AsOfAfterDataError as AsOfAfterDataError  # re-exported for the API
from connector.pipeline.backtest import AsOfBeforeDataError as AsOfBeforeDataError
from connector.pipeline.backtest import AsOfOutsideDataError
from connector.store import models as m
from connector.store.repo import audit

logger = logging.getLogger(__name__)


class ActionError(ValueError):
    """The request cannot be carried out; `problems` says what to fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- scoring model ---------------------------------------------------------------------------------


def validate_model(yaml_text: str) -> tuple[Any, list[str]]:
    """(model, problems): problems lists every error the scoring package found (empty: valid)."""
    from scoring.config import ScoringConfigError, load_model

    if not yaml_text.strip():
        return None, ["the model is empty"]
    try:
        return load_model(yaml_text if "\n" in yaml_text else yaml_text + "\n"), []
    except ScoringConfigError as exc:
        return None, list(exc.problems)


def backtest_preview(
    settings: Settings,
    tenant_id: int,
    yaml_text: str,
    *,
    as_of: datetime | None = None,
    horizon_days: int = 90,
) -> dict[str, Any]:
    """The lead's backtest of a draft over this tenant's history; {"available": False, …} when it cannot run.

    Prefers `connector.pipeline.score.backtest_preview(settings, tenant_id, yaml)` (the agreed contract) and
    falls back to `connector.pipeline.backtest.backtest_preview(session, tenant_id, yaml)`; a date or horizon
    of its own (the API's `as_of`, `horizon_days`) goes to the latter.

    Raises:
        AsOfOutsideDataError: `as_of` is after the newest or before the oldest data in the store (the
            caller says what to pass).
    """
    try:
        from connector.pipeline.score import backtest_preview as by_settings  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        by_settings = None
    try:
        if by_settings is not None and as_of is None and horizon_days == 90:
            result = dict(by_settings(settings, tenant_id, yaml_text))
        else:
            from connector.pipeline.backtest import backtest_preview as by_session
            from connector.store.db import transaction

            with transaction(settings.sqlalchemy_url) as session:
                result = dict(
                    by_session(session, tenant_id, yaml_text, horizon_days=horizon_days, as_of=as_of)
                )
    except ImportError:
        return {"available": False, "message": "The backtest preview is not available yet in this version."}
    except AsOfOutsideDataError:
        raise
    except Exception as exc:  # a preview must never break the editor; say what went wrong (logged)
        logger.exception("backtest preview failed", extra={"tenant": tenant_id})
        return {
            "available": False,
            "message": f"The backtest could not run: {type(exc).__name__}: {exc}"[:300],
        }
    result.setdefault("available", True)
    return result


def save_draft(
    session: Session, tenant_id: int, yaml_text: str, actor: str, backtest: dict[str, Any] | None = None
) -> m.ScoringModelVersion:
    """Store a valid model as a draft.

    Raises:
        ActionError: invalid YAML/model, or the version name is taken (bump `version:`).
    """
    model, problems = validate_model(yaml_text)
    if problems:
        raise ActionError(problems)
    exists = session.scalar(
        select(m.ScoringModelVersion.id).where(
            m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.version == model.version
        )
    )
    if exists is not None:
        raise ActionError([f"version {model.version!r} exists already; change `version:` for a new draft"])
    row = m.ScoringModelVersion(
        tenant_id=tenant_id,
        version=model.version,
        yaml=yaml_text,
        status="draft",
        backtest=backtest,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(session, tenant_id, actor, "model.draft_saved", model.version)
    return row


def publish(session: Session, tenant_id: int, version_id: int, actor: str) -> m.ScoringModelVersion:
    """Make a draft the tenant's model; the previously published one is retired.

    Raises:
        ActionError: no such version of this tenant, or it does not validate any more.
    """
    row = session.scalar(
        select(m.ScoringModelVersion).where(
            m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.id == version_id
        )
    )
    if row is None:
        raise ActionError(["no such model version"])
    _model, problems = validate_model(row.yaml)
    if problems:
        raise ActionError(problems)
    session.execute(
        update(m.ScoringModelVersion)
        .where(m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.status == "published")
        .values(status="retired")
    )
    row.status, row.published_at = "published", utcnow()
    audit(session, tenant_id, actor, "model.published", row.version)
    return row


# ---- webhook endpoints -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointSecret:
    endpoint: m.WebhookEndpoint
    secret: str  # shown once


def _event_types() -> list[str]:
    from webhooks.events import EventType

    return [e.value for e in EventType]


MAX_URL = 2000


def endpoint_problems(settings: Settings, url: str, event_types: list[str]) -> list[str]:
    from webhooks.ssrf import check_url

    problems = []
    if len(url) > MAX_URL:  # the column's size; on PostgreSQL a longer one was a 500
        problems.append(f"the URL is longer than {MAX_URL:,} characters")
    try:
        check_url(
            url,
            allow_private=settings.webhooks_allow_private_targets,
            require_https=settings.env == "production",
        )
    except Exception as exc:  # noqa: BLE001 - UnsafeTargetError and friends all mean "pick another URL"
        problems.append(f"the URL cannot receive webhooks: {exc}")
    unknown = [t for t in event_types if t not in _event_types()]
    if unknown:
        problems.append(f"unknown event types: {', '.join(unknown)} (known: {', '.join(_event_types())})")
    if not event_types:
        problems.append("choose at least one event type")
    return problems


def create_endpoint(
    session: Session,
    settings: Settings,
    tenant_id: int,
    *,
    url: str,
    description: str,
    event_types: list[str],
    actor: str,
) -> EndpointSecret:
    """A new endpoint with a fresh whsec_ secret (returned once, stored encrypted); the web layer's checks
    (at least one event type, https in production) on top of `webhook_admin.add_endpoint`.

    Raises:
        ActionError: unsafe URL or unknown event types.
    """
    from connector.admin import webhooks as webhook_admin

    problems = endpoint_problems(settings, url, event_types)
    if problems:
        raise ActionError(problems)
    try:
        ep, secret = webhook_admin.add_endpoint(
            session,
            Vault(settings),
            tenant_id,
            url,
            events=event_types,
            description=description[:500],
            allow_private=settings.webhooks_allow_private_targets,
            actor=actor,
        )
    except webhook_admin.EndpointError as exc:
        raise ActionError([str(exc)]) from exc
    return EndpointSecret(endpoint=ep, secret=secret)


def _endpoint(session: Session, tenant_id: int, endpoint_id: int) -> m.WebhookEndpoint:
    ep = session.scalar(
        select(m.WebhookEndpoint).where(
            m.WebhookEndpoint.tenant_id == tenant_id, m.WebhookEndpoint.id == endpoint_id
        )
    )
    if ep is None:
        raise LookupError("no such webhook endpoint")
    return ep


def rotate_secret(
    session: Session,
    settings: Settings,
    tenant_id: int,
    endpoint_id: int,
    actor: str,
    hours: int | str | None = None,
) -> EndpointSecret:
    """A new secret signs first; the previous one keeps signing too for `hours` (default 24, 1 to 168)
    or until `finish_rotation`, then is dropped.

    Raises:
        LookupError: no such endpoint for this tenant; ActionError: `hours` out of bounds.
    """
    from connector.admin import webhooks as webhook_admin

    ep = _endpoint(session, tenant_id, endpoint_id)
    try:
        secret = webhook_admin.rotate_secret(
            session, Vault(settings), tenant_id, endpoint_id, actor=actor, hours=hours
        )
    except webhook_admin.EndpointError as exc:
        raise ActionError([str(exc)[:1].upper() + str(exc)[1:]]) from exc
    return EndpointSecret(endpoint=ep, secret=secret)


def current_endpoint(
    session: Session, settings: Settings, tenant_id: int, endpoint_id: int
) -> m.WebhookEndpoint | None:
    """The endpoint as it signs now: a rotation whose end has passed is finished (and logged) on reading,
    so a page or an API answer never shows a rotation that is over. The caller commits."""
    from connector.pipeline.rotation import finish_lapsed_rotation

    ep = session.scalar(
        select(m.WebhookEndpoint).where(
            m.WebhookEndpoint.tenant_id == tenant_id, m.WebhookEndpoint.id == endpoint_id
        )
    )
    if ep is not None:
        finish_lapsed_rotation(session, Vault(settings), ep)
    return ep


def current_endpoints(session: Session, settings: Settings, tenant_id: int) -> list[m.WebhookEndpoint]:
    """A tenant's endpoints, lapsed rotations finished (as `current_endpoint`). The caller commits."""
    from connector.pipeline.rotation import finish_lapsed_rotations

    finish_lapsed_rotations(session, Vault(settings), tenant_id=tenant_id)
    return list(
        session.scalars(
            select(m.WebhookEndpoint)
            .where(m.WebhookEndpoint.tenant_id == tenant_id)
            .order_by(m.WebhookEndpoint.id)
        )
    )


def secret_count(settings: Settings, ep: m.WebhookEndpoint) -> int:
    """How many secrets sign this endpoint's deliveries (2 while a rotation is in progress)."""
    return len(Vault(settings).decrypt_json(ep.secrets_enc))


def finish_rotation(
    session: Session, settings: Settings, tenant_id: int, endpoint_id: int, actor: str
) -> None:
    """Stop signing with the previous secret (receivers have switched).

    Raises:
        LookupError: no such endpoint for this tenant.
    """
    from connector.admin import webhooks as webhook_admin

    _endpoint(session, tenant_id, endpoint_id)
    webhook_admin.finish_rotation(session, Vault(settings), tenant_id, endpoint_id)
    audit(session, tenant_id, actor, "webhook.rotation_finished", f"endpoint:{endpoint_id}")


def update_endpoint(
    session: Session, settings: Settings, tenant_id: int, endpoint_id: int, actor: str, **changes: Any
) -> m.WebhookEndpoint:
    """Change url/description/event_types/enabled.

    Raises:
        LookupError: no such endpoint; ActionError: an unsafe URL or unknown event types.
    """
    ep = _endpoint(session, tenant_id, endpoint_id)
    url = changes.get("url", ep.url)
    types = changes.get("event_types", ep.event_types)
    problems = (
        endpoint_problems(settings, url, list(types)) if {"url", "event_types"} & changes.keys() else []
    )
    if problems:
        raise ActionError(problems)
    ep.url, ep.event_types = url, list(types)
    if "description" in changes:
        ep.description = str(changes["description"])[:500]
    if "enabled" in changes:
        ep.enabled = bool(changes["enabled"])
        # the page's button says Pause: so does the reason shown beside the endpoint
        ep.disabled_reason = (
            None if ep.enabled else f"Paused by {actor}; events queue until it is enabled again."
        )
    if changes.keys() == {"enabled"}:
        # Pause and Enable are the page's buttons: the log says which one (both read 'updated · fields:
        # enabled' before, so nobody could tell from the log whether an endpoint was paused or resumed).
        audit(
            session,
            tenant_id,
            actor,
            "webhook.enabled" if ep.enabled else "webhook.paused",
            f"endpoint:{ep.id}",
        )
    else:
        detail: dict[str, Any] = {"fields": sorted(changes)}
        if "enabled" in changes:
            detail["now"] = "enabled" if ep.enabled else "paused"
        audit(session, tenant_id, actor, "webhook.updated", f"endpoint:{ep.id}", **detail)
    return ep


def delete_endpoint(session: Session, tenant_id: int, endpoint_id: int, actor: str) -> None:
    """Raises: LookupError when no such endpoint for this tenant."""
    ep = _endpoint(session, tenant_id, endpoint_id)
    session.delete(ep)
    audit(session, tenant_id, actor, "webhook.deleted", f"endpoint:{endpoint_id}", url=ep.url)


def replay_delivery(session: Session, tenant_id: int, endpoint_id: int, delivery_id: int, actor: str) -> None:
    """Queue one delivery again (same webhook-id, so receivers de-duplicate).

    Raises:
        LookupError: no such delivery on this tenant's endpoint.
    """
    row = session.scalar(
        select(m.WebhookDelivery).where(
            m.WebhookDelivery.tenant_id == tenant_id,
            m.WebhookDelivery.endpoint_id == endpoint_id,
            m.WebhookDelivery.id == delivery_id,
        )
    )
    if row is None:
        raise LookupError("no such delivery")
    now = utcnow()
    row.status, row.next_attempt_at, row.updated_at, row.claimed_at = "pending", now, now, None
    audit(session, tenant_id, actor, "webhook.replayed", f"delivery:{delivery_id}")


# ---- account links ---------------------------------------------------------------------------------


def decide_link(
    session: Session, tenant_id: int, source_account_id: int, crm_account_id: int | None, actor: str
) -> None:
    """A person's decision on an organization's account: it sticks (status confirmed, method manual).

    Raises:
        LookupError: the organization or the CRM account is not this tenant's, or the target is not a CRM
            account (a help-desk organization, the organization itself).
    """
    from connector.readmodels.common import CRM_VENDORS

    if crm_account_id is not None:
        # A typed id beyond 64 bits overflowed the query (a 500): it names no account.
        target = session.get(m.Account, crm_account_id) if 0 < crm_account_id < 2**63 else None
        if target is None or target.tenant_id != tenant_id or target.vendor not in CRM_VENDORS:
            raise LookupError(f"CRM account {crm_account_id} not found in this tenant")
    before = session.scalar(
        select(m.AccountLink).where(
            m.AccountLink.tenant_id == tenant_id, m.AccountLink.source_account_id == source_account_id
        )
    )
    # What the link was before, so the decision can be undone exactly (kept in the audit entry).
    previous = (
        {
            "crm_account_id": before.crm_account_id,
            "method": before.method,
            "confidence": before.confidence,
            "status": before.status,
            "reason": before.reason,
        }
        if before is not None
        else None
    )
    linking.confirm_link(session, tenant_id, source_account_id, crm_account_id, actor)
    audit(
        session,
        tenant_id,
        actor,
        "link.confirmed",
        f"account:{source_account_id}",
        crm_account_id=crm_account_id,
        previous=previous,
    )


def undo_link(session: Session, tenant_id: int, source_account_id: int, actor: str) -> None:
    """Put an organization's link back to what it was before the last person's decision.

    Raises:
        LookupError: no decision on this organization to undo (in this tenant).
    """
    link = session.scalar(
        select(m.AccountLink).where(
            m.AccountLink.tenant_id == tenant_id, m.AccountLink.source_account_id == source_account_id
        )
    )
    entry = session.scalar(
        select(m.AuditEntry)
        .where(
            m.AuditEntry.tenant_id == tenant_id,
            m.AuditEntry.action == "link.confirmed",
            m.AuditEntry.target == f"account:{source_account_id}",
        )
        .order_by(m.AuditEntry.id.desc())
        .limit(1)
    )
    if link is None or link.status != "confirmed" or entry is None:
        raise LookupError("no decision to undo for this organization")
    prev = (entry.detail or {}).get("previous") or {
        "crm_account_id": None, "method": "unmatched", "confidence": 0.0, "status": "review", "reason": None,
    }  # fmt: skip
    link.crm_account_id = prev.get("crm_account_id")
    link.method = str(prev.get("method") or "unmatched")
    link.confidence = float(prev.get("confidence") or 0.0)
    link.status = str(prev.get("status") or "review")
    link.reason = prev.get("reason")
    link.confirmed_by = link.confirmed_at = None
    link.updated_at = utcnow()
    audit(session, tenant_id, actor, "link.undone", f"account:{source_account_id}", restored=prev)
