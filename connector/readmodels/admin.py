"""Admin reads: installations, runs, scoring model versions, webhooks, review queue, users, keys, audit."""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from connector.store import models as m

logger = logging.getLogger(__name__)


def installations(session: Session, tenant_id: int) -> list[m.Installation]:
    return list(
        session.scalars(
            select(m.Installation)
            .where(m.Installation.tenant_id == tenant_id)
            .order_by(m.Installation.vendor)
        )
    )


def installation(session: Session, tenant_id: int, vendor: str) -> m.Installation | None:
    return session.scalar(
        select(m.Installation).where(m.Installation.tenant_id == tenant_id, m.Installation.vendor == vendor)
    )


def runs(
    session: Session,
    tenant_id: int,
    *,
    since: datetime | None = None,
    kind: str | None = None,
    limit: int = 20,
) -> list[m.Run]:
    stmt = select(m.Run).where(m.Run.tenant_id == tenant_id)
    if since is not None:
        stmt = stmt.where(m.Run.started_at >= since)
    if kind:
        stmt = stmt.where(m.Run.kind == kind)
    return list(session.scalars(stmt.order_by(m.Run.started_at.desc(), m.Run.id.desc()).limit(limit)))


def model_versions(session: Session, tenant_id: int) -> list[m.ScoringModelVersion]:
    return list(
        session.scalars(
            select(m.ScoringModelVersion)
            .where(m.ScoringModelVersion.tenant_id == tenant_id)
            .order_by(m.ScoringModelVersion.created_at.desc(), m.ScoringModelVersion.id.desc())
        )
    )


def model_version(session: Session, tenant_id: int, version_id: int) -> m.ScoringModelVersion | None:
    return session.scalar(
        select(m.ScoringModelVersion).where(
            m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.id == version_id
        )
    )


