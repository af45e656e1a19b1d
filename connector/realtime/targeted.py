"""What a targeted refresh touches: the records its sync stored, the tickets they re-link, the CRM
accounts they belong to, and the peer distribution those accounts are ranked against.

A refresh should cost what one account costs, whatever the size of the tenant (issue 17: at 500 accounts
a one-ticket refresh spent ~1.1 s scoring the whole book). So every query here is keyed by the records
the sync brought (`connector.store.repo.TOUCHED`), never by the tenant alone, with two exceptions that
are said where they happen: a really changed CRM account or organization re-runs the whole link step
(matching may move for other organizations too), and the peer distribution is read once per pass.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from connector.pipeline.link import crm_vendor, link_tenant
from connector.pipeline.matching import Candidate, Index, match_email
from connector.store import models as m
from integrations.registry import CRM_VENDORS
from scoring.config import load_model
from scoring.engine import PercentileReference, percentile_reference
from scoring.model import ScoringModel

REFERENCE_MAX_AGE_S = 900.0  # a tenant without passes (paused schedule) still gets a fresh one


@dataclass(slots=True)
class Touched:
    """The records one sync stored, by kind (each a set of keys the store's indexes answer)."""

    tickets: set[tuple[str, str]] = field(default_factory=set)  # (vendor, external id), comments' too
    accounts: set[tuple[str, str]] = field(default_factory=set)  # really changed accounts/organizations
    account_exts: set[str] = field(default_factory=set)  # CRM account ids named by deals/contacts/surveys
    survey_tickets: set[str] = field(default_factory=set)  # tickets a survey answer is about

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]]) -> Touched:
        out = cls()
        for row in rows:
            table, vendor = row["table"], row["vendor"]
            if table == "tickets":
                out.tickets.add((vendor, row["external_id"]))
            elif table == "ticket_comments" and row.get("ticket_external_id"):
                out.tickets.add((vendor, row["ticket_external_id"]))
            elif table == "accounts":
                out.accounts.add((vendor, row["external_id"]))
            elif row.get("account_external_id"):  # deals, contacts, survey responses
                out.account_exts.add(row["account_external_id"])
            if table == "survey_responses" and row.get("ticket_external_id"):
                out.survey_tickets.add(row["ticket_external_id"])
        return out


@dataclass(slots=True)
class LinkOutcome:
    full: bool = False  # the whole link step ran (an account or organization changed)
    tickets: int = 0
    relinked: int = 0


def link(session: Session, tenant_id: int, touched: Touched) -> LinkOutcome:
    """Re-link what the sync brought. Only tickets changed: resolve those tickets alone (their CRM
    account, their organization's link, or their requester's domain). A CRM account or organization
    really changed: the whole link step, since a new name or domain can move other organizations."""
    if touched.accounts:
        link_tenant(session, tenant_id)
        return LinkOutcome(full=True)
    crm = crm_vendor(session, tenant_id)
    out = LinkOutcome()
    if crm is None or not touched.tickets:
        return out
    tickets = session.execute(
        select(
            m.Ticket.id, m.Ticket.vendor, m.Ticket.account_external_id, m.Ticket.requester_email,
            m.Ticket.crm_account_id, m.Ticket.link_method,
        ).where(
            m.Ticket.tenant_id == tenant_id, m.Ticket.deleted_at.is_(None), _keys(m.Ticket, touched.tickets)
        )
    ).all()  # fmt: skip
    exts = {t.account_external_id for t in tickets if t.account_external_id}
    crm_ids = dict(
        session.execute(
            select(m.Account.external_id, m.Account.id).where(
                m.Account.tenant_id == tenant_id, m.Account.vendor == crm, m.Account.external_id.in_(exts),
                m.Account.deleted_at.is_(None),
            )
        ).all()
    )  # fmt: skip
    orgs = {
        (vendor, ext): (target, method)
        for vendor, ext, target, method in session.execute(
            select(m.Account.vendor, m.Account.external_id, m.AccountLink.crm_account_id, m.AccountLink.method)
            .join(m.AccountLink, m.AccountLink.source_account_id == m.Account.id)
            .where(
                m.Account.tenant_id == tenant_id, m.Account.vendor.not_in(CRM_VENDORS),
                m.Account.external_id.in_(exts), m.Account.deleted_at.is_(None),
            )
        )
    }  # fmt: skip
    index: Index | None = None
    for t in tickets:
        target, method = None, "unmatched"
        if t.vendor == crm:
            target = crm_ids.get(t.account_external_id or "")
            method = "native" if target is not None else "unmatched"
        elif (hit := orgs.get((t.vendor, t.account_external_id or ""))) and hit[0] is not None:
            target, method = hit[0], f"org:{hit[1]}"
        elif t.requester_email:
            # A ticket of no linked organization: its requester's domain. Only this case needs the
            # tenant's domain index (as the whole link step builds it), and only once per refresh.
            index = index or _index(session, tenant_id, crm)
            if (owner := match_email(t.requester_email, index)) is not None:
                target, method = owner, "requester_domain"
        out.tickets += 1
        if target != t.crm_account_id or method != t.link_method:
            session.execute(
                m.Ticket.__table__.update()
                .where(m.Ticket.__table__.c.id == t.id)
                .values(crm_account_id=target, link_method=method)
            )
            out.relinked += 1
    return out


