"""Review queue candidates: for each unmatched help-desk organization, the CRM accounts it most likely is,
each with a reason a person can check and a confidence; and the decisions made lately (to undo)."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from connector.pipeline.matching import FREE_MAIL, normalise_domain, normalise_name
from connector.readmodels.common import CRM_VENDORS
from connector.store import models as m

DEFAULT_THRESHOLD = 0.6  # below it nothing is preselected: a person picks
PER_ROW = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    account_id: int
    name: str
    vendor: str
    external_id: str
    domains: tuple[str, ...]
    confidence: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    source_id: int
    source_name: str
    crm_account_id: int | None
    crm_name: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Crm:
    id: int
    name: str
    norm: str
    vendor: str
    external_id: str
    domains: tuple[str, ...]


def _crm_accounts(session: Session, tenant_id: int) -> list[_Crm]:
    return [
        _Crm(a.id, a.name, normalise_name(a.name), a.vendor, a.external_id, tuple(a.domains or ()))
        for a in session.scalars(
            select(m.Account).where(
                m.Account.tenant_id == tenant_id,
                m.Account.vendor.in_(CRM_VENDORS),
                m.Account.deleted_at.is_(None),
            )
        )
    ]


def candidates(
    session: Session,
    tenant_id: int,
    orgs: Sequence[tuple[int, str, Sequence[str]]],
    *,
    search: dict[int, str] | None = None,
) -> dict[int, list[Candidate]]:
    """Per organization id (id, name, domains): up to PER_ROW CRM accounts, most likely first.

    A shared e-mail/web domain is strong evidence (0.9, or less when several accounts share it); a name
    scores by similarity of the normalised names. `search` maps an organization id to the text a person
    typed for that row only: then the accounts whose name contains it, scored the same way.
    """
    crm = _crm_accounts(session, tenant_id)
    by_domain: dict[str, list[_Crm]] = defaultdict(list)
    by_word: dict[str, list[_Crm]] = defaultdict(list)
    for c in crm:
        for d in c.domains:
            by_domain[normalise_domain(d)].append(c)
        for w in set(c.norm.split()):
            by_word[w].append(c)
    out: dict[int, list[Candidate]] = {}
    for org_id, name, domains in orgs:
        norm = normalise_name(name)
        typed = (search or {}).get(org_id)
        if typed:
            needle = typed.strip().lower()
            pool = {c.id: c for c in crm if needle in c.name.lower()}
        else:
            pool = {c.id: c for w in set(norm.split()) for c in by_word.get(w, [])}
        scored: dict[int, tuple[float, str]] = {}
        for d in domains:
            nd = normalise_domain(d)
            owners = by_domain.get(nd, [])
            if not owners or nd in FREE_MAIL:
                continue
            for c in owners:
                conf = 0.9 if len(owners) == 1 else 0.5
                why = f"same domain {nd}" + (
                    "" if len(owners) == 1 else f" (shared by {len(owners)} accounts)"
                )
                scored[c.id] = max(scored.get(c.id, (0.0, "")), (conf, why))
                pool[c.id] = c
        for c in pool.values():
            ratio = difflib.SequenceMatcher(None, norm, c.norm).ratio() if norm and c.norm else 0.0
            conf = round(0.85 * ratio, 2) if ratio < 1 else 0.8
            why = "same name" if ratio == 1 else f"name {round(ratio * 100)} % similar"
            if typed and conf < 0.3:
                conf, why = 0.3, f"name contains “{typed.strip()}”"
            if c.id not in scored or scored[c.id][0] < conf:
                scored[c.id] = (conf, why)
        best = sorted(scored.items(), key=lambda kv: (-kv[1][0], pool[kv[0]].name))[
            : PER_ROW if not typed else 10
        ]
        out[org_id] = [
            Candidate(
                account_id=cid,
                name=pool[cid].name,
                vendor=pool[cid].vendor,
                external_id=pool[cid].external_id,
                domains=pool[cid].domains,
                confidence=conf,
                reason=why,
            )
            for cid, (conf, why) in best
            if conf > 0 or typed
        ]
    return out


def recent_decisions(session: Session, tenant_id: int, limit: int = 10) -> list[Decision]:
    """The latest decisions people made on links (what the Undo buttons offer)."""
    src, crm = aliased(m.Account), aliased(m.Account)
    rows = session.execute(
        select(m.AccountLink, src.name, crm.name)
        .join(src, src.id == m.AccountLink.source_account_id)
        .outerjoin(crm, crm.id == m.AccountLink.crm_account_id)
        .where(
            m.AccountLink.tenant_id == tenant_id,
            m.AccountLink.status == "confirmed",
            m.AccountLink.confirmed_at.is_not(None),
        )
        .order_by(m.AccountLink.confirmed_at.desc(), m.AccountLink.id.desc())
        .limit(limit)
    )
    return [
        Decision(
            source_id=link.source_account_id,
            source_name=sname,
            crm_account_id=link.crm_account_id,
            crm_name=cname,
            confirmed_by=link.confirmed_by,
            confirmed_at=link.confirmed_at,
        )
        for link, sname, cname in rows
    ]


def queue_size(session: Session, tenant_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(m.AccountLink.tenant_id == tenant_id, m.AccountLink.status == "review")
        )
        or 0
    )
