"""The portfolio: CRM accounts with their current score, filters, sort, search, band totals, sparklines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from connector.readmodels.common import CRM_VENDORS, latest_snapshots
from connector.store import models as m

SORTS = {
    "score": ("score", False),
    "-score": ("score", True),
    "name": ("name", False),
    "-arr": ("arr", True),
    "arr": ("arr", False),
    "renewal": ("renewal", False),
    "trend": ("trend", False),
    "-trend": ("trend", True),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRow:
    id: int
    vendor: str
    external_id: str
    name: str
    segment: str | None
    arr: Decimal | None
    renewal_date: date | None
    score: float | None
    band: str | None
    trend_30d: float | None
    confidence: float | None
    as_of: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BandSummary:
    band: str
    count: int
    arr: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Portfolio:
    rows: list[PortfolioRow]
    total: int
    page: int
    per_page: int
    bands: list[BandSummary]
    unscored: int
    segments: list[str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _base(tenant_id: int) -> tuple[Any, Any]:
    latest = latest_snapshots(tenant_id)
    stmt = (
        select(
            m.Account,
            latest.c.score,
            latest.c.band,
            latest.c.trend_30d,
            latest.c.confidence,
            latest.c.as_of,
        )
        .outerjoin(latest, latest.c.account_id == m.Account.id)
        .where(
            m.Account.tenant_id == tenant_id,
            m.Account.vendor.in_(CRM_VENDORS),
            m.Account.deleted_at.is_(None),
        )
    )
    return stmt, latest


def portfolio(
    session: Session,
    tenant_id: int,
    *,
    band: str | None = None,
    segment: str | None = None,
    q: str | None = None,
    sort: str = "score",
    page: int = 1,
    per_page: int = 50,
) -> Portfolio:
    """One page of the tenant's CRM accounts; totals per band ignore the band filter (they are the tabs)."""
    stmt, latest = _base(tenant_id)
    filters = []
    if segment:
        filters.append(m.Account.segment == segment)
    if q:
        like = f"%{q.strip().lower()}%"
        filters.append(or_(func.lower(m.Account.name).like(like), m.Account.external_id == q.strip()))
    band_filter = []
    if band == "unscored":
        band_filter.append(latest.c.band.is_(None))
    elif band:
        band_filter.append(latest.c.band == band)
    stmt = stmt.where(*filters, *band_filter)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column_name, desc = SORTS.get(sort, SORTS["score"])
    column = {
        "score": latest.c.score,
        "name": func.lower(m.Account.name),
        "arr": m.Account.arr,
        "renewal": m.Account.renewal_date,
        "trend": latest.c.trend_30d,
    }[column_name]
    order = column.desc().nulls_last() if desc else column.asc().nulls_last()
    page = max(1, page)
    result = session.execute(stmt.order_by(order, m.Account.id).limit(per_page).offset((page - 1) * per_page))
    rows = [
        PortfolioRow(
            id=acc.id,
            vendor=acc.vendor,
            external_id=acc.external_id,
            name=acc.name,
            segment=acc.segment,
            arr=acc.arr,
            renewal_date=acc.renewal_date,
            score=score,
            band=band_,
            trend_30d=trend,
            confidence=conf,
            as_of=as_of,
        )
        for acc, score, band_, trend, conf, as_of in result
    ]
    bands, unscored = _band_totals(session, tenant_id, filters)
    segments = [
        s
        for s in session.scalars(
            select(m.Account.segment)
            .where(
                m.Account.tenant_id == tenant_id,
                m.Account.vendor.in_(CRM_VENDORS),
                m.Account.segment.is_not(None),
            )
            .distinct()
            .order_by(m.Account.segment)
        )
        if s
    ]
    return Portfolio(
        rows=rows,
        total=total,
        page=page,
        per_page=per_page,
        bands=bands,
        unscored=unscored,
        segments=segments,
    )


def _band_totals(session: Session, tenant_id: int, filters: Sequence[Any]) -> tuple[list[BandSummary], int]:
    stmt, _latest = _base(tenant_id)
    inner = stmt.where(*filters).subquery()
    result = session.execute(
        select(inner.c.band, func.count(), func.coalesce(func.sum(inner.c.arr), 0)).group_by(inner.c.band)
    )
    bands: list[BandSummary] = []
    unscored = 0
    for band, count, arr in result:
        if band is None:
            unscored = int(count)
        else:
            bands.append(BandSummary(band=band, count=int(count), arr=Decimal(str(arr))))
    return bands, unscored


def sparklines(
    session: Session, tenant_id: int, account_ids: list[int], days: int = 90, now: datetime | None = None
) -> dict[int, list[float]]:
    """Recent scores per account, oldest first (one value per snapshot)."""
    if not account_ids:
        return {}
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    result = session.execute(
        select(m.ScoreSnapshot.account_id, m.ScoreSnapshot.score)
        .where(
            and_(
                m.ScoreSnapshot.tenant_id == tenant_id,
                m.ScoreSnapshot.account_id.in_(account_ids),
                m.ScoreSnapshot.as_of >= since,
            )
        )
        .order_by(m.ScoreSnapshot.account_id, m.ScoreSnapshot.as_of)
    )
    series: dict[int, list[float]] = defaultdict(list)
    for account_id, score in result:
        series[account_id].append(float(score))
    return dict(series)