def _index(session: Session, tenant_id: int, crm: str) -> Index:
    rows = session.execute(
        select(
            m.Account.id, m.Account.external_id, m.Account.name, m.Account.domains, m.Account.cross_ref
        ).where(m.Account.tenant_id == tenant_id, m.Account.vendor == crm, m.Account.deleted_at.is_(None))
    )
    return Index(Candidate(i, ext, name, tuple(doms or ()), xref) for i, ext, name, doms, xref in rows)


def _keys(table: Any, keys: Iterable[tuple[str, str]]) -> Any:
    by_vendor: dict[str, list[str]] = defaultdict(list)
    for vendor, ext in keys:
        by_vendor[vendor].append(ext)
    return or_(false(), *((table.vendor == v) & table.external_id.in_(e) for v, e in by_vendor.items()))


def accounts(session: Session, tenant_id: int, touched: Touched) -> set[int]:
    """The CRM accounts whose inputs the touched records may change (after linking)."""
    crm = crm_vendor(session, tenant_id)
    if crm is None:
        return set()
    out: set[int] = set()
    if touched.tickets:
        out |= set(
            session.scalars(
                select(m.Ticket.crm_account_id).where(
                    m.Ticket.tenant_id == tenant_id,
                    m.Ticket.crm_account_id.is_not(None),
                    _keys(m.Ticket, touched.tickets),
                )
            )
        )
    if touched.survey_tickets:  # a CSAT answer about a ticket counts for that ticket's account
        out |= set(
            session.scalars(
                select(m.Ticket.crm_account_id).where(
                    m.Ticket.tenant_id == tenant_id,
                    m.Ticket.crm_account_id.is_not(None),
                    m.Ticket.external_id.in_(touched.survey_tickets),
                )
            )
        )
    crm_exts = touched.account_exts | {ext for vendor, ext in touched.accounts if vendor == crm}
    if crm_exts:
        out |= set(
            session.scalars(
                select(m.Account.id).where(
                    m.Account.tenant_id == tenant_id,
                    m.Account.vendor == crm,
                    m.Account.external_id.in_(crm_exts),
                )
            )
        )
    orgs = [(v, e) for v, e in touched.accounts if v != crm]
    if orgs:  # a changed organization: the CRM account it is linked to
        out |= set(
            session.scalars(
                select(m.AccountLink.crm_account_id)
                .join(m.Account, m.Account.id == m.AccountLink.source_account_id)
                .where(m.AccountLink.tenant_id == tenant_id, m.AccountLink.crm_account_id.is_not(None), _keys(m.Account, orgs))
            )
        )  # fmt: skip
    return out


# ------------------------------------------------------------------ per-process caches

_lock = threading.Lock()
_models: dict[int, ScoringModel] = {}
_references: dict[tuple[str, int], tuple[tuple[Any, ...], float, PercentileReference]] = {}


def model(session: Session, tenant_id: int) -> ScoringModel | None:
    """The tenant's published model, parsed once per stored version (None: none stored yet)."""
    row = session.execute(
        select(m.ScoringModelVersion.id, m.ScoringModelVersion.yaml)
        .where(m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.status == "published")
        .order_by(m.ScoringModelVersion.published_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    with _lock:
        if row.id not in _models:
            _models[row.id] = load_model(row.yaml)
        return _models[row.id]


def reference(session: Session, tenant_id: int, scoring: ScoringModel) -> PercentileReference:
    """The peer distributions percentile metrics rank against: every account's current inputs (their
    newest snapshots), read once after each finished pass and kept (per process) until the next one.

    Scores are peer-relative; a full pass ranks the whole book in one batch. A refresh ranks its few
    accounts against this reference instead, so it costs what those accounts cost. Between passes the
    reference misses the refreshed accounts' own new values (1 of n each): the pass after corrects it.
    """
    url = str(session.get_bind().url)
    newest_pass = session.scalar(
        select(func.max(m.Run.id)).where(m.Run.tenant_id == tenant_id, m.Run.finished_at.is_not(None))
    )
    key = (scoring.version, newest_pass)
    with _lock:
        hit = _references.get((url, tenant_id))
    if hit is not None and hit[0] == key and time.monotonic() - hit[1] < REFERENCE_MAX_AGE_S:
        return hit[2]
    names = {s.name: i for i, s in enumerate(scoring.segments)}
    default = len(scoring.segments) - 1
    wanted = [s.name for s in scoring.metrics if s.normalise.method == "segment_percentile"]
    segs: list[int] = []
    cols: dict[str, list[float]] = {name: [] for name in wanted}
    for segment, metrics in session.execute(
        select(m.ScoreSnapshot.segment, m.ScoreSnapshot.metrics)
        .join(m.CurrentScore, m.CurrentScore.snapshot_id == m.ScoreSnapshot.id)
        .where(m.CurrentScore.tenant_id == tenant_id)
    ):
        segs.append(names.get(segment, default))
        for name in wanted:
            value = (metrics or {}).get(name)
            cols[name].append(float(value) if isinstance(value, int | float) else float("nan"))
    ref = percentile_reference(
        scoring, np.asarray(segs, dtype=np.intp), {k: np.asarray(v) for k, v in cols.items()}
    )
    with _lock:
        _references[(url, tenant_id)] = (key, time.monotonic(), ref)
    return ref
