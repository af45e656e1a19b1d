"""The portfolio: CRM accounts with their current score, filters, sort, search, band totals, sparklines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.readmodels.common import CRM_VENDORS
from connector.readmodels.customers import former_customer_ids
from connector.readmodels.drivers import COUNTED_METRICS, sentiment_counts, with_counts
from connector.store import models as m
from connector.store.chunks import chunks

# Column → the direction a first click sorts in (what people look for first: worst score, biggest ARR,
# soonest renewal, sharpest drop). A second click flips it; "-col" is descending, "col" ascending.
COLUMNS: dict[str, bool] = {
    "name": False,
    "band": False,
    "score": False,
    "trend": False,
    "confidence": False,
    "segment": False,
    "owner": False,
    "arr": True,
    "renewal": False,
}
SORTS: dict[str, tuple[str, bool]] = {
    **{col: (col, False) for col in COLUMNS},
    **{f"-{col}": (col, True) for col in COLUMNS},
}
# The window both the sparkline and the trend number cover (they must agree, see issue 13).
TREND_DAYS = 30
BAND_RANK = {"red": 0, "yellow": 1, "green": 2}


def first_click(column: str) -> str:
    """The sort key a click on an unsorted column asks for."""
    return f"-{column}" if COLUMNS.get(column) else column


def toggled(column: str, current: str) -> str:
    """The sort key a click on `column` asks for when the page is sorted by `current`."""
    if current == column:
        return f"-{column}"
    if current == f"-{column}":
        return column
    return first_click(column)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRow:
    id: int
    vendor: str
    external_id: str
    name: str
    segment: str | None
    owner: str | None
    owner_email: str | None = None
    arr: Decimal | None
    renewal_date: date | None
    score: float | None
    band: str | None
    trend_30d: float | None
    confidence: float | None
    as_of: datetime | None
    drivers: list[Any] = field(default_factory=list)
    former: bool = False


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
    owners: list[str] = field(default_factory=list)
    former: int = 0  # former customers hidden by the default filter (of those the other filters leave)
    unscored_former: int = 0  # of `unscored`, former customers (never scored: not waiting for data)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _base(tenant_id: int) -> tuple[Any, Any]:
    """The tenant's live CRM accounts with their current score, from current_scores alone (narrow: score,
    band, trend, confidence). The wide snapshot row (drivers) is read for the shown page only
    (`_drivers`): counting, totalling and sorting 10k accounts through the snapshots cost a primary-key
    lookup into score_snapshots per account, three times per page."""
    cur = m.CurrentScore
    stmt = (
        select(m.Account, cur.score, cur.band, cur.trend_30d, cur.confidence, cur.as_of, cur.snapshot_id)
        .outerjoin(cur, and_(cur.account_id == m.Account.id, cur.tenant_id == tenant_id))
        .where(
            m.Account.tenant_id == tenant_id,
            m.Account.vendor.in_(CRM_VENDORS),
            m.Account.deleted_at.is_(None),
        )
    )
    return stmt, cur


def _drivers(session: Session, snapshot_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Snapshot id → its drivers, for the page's rows (in chunks: an export asks for every account)."""
    out: dict[int, list[Any]] = {}
    snap = m.ScoreSnapshot
    for chunk in chunks(snapshot_ids):
        found = session.execute(select(snap.id, snap.drivers).where(snap.id.in_(chunk)))
        out.update({sid: list(drivers or []) for sid, drivers in found})
    return out


def owner_match(emails: Sequence[str], names: Sequence[str] = ()) -> Any:
    """Accounts owned by a person, matched by the CRM owner's e-mail (or name when the CRM sends no e-mail)."""
    conds = [func.lower(m.Account.owner_email) == e.strip().lower() for e in emails if e.strip()]
    conds += [func.lower(m.Account.owner) == n.strip().lower() for n in names if n.strip()]
    return or_(*conds) if conds else m.Account.id.is_(None)


