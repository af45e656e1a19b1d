"""The link step: tie helpdesk organizations and tickets to CRM accounts; links are rows, so a human
decision (status "confirmed") sticks across syncs and renames."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from connector.pipeline.matching import Candidate, Index, Org, match_email, match_org
from connector.store import models as m
from connector.store.repo import utcnow
from integrations.registry import CRM_VENDORS

logger = logging.getLogger(__name__)
LINK_PAGE = 5000  # ticket updates per executemany


@dataclass(slots=True)
class LinkReport:
    organizations: int = 0
    organizations_linked: int = 0
    tickets_total: int = 0
    tickets_linked: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    unmatched: list[dict[str, Any]] = field(default_factory=list)


def crm_vendor(session: Session, tenant_id: int) -> str | None:
    """The tenant's CRM: its configured primary CRM, else the CRM it has installed."""
    tenant = session.get(m.Tenant, tenant_id)
    if tenant and tenant.primary_crm:
        return tenant.primary_crm
    vendors = session.scalars(
        select(m.Installation.vendor).where(m.Installation.tenant_id == tenant_id)
    ).all()
    return next((v for v in vendors if v in CRM_VENDORS), None)


def link_tenant(session: Session, tenant_id: int) -> LinkReport:
    """Match every organization without a human decision, then resolve each ticket's CRM account."""
    report = LinkReport()
    crm = crm_vendor(session, tenant_id)
    if crm is None:
        return report
    live = (m.Account.tenant_id == tenant_id) & m.Account.deleted_at.is_(None)
    # The five columns the matcher reads, not an ORM object per CRM account (~30 % of the step at 2,000
    # accounts, issue 17).
    crm_rows = session.execute(
        select(
            m.Account.id, m.Account.external_id, m.Account.name, m.Account.domains, m.Account.cross_ref
        ).where(live, m.Account.vendor == crm)
    ).all()
    index = Index(
        Candidate(a.id, a.external_id, a.name, tuple(a.domains or ()), a.cross_ref) for a in crm_rows
    )
    # The organizations' matcher columns too, not ORM objects with every column and instrumented state.
    orgs = (
        session.connection()
        .execute(
            select(
                m.Account.id,
                m.Account.vendor,
                m.Account.external_id,
                m.Account.name,
                m.Account.domains,
                m.Account.cross_ref,
            ).where(live, m.Account.vendor.not_in(CRM_VENDORS))
        )
        .all()
    )
    links = {
        link.source_account_id: link
        for link in session.scalars(select(m.AccountLink).where(m.AccountLink.tenant_id == tenant_id))
    }
    now = utcnow()
    live_crm = {a.id for a in crm_rows}
    org_target: dict[tuple[str, str], int | None] = {}
    for org in orgs:
        link = links.get(org.id)
        if link is None or link.status != "confirmed":
            link = _auto_link(session, tenant_id, org, link, index, live_crm, now)
        org_target[(org.vendor, org.external_id)] = link.crm_account_id
        report.organizations += 1
        report.organizations_linked += link.crm_account_id is not None
        if link.crm_account_id is None:
            report.unmatched.append(
                {"organization": org.name, "external_id": org.external_id, "reason": link.reason}
            )
    _link_tickets(session, tenant_id, crm, index, org_target, report)
    logger.info(
        "linked %d/%d tickets",
        report.tickets_linked,
        report.tickets_total,
        extra={"tenant": tenant_id, "step": "link"},
    )
    return report


def _auto_link(
    session: Session,
    tenant_id: int,
    org: Any,  # a row of the organization's id, vendor, external_id, name, domains, cross_ref
    link: m.AccountLink | None,
    index: Index,
    live_crm: set[int],
    now: datetime,
) -> m.AccountLink:
    """Match one organization without a human decision and record the result on its link row."""
    found = match_org(Org(org.id, org.external_id, org.name, tuple(org.domains or ()), org.cross_ref), index)
    if link is None:
        link = m.AccountLink(tenant_id=tenant_id, source_account_id=org.id, updated_at=now)
        session.add(link)
    elif found.crm_account_id is None and link.crm_account_id in live_crm:
        # No rule matches any more, typically after a rename in one system only: keep the earlier
        # automatic link (its evidence was real) instead of dropping the org's tickets. New evidence
        # for another account still moves it; a deleted target does not hold it.
        reason = f"kept earlier {link.method} link; now: {found.reason}"
        if link.reason != reason:
            link.reason, link.updated_at = reason, now
        return link
    status = "auto" if found.crm_account_id else "review"
    new = (found.crm_account_id, found.method, found.confidence, status, found.reason)
    # An unchanged match leaves the row alone: rewriting updated_at alone cost an UPDATE per organization
    # and pass (~8,000 per tenant at 10,000 accounts, issue 17); updated_at is when the link last changed.
    if (link.crm_account_id, link.method, link.confidence, link.status, link.reason) != new:
        link.crm_account_id, link.method, link.confidence, link.status, link.reason = new
        link.updated_at = now
    return link