def published_model(session: Session, tenant_id: int) -> m.ScoringModelVersion | None:
    return session.scalar(
        select(m.ScoringModelVersion)
        .where(m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.status == "published")
        .order_by(m.ScoringModelVersion.published_at.desc())
        .limit(1)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRow:
    id: int
    event_type: str
    msg_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


def deliveries(session: Session, tenant_id: int, endpoint_id: int, limit: int = 50) -> list[DeliveryRow]:
    result = session.execute(
        select(m.WebhookDelivery, m.WebhookEvent.type, m.WebhookEvent.msg_id)
        .join(m.WebhookEvent, m.WebhookEvent.id == m.WebhookDelivery.event_id)
        .where(m.WebhookDelivery.tenant_id == tenant_id, m.WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(m.WebhookDelivery.created_at.desc(), m.WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [
        DeliveryRow(
            id=d.id,
            event_type=etype,
            msg_id=msg_id,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at,
        )
        for d, etype, msg_id in result
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySubject:
    """What a delivered event was about, for the delivery log: the account (its page when it is still in
    the store, else the name the event carried) and the change (bands and scores from the payload)."""

    account_id: int | None
    name: str | None
    old_band: str | None
    new_band: str | None
    old_score: float | None
    new_score: float | None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def delivery_subjects(session: Session, tenant_id: int, msg_ids: list[str]) -> dict[str, DeliverySubject]:
    """msg_id → the account and change its event was about (events of other workspaces never)."""
    if not msg_ids:
        return {}
    found = session.execute(
        select(m.WebhookEvent.msg_id, m.WebhookEvent.payload, m.Account.id, m.Account.name)
        .outerjoin(
            m.Account,
            (m.Account.id == m.WebhookEvent.account_id)
            & (m.Account.tenant_id == tenant_id)
            & m.Account.deleted_at.is_(None),
        )
        .where(m.WebhookEvent.tenant_id == tenant_id, m.WebhookEvent.msg_id.in_(msg_ids))
    )
    out: dict[str, DeliverySubject] = {}
    for msg_id, payload, account_id, account_name in found:
        data = (payload or {}).get("data") if isinstance(payload, dict) else None
        data = data if isinstance(data, dict) else {}
        name = account_name or (data.get("name") if isinstance(data.get("name"), str) else None)
        out[msg_id] = DeliverySubject(
            account_id=account_id,
            name=name,
            old_band=data.get("old_band") if isinstance(data.get("old_band"), str) else None,
            new_band=data.get("new_band") if isinstance(data.get("new_band"), str) else None,
            old_score=_number(data.get("old_score")),
            new_score=_number(data.get("new_score")),
        )
    return out


def delivery_count(session: Session, tenant_id: int, endpoint_id: int) -> int:
    """How many deliveries an endpoint has (the page lists the newest `deliveries` only)."""
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(m.WebhookDelivery)
            .where(m.WebhookDelivery.tenant_id == tenant_id, m.WebhookDelivery.endpoint_id == endpoint_id)
        )
        or 0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewRow:
    link_id: int
    source_id: int
    source_vendor: str
    source_name: str
    source_external_id: str
    source_domains: list[Any]
    reason: str | None
    status: str
    method: str
    candidate_id: int | None
    candidate_name: str | None


def review_queue(session: Session, tenant_id: int, limit: int = 100) -> list[ReviewRow]:
    """Links waiting for a human: unmatched organizations and low-confidence guesses."""
    src, crm = aliased(m.Account), aliased(m.Account)
    result = session.execute(
        select(m.AccountLink, src, crm.name)
        .join(src, src.id == m.AccountLink.source_account_id)
        .outerjoin(crm, crm.id == m.AccountLink.crm_account_id)
        .where(
            m.AccountLink.tenant_id == tenant_id, m.AccountLink.status == "review", src.deleted_at.is_(None)
        )
        .order_by(src.name)
        .limit(limit)
    )
    return [
        ReviewRow(
            link_id=link.id,
            source_id=s.id,
            source_vendor=s.vendor,
            source_name=s.name,
            source_external_id=s.external_id,
            source_domains=list(s.domains or []),
            reason=link.reason,
            status=link.status,
            method=link.method,
            candidate_id=link.crm_account_id,
            candidate_name=cname,
        )
        for link, s, cname in result
    ]


def crm_account_choices(session: Session, tenant_id: int, q: str, limit: int = 20) -> list[m.Account]:
    like = f"%{q.strip().lower()}%"
    from sqlalchemy import func

    return list(
        session.scalars(
            select(m.Account)
            .where(
                m.Account.tenant_id == tenant_id,
                m.Account.vendor.in_(("salesforce", "hubspot")),
                m.Account.deleted_at.is_(None),
                func.lower(m.Account.name).like(like),
            )
            .order_by(m.Account.name)
            .limit(limit)
        )
    )


def users(session: Session, tenant_id: int) -> list[m.User]:
    return list(session.scalars(select(m.User).where(m.User.tenant_id == tenant_id).order_by(m.User.email)))


def api_keys(session: Session, tenant_id: int) -> list[m.ApiKey]:
    return list(
        session.scalars(
            select(m.ApiKey).where(m.ApiKey.tenant_id == tenant_id).order_by(m.ApiKey.created_at.desc())
        )
    )


UNKNOWN_CREATOR = "unknown (created before keys recorded their creator)"


def key_creators(session: Session, tenant_id: int, keys: list[m.ApiKey]) -> dict[int, str]:
    """Who created each key, by name (key id → words): the user's name (their e-mail when they have none);
    for a key whose creator was removed since, the e-mail its `api_key.created` audit entry names, marked
    as removed; otherwise "unknown (…)" (made before migration 0020 recorded creators)."""
    ids = {k.created_by for k in keys if k.created_by is not None}
    people = {
        u.id: u.name.strip() or u.email
        for u in (
            session.scalars(select(m.User).where(m.User.tenant_id == tenant_id, m.User.id.in_(ids)))
            if ids
            else []
        )
    }
    missing = [f"key:{k.prefix}" for k in keys if k.created_by not in people]
    logged: dict[str, str] = {}
    if missing:
        for target, who in session.execute(
            select(m.AuditEntry.target, m.AuditEntry.actor)
            .where(
                m.AuditEntry.tenant_id == tenant_id,
                m.AuditEntry.action == "api_key.created",
                m.AuditEntry.target.in_(missing),
            )
            .order_by(m.AuditEntry.id)
        ):
            logged.setdefault(str(target), who)
    shown: dict[int, str] = {}
    for k in keys:
        if k.created_by in people:
            shown[k.id] = people[k.created_by]
        elif (who := logged.get(f"key:{k.prefix}")) is not None:
            shown[k.id] = f"{who} (no longer a user here)"
        else:
            shown[k.id] = UNKNOWN_CREATOR
    return shown


def key_warnings(session: Session, tenant_id: int) -> dict[int, dict[str, str]]:
    """User id → what removing (`remove`) or demoting (`demote`) them does to the live API keys they
    created, in words for the users page's confirmations (users.keys_beyond_role does it)."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for creator, scope in session.execute(
        select(m.ApiKey.created_by, m.ApiKey.scope).where(
            m.ApiKey.tenant_id == tenant_id, m.ApiKey.created_by.is_not(None), m.ApiKey.revoked_at.is_(None)
        )
    ):
        counts[int(creator)][0] += 1
        counts[int(creator)][1] += scope == "admin"

    def keys(n: int, kind: str = "") -> str:
        return (
            f"the {n} {kind}API key{'s' if n != 1 else ''} they created {'are' if n != 1 else 'is'} revoked"
        )

    warnings: dict[int, dict[str, str]] = {}
    for uid, (total, admin) in counts.items():
        warnings[uid] = {"remove": f"And {keys(total)} (whatever uses them gets 401)."}
        if admin:
            warnings[uid]["demote"] = f"If they stop being an admin, {keys(admin, 'admin-scope ')}."
    return warnings


def audit_log(
    session: Session,
    tenant_id: int,
    limit: int = 100,
    before_id: int | None = None,
    *,
    actor: str | None = None,
    action: str | None = None,
    q: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
) -> list[m.AuditEntry]:
    """Entries newest first; `action` matches a prefix ("user." = every user change)."""
    return list(
        session.scalars(
            _audit_query(tenant_id, before_id, actor, action, q, since, until)
            .order_by(m.AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditShown:
    """An audit entry as the log page shows it: names where the entry stores ids."""

    target: str  # what a person reads ("“BI export” (hsk_ab12cd34_…)", a URL, an account's name)
    raw: str | None  # the stored target when `target` differs from it (kept: the filter searches it)
    detail: list[tuple[str, str]]  # (label, value) in words


_TARGET = re.compile(r"^(key|endpoint|account|delivery):(\w+)$|^play (\d+)$")


def audit_shown(session: Session, tenant_id: int, entries: list[m.AuditEntry]) -> dict[int, AuditShown]:
    """Entry id → how to show it. Stored targets name rows by id (`endpoint:12`, `play 3`, `account:57`,
    `key:<prefix or id>`, `delivery:9`) and details carry ids (`crm_account_id`) and raw dicts; the page
    names them, from the row when it still exists, else from what the entry itself kept (a deleted
    endpoint's url, a play's name)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        match = _TARGET.match(e.target or "")
        if match:
            kind, ref = (match.group(1), match.group(2)) if match.group(1) else ("play", match.group(3))
            wanted[kind].add(ref)
        stored = e.detail or {}
        for value in (
            stored.get("crm_account_id"),
            (stored.get("previous") or {}).get("crm_account_id"),
            (stored.get("restored") or {}).get("crm_account_id"),
        ):
            if isinstance(value, int):
                wanted["account"].add(str(value))

    def ids(kind: str) -> list[int]:
        return [int(v) for v in wanted[kind] if v.isdigit()]

    def rows(model: Any, *where: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.tenant_id == tenant_id, *where)))

    keys = rows(m.ApiKey, or_(m.ApiKey.prefix.in_(wanted["key"]), m.ApiKey.id.in_(ids("key"))))
    key_names = {k.prefix: k for k in keys} | {str(k.id): k for k in keys}
    endpoints = {
        str(ep.id): ep.url for ep in rows(m.WebhookEndpoint, m.WebhookEndpoint.id.in_(ids("endpoint")))
    }
    plays = {str(p.id): p.name for p in rows(m.Play, m.Play.id.in_(ids("play")))}
    accounts: dict[str, str] = {str(a.id): a.name for a in rows(m.Account, m.Account.id.in_(ids("account")))}
    deliveries = {
        str(d.id): (endpoint_url or "", etype)
        for d, endpoint_url, etype in session.execute(
            select(m.WebhookDelivery, m.WebhookEndpoint.url, m.WebhookEvent.type)
            .join(m.WebhookEndpoint, m.WebhookEndpoint.id == m.WebhookDelivery.endpoint_id)
            .join(m.WebhookEvent, m.WebhookEvent.id == m.WebhookDelivery.event_id)
            .where(m.WebhookDelivery.tenant_id == tenant_id, m.WebhookDelivery.id.in_(ids("delivery")))
        )
    }
    for e in entries:  # a deleted endpoint or play: the name its own entries kept
        match = _TARGET.match(e.target or "")
        kept = (e.detail or {}).get("url") or (e.detail or {}).get("name")
        if match and isinstance(kept, str):
            table = endpoints if match.group(1) == "endpoint" else plays if match.group(3) else None
            ref = match.group(2) or match.group(3)
            if table is not None and ref not in table:
                table[ref] = kept

    def account(value: Any) -> str:
        return accounts.get(str(value), f"account {value} (no longer here)")

    shown: dict[int, AuditShown] = {}
    for e in entries:
        target, raw = e.target or "", None
        match = _TARGET.match(target)
        if match:
            kind, ref = (match.group(1), match.group(2)) if match.group(1) else ("play", match.group(3))
            name: str | None = None
            if kind == "key" and ref in key_names:
                key = key_names[ref]
                name = f"“{key.name}” (hsk_{key.prefix}_…)"
            elif kind == "endpoint":
                name = endpoints.get(ref)
            elif kind == "play" and ref in plays:
                name = f"“{plays[ref]}”"
            elif kind == "account" and ref in accounts:
                name = accounts[ref]
            elif kind == "delivery" and ref in deliveries:
                url, etype = deliveries[ref]
                name = f"{etype} to {url}"
            if name is not None:
                target, raw = name, e.target
        detail: list[tuple[str, str]] = []
        for k, v in (e.detail or {}).items():
            if k == "crm_account_id":
                detail.append(("linked to", account(v)))
            elif k == "previous":
                before = v or {}
                was = account(before["crm_account_id"]) if before.get("crm_account_id") else "no account"
                detail.append(("before", f"linked to {was}" if before else "not linked"))
            elif k == "restored" and isinstance(v, dict):  # an undone decision: the link it went back to
                # (it read 'crm account id None, method unmatched, confidence 0.0, status review, …')
                if v.get("crm_account_id"):
                    back = f"linked to {account(v['crm_account_id'])}"
                else:
                    back = "not linked, waiting for review" if v.get("status") == "review" else "not linked"
                detail.append(("back to", back))
            elif k in {"url", "name"} and raw is not None:
                continue  # the target says it already
            elif k == "installation_id" and "installation" in (e.detail or {}):
                continue  # a row id; the installation is named next to it
            elif isinstance(v, list):
                detail.append((k.replace("_", " "), ", ".join(map(str, v))))
            elif isinstance(v, dict):  # e.g. a write rule before/after: "score points 2, …", not a repr
                values = ", ".join(
                    f"{_DETAIL_NAMES.get(str(kk), str(kk).replace('_', ' '))} {_detail_number(vv)}"
                    for kk, vv in v.items()
                )
                detail.append((k.replace("_", " "), values or "none"))
            elif isinstance(v, bool):  # replaced: yes, not Python's 'True'
                detail.append((k.replace("_", " "), "yes" if v else "no"))
            elif v is not None:
                detail.append((k.replace("_", " "), str(v)))
        shown[e.id] = AuditShown(target=target, raw=raw, detail=detail)
    return shown


# The write rule's fields by the names its page gives them (Admin → Integrations → CRM write-back).
_DETAIL_NAMES = {
    "sentiment": "sentiment change",
    "max_age_days": "refresh age (days)",
    "refresh_spread_days": "refresh spread (days)",
}


def _detail_number(value: Any) -> str:
    """5.0 → '5', 0.05 → '0.05' (as the write-rule page shows them); anything else as text."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return str(value)


def audited(session: Session, tenant_id: int, action: str, target: str) -> bool:
    """Whether this tenant's audit log holds `action` on exactly `target` (e.g. an endpoint deleted
    already, whose row is gone)."""
    return (
        session.scalar(
            select(m.AuditEntry.id)
            .where(
                m.AuditEntry.tenant_id == tenant_id,
                m.AuditEntry.action == action,
                m.AuditEntry.target == target,
            )
            .limit(1)
        )
        is not None
    )


def audit_count(session: Session, tenant_id: int, **filters: Any) -> int:
    from sqlalchemy import func

    stmt = _audit_query(tenant_id, None, **filters).with_only_columns(func.count())
    return int(session.scalar(stmt) or 0)


def audit_facets(session: Session, tenant_id: int) -> tuple[list[str], list[str]]:
    """The actors and actions present, for the filter menus."""
    actors = session.scalars(
        select(m.AuditEntry.actor)
        .where(m.AuditEntry.tenant_id == tenant_id)
        .distinct()
        .order_by(m.AuditEntry.actor)
    ).all()
    actions = session.scalars(
        select(m.AuditEntry.action)
        .where(m.AuditEntry.tenant_id == tenant_id)
        .distinct()
        .order_by(m.AuditEntry.action)
    ).all()
    return list(actors), list(actions)


def _target_matches(tenant_id: int, like: str) -> list[Any]:
    """An entry matches a search when its stored target contains it, or when the target names a row (by
    id, as `audit_shown` resolves it) whose name the page shows contains it: `account:57` for 'Acme',
    `key:<prefix>` for the key's name, `play 3` for the play's, `endpoint:12` for its URL."""
    from sqlalchemy import String, cast, func, literal

    def named(prefix: str, ref: Any, model: Any, shown: Any) -> Any:
        refs = select(literal(prefix) + cast(ref, String)).where(
            model.tenant_id == tenant_id, func.lower(shown).contains(like, autoescape=True)
        )
        return m.AuditEntry.target.in_(refs)

    return [
        func.lower(func.coalesce(m.AuditEntry.target, "")).contains(like, autoescape=True),
        named("account:", m.Account.id, m.Account, m.Account.name),
        named("key:", m.ApiKey.prefix, m.ApiKey, m.ApiKey.name),
        named("key:", m.ApiKey.id, m.ApiKey, m.ApiKey.name),
        named("play ", m.Play.id, m.Play, m.Play.name),
        named("endpoint:", m.WebhookEndpoint.id, m.WebhookEndpoint, m.WebhookEndpoint.url),
    ]


def _audit_query(
    tenant_id: int,
    before_id: int | None,
    actor: str | None = None,
    action: str | None = None,
    q: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:

    stmt = select(m.AuditEntry).where(m.AuditEntry.tenant_id == tenant_id)
    if before_id is not None:
        stmt = stmt.where(m.AuditEntry.id < before_id)
    if actor:
        stmt = stmt.where(m.AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(m.AuditEntry.action.startswith(action, autoescape=True))
    if q:
        stmt = stmt.where(or_(*_target_matches(tenant_id, q.lower())))
    if since is not None:
        stmt = stmt.where(m.AuditEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(m.AuditEntry.created_at < until)
    return stmt


def accounts_shared_elsewhere(session: Session, tenant_id: int) -> set[str]:
    """Vendors whose account this workspace has connected while another workspace has it live too: the
    vendor's card (HubSpot, found by portal id alone) answers 'not installed' to both, and the Integrations
    page says why. Only possible for rows from before the one-workspace rule (migration 0011)."""
    mine = aliased(m.Installation)
    other = aliased(m.Installation)
    live = ("disconnected",)
    rows = session.scalars(
        select(mine.vendor)
        .join(
            other,
            (other.vendor == mine.vendor)
            & (other.vendor_account == mine.vendor_account)
            & (other.tenant_id != mine.tenant_id),
        )
        .where(
            mine.tenant_id == tenant_id,
            mine.vendor_account.is_not(None),
            mine.status.not_in(live),
            other.status.not_in(live),
        )
        .distinct()
    )
    return set(rows)


@dataclass(frozen=True, slots=True)
class SignedInstallation:
    """What a vendor-signed request needs of the installation it names: whose it is and its secret."""

    id: int
    tenant_id: int
    client_secret_enc: str


def installation_by_vendor_account(
    session: Session, vendor: str, vendor_account: str
) -> SignedInstallation | None:
    """Tenant resolution for vendor-signed requests (HubSpot portal id → its installation).

    The one lookup without a tenant id: the caller is the vendor, and the signature must then be verified
    with this installation's own secret before anything of the tenant is read.

    None unless exactly one installation matches: with the account connected to two workspaces (the OAuth
    callback refuses that since; older rows may remain) picking one could show a workspace's data to the
    other, so the account answers as not installed until one of them disconnects.

    Three columns, not the ORM object: building one took ~50 µs that a portal nobody connected did not
    spend, a difference anyone timing card requests could use to tell customers' portals (audit 8).
    """
    found = list(
        session.execute(
            select(m.Installation.id, m.Installation.tenant_id, m.Installation.client_secret_enc)
            .where(
                m.Installation.vendor == vendor,
                m.Installation.vendor_account == vendor_account,
                m.Installation.status != "disconnected",
            )
            .limit(2)
        )
    )
    if len(found) > 1:
        logger.warning(
            "%s account %s is connected to more than one workspace; answering as not installed",
            vendor,
            vendor_account,
            extra={"tenants": sorted(i.tenant_id for i in found)},
        )
        return None
    return SignedInstallation(*found[0]) if found else None