def portfolio(
    session: Session,
    tenant_id: int,
    *,
    band: str | None = None,
    segment: str | None = None,
    owner: str | None = None,
    mine: Any = None,
    customers: str = "current",
    q: str | None = None,
    sort: str = "score",
    page: int = 1,
    per_page: int | None = 50,
    today: date | None = None,
) -> Portfolio:
    """One page of the tenant's CRM accounts (all of them with per_page=None, for exports).

    Totals per band ignore the band filter (they are the tabs). `customers` is "current" (default: former
    customers hidden), "former" or "all"; `mine` is an extra SQL condition (a rep's own accounts).
    """
    stmt, latest = _base(tenant_id)
    today = today or tenant_now(session, tenant_id).date()
    former_ids = former_customer_ids(session, tenant_id, today)
    filters: list[Any] = []
    if segment:
        filters.append(m.Account.segment == segment)
    if owner:
        filters.append(m.Account.owner == owner)
    if mine is not None:
        filters.append(mine)
    if q:
        like = f"%{q.strip().lower()}%"
        filters.append(or_(func.lower(m.Account.name).like(like), m.Account.external_id == q.strip()))
    others = list(filters)  # every filter but the customers one
    if customers == "current" and former_ids:
        filters.append(m.Account.id.not_in(former_ids))
    elif customers == "former":
        filters.append(m.Account.id.in_(former_ids or {-1}))
    band_filter = []
    if band == "unscored":
        band_filter.append(latest.band.is_(None))
    elif band:
        band_filter.append(latest.band == band)
    stmt = stmt.where(*filters, *band_filter)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column_name, desc = SORTS.get(sort, SORTS["score"])
    column = {
        "score": latest.score,
        "name": func.lower(m.Account.name),
        "arr": m.Account.arr,
        "renewal": m.Account.renewal_date,
        "trend": latest.trend_30d,
        "confidence": latest.confidence,
        "segment": m.Account.segment,
        "owner": func.lower(m.Account.owner),
        "band": case(BAND_RANK, value=latest.band, else_=len(BAND_RANK)),
    }[column_name]
    order = column.desc().nulls_last() if desc else column.asc().nulls_last()
    # Ties break by score (worst first), then name: a stable, meaningful order inside a band or segment.
    stmt = stmt.order_by(order, latest.score.asc().nulls_last(), func.lower(m.Account.name), m.Account.id)
    page = max(1, page)
    if per_page is not None:
        stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    found = session.execute(stmt).all()
    drivers = _drivers(session, [sid for *_, sid in found if sid is not None])
    rows = [
        PortfolioRow(
            id=acc.id,
            vendor=acc.vendor,
            external_id=acc.external_id,
            name=acc.name,
            segment=acc.segment,
            owner=acc.owner,
            owner_email=acc.owner_email,
            arr=acc.arr,
            renewal_date=acc.renewal_date,
            score=score,
            band=band_,
            trend_30d=trend,
            confidence=conf,
            as_of=as_of,
            drivers=drivers.get(sid, []) if sid is not None else [],
            former=acc.id in former_ids,
        )
        for acc, score, band_, trend, conf, as_of, sid in found
    ]
    counts = sentiment_counts(
        session, tenant_id, {r.id: r.as_of for r in rows if r.as_of and _counted(r.drivers)}
    )
    rows = [
        replace(r, drivers=with_counts(r.drivers, counts.get(r.id))) if r.id in counts else r for r in rows
    ]
    bands, unscored = _band_totals(session, tenant_id, filters)
    unscored_former = 0
    former_shown = 0  # the former customers the other filters leave (the "N hidden (show)" link's list)
    if former_ids and customers == "current":
        hidden, _ = _base(tenant_id)
        hidden = hidden.where(*others, *band_filter, m.Account.id.in_(former_ids))
        former_shown = session.scalar(select(func.count()).select_from(hidden.subquery())) or 0
    if unscored and former_ids and customers != "current":
        _, unscored_former = _band_totals(session, tenant_id, [*filters, m.Account.id.in_(former_ids)])
    return Portfolio(
        rows=rows,
        total=total,
        page=page,
        per_page=per_page or max(1, total),
        bands=bands,
        unscored=unscored,
        segments=_distinct(session, tenant_id, m.Account.segment),
        owners=_distinct(session, tenant_id, m.Account.owner),
        former=former_shown,
        unscored_former=unscored_former,
    )


def _counted(drivers: list[Any]) -> bool:
    return any(isinstance(d, dict) and d.get("metric") in COUNTED_METRICS for d in drivers[:3])


def _distinct(session: Session, tenant_id: int, column: Any) -> list[str]:
    return [
        s
        for s in session.scalars(
            select(column)
            .where(
                m.Account.tenant_id == tenant_id,
                m.Account.vendor.in_(CRM_VENDORS),
                m.Account.deleted_at.is_(None),
                column.is_not(None),
            )
            .distinct()
            .order_by(column)
        )
        if s
    ]


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
    session: Session,
    tenant_id: int,
    account_ids: list[int],
    days: int = TREND_DAYS,
    now: datetime | None = None,
) -> dict[int, list[float]]:
    """Scores per account over the `days` before its newest snapshot, oldest first (one value per snapshot).

    The window ends at each account's newest snapshot, like `trend_30d`, so the line and the number beside
    it describe the same period (`now` caps the window's end when given).
    """
    if not account_ids:
        return {}
    # Each account's newest snapshot time from current_scores (one row each), not a max over its history.
    newest = dict(
        session.execute(
            select(m.CurrentScore.account_id, m.CurrentScore.as_of).where(
                m.CurrentScore.tenant_id == tenant_id, m.CurrentScore.account_id.in_(account_ids)
            )
        ).all()
    )
    if not newest:
        return {}
    earliest = min(newest.values()) - timedelta(days=days)
    snap = m.ScoreSnapshot
    window = and_(snap.tenant_id == tenant_id, snap.account_id.in_(account_ids), snap.as_of >= earliest)
    stmt = select(snap.account_id, snap.as_of, snap.score).where(window)
    points = session.scalar(select(func.count()).select_from(snap).where(window)) or 0
    if points > 2 * (days + 1) * len(account_ids):
        # A scheduler every 15 minutes leaves ~3,000 snapshots per account in 30 days, for a line 96 pixels
        # wide: draw each day's last score instead of fetching every snapshot (the page's main cost).
        pg = session.get_bind().dialect.name == "postgresql"
        day = func.date(func.timezone("UTC", snap.as_of)) if pg else func.date(snap.as_of)
        last = (
            select(snap.account_id.label("account_id"), func.max(snap.as_of).label("at"))
            .where(window)
            .group_by(snap.account_id, day)
            .subquery()
        )
        stmt = stmt.join(last, and_(last.c.account_id == snap.account_id, last.c.at == snap.as_of))
    result = session.execute(stmt.order_by(snap.account_id, snap.as_of))
    series: dict[int, list[float]] = defaultdict(list)
    for account_id, as_of, score in result:
        end = newest[account_id] if now is None else min(newest[account_id], _aware_like(now, as_of))
        if end - timedelta(days=days) <= as_of <= end:
            series[account_id].append(float(score))
    return dict(series)


def _aware_like(value: datetime, like: datetime) -> datetime:
    """SQLite hands back naive datetimes; compare like with like."""
    if like.tzinfo is None and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value