def _link_tickets(
    session: Session,
    tenant_id: int,
    crm: str,
    index: Index,
    org_target: dict[tuple[str, str], int | None],
    report: LinkReport,
) -> None:
    methods: Counter[str] = Counter()
    # Three columns, not an Account and an AccountLink object per organization (issue 17).
    org_methods = {
        (vendor, ext): method
        for vendor, ext, method in session.execute(
            select(m.Account.vendor, m.Account.external_id, m.AccountLink.method)
            .join(m.AccountLink, m.AccountLink.source_account_id == m.Account.id)
            .where(m.Account.tenant_id == tenant_id)
        )
    }
    # On the session's connection (Core), after the autoflush of the read above (new links are stored):
    # the same rows without the ORM's per-row loading, ~27 % of the step's CPU (issue 17; signals reads
    # its columns the same way).
    rows = (
        session.connection()
        .execute(
            select(
                m.Ticket.id,
                m.Ticket.vendor,
                m.Ticket.account_external_id,
                m.Ticket.requester_email,
                m.Ticket.crm_account_id,
                m.Ticket.link_method,
            ).where(
                m.Ticket.tenant_id == tenant_id,
                m.Ticket.deleted_at.is_(None),
                m.Ticket.vendor.in_([crm, "zendesk"]),
            )
        )
        .all()
    )
    updates: list[dict[str, Any]] = []
    for tid, vendor, acct_ext, email, current, current_method in rows:
        target, method = None, "unmatched"
        if vendor == crm:
            cand = index.by_external.get(acct_ext or "")
            target, method = (cand.account_id, "native") if cand else (None, "unmatched")
        else:
            org_crm = org_target.get((vendor, acct_ext or ""))
            if org_crm is not None:
                target, method = org_crm, f"org:{org_methods.get((vendor, acct_ext or ''), 'auto')}"
            elif (owner := match_email(email, index)) is not None:
                target, method = owner, "requester_domain"
        report.tickets_total += 1
        if target is not None:
            report.tickets_linked += 1
        methods[method] += 1
        if target != current or method != current_method:
            updates.append({"tid": tid, "crm_account_id": target, "link_method": method})
    # Core executemany in pages, not one ORM UPDATE per ticket: no session synchronisation (which grew
    # with the square of the tickets) and one round trip per page on psycopg's pipeline.
    stmt = (
        update(m.Ticket)
        .where(m.Ticket.id == bindparam("tid"), m.Ticket.tenant_id == tenant_id)
        .values(crm_account_id=bindparam("crm_account_id"), link_method=bindparam("link_method"))
    )
    for i in range(0, len(updates), LINK_PAGE):
        session.connection().execute(stmt, updates[i : i + LINK_PAGE])
    report.by_method = dict(methods)


def confirm_link(
    session: Session, tenant_id: int, source_account_id: int, crm_account_id: int | None, actor: str
) -> m.AccountLink:
    """A human decision: link (or explicitly unlink) an organization; never re-matched automatically."""
    link = session.scalar(
        select(m.AccountLink).where(
            m.AccountLink.tenant_id == tenant_id, m.AccountLink.source_account_id == source_account_id
        )
    )
    if link is None:
        raise LookupError(f"no link row for organization {source_account_id} in this tenant")
    if crm_account_id is not None:
        target = session.get(m.Account, crm_account_id)
        if target is None or target.tenant_id != tenant_id:
            raise LookupError(f"CRM account {crm_account_id} not found in this tenant")
    link.crm_account_id, link.method, link.status = crm_account_id, "manual", "confirmed"
    link.confidence, link.confirmed_by, link.confirmed_at, link.updated_at = 1.0, actor, utcnow(), utcnow()
    link.reason = "confirmed by a person"
    return link
