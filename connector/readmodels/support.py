"""Support views: sentiment over time, the most negative open tickets, by organization and by agent group."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from connector.readmodels.rows import TicketRow, ticket_row
from connector.store import models as m

CLOSED_STATUSES = ("solved", "closed", "deleted")


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekPoint:
    week: str  # ISO date of the Monday
    tickets: int
    average: float | None
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRow:
    key: str
    account_id: int | None
    tickets: int
    negative: int
    average: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SentimentOverview:
    weeks: list[WeekPoint] = field(default_factory=list)
    worst_open: list[TicketRow] = field(default_factory=list)
    by_organization: list[GroupRow] = field(default_factory=list)
    by_group: list[GroupRow] = field(default_factory=list)
    scored: int = 0
    total: int = 0


def sentiment_overview(
    session: Session, tenant_id: int, days: int = 182, now: datetime | None = None
) -> SentimentOverview:
    """The support-sentiment page; only tickets the sentiment step has labelled count toward averages."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    live = (
        m.Ticket.tenant_id == tenant_id,
        m.Ticket.deleted_at.is_(None),
        m.Ticket.vendor_created_at >= since,
    )
    rows = session.execute(
        select(m.Ticket.vendor_created_at, m.Ticket.sentiment_label, m.Ticket.sentiment_score).where(*live)
    ).all()
    buckets: dict[str, list[tuple[str | None, float | None]]] = defaultdict(list)
    for created, label, score in rows:
        monday = (created - timedelta(days=created.weekday())).date().isoformat()
        buckets[monday].append((label, score))
    weeks = [_week(week, items) for week, items in sorted(buckets.items())]
    worst = session.execute(
        select(m.Ticket, m.Account.name)
        .outerjoin(m.Account, m.Account.id == m.Ticket.crm_account_id)
        .where(
            m.Ticket.tenant_id == tenant_id,
            m.Ticket.deleted_at.is_(None),
            m.Ticket.status.not_in(CLOSED_STATUSES),
            m.Ticket.sentiment_label == "negative",
        )
        .order_by(m.Ticket.sentiment_score.asc(), m.Ticket.vendor_created_at.desc())
        .limit(15)
    )
    return SentimentOverview(
        weeks=weeks,
        worst_open=[ticket_row(t, name) for t, name in worst],
        by_organization=_by_org(session, live),
        by_group=_by_group(session, live),
        scored=sum(1 for _c, label, _s in rows if label),
        total=len(rows),
    )


def _week(week: str, items: list[tuple[str | None, float | None]]) -> WeekPoint:
    scores = [s for _label, s in items if s is not None]
    return WeekPoint(
        week=week,
        tickets=len(items),
        average=round(sum(scores) / len(scores), 3) if scores else None,
        negative=sum(1 for label, _ in items if label == "negative"),
        neutral=sum(1 for label, _ in items if label == "neutral"),
        positive=sum(1 for label, _ in items if label == "positive"),
    )


def _negative() -> Any:
    return func.sum(case((m.Ticket.sentiment_label == "negative", 1), else_=0))


def _by_org(session: Session, live: tuple[object, ...]) -> list[GroupRow]:
    result = session.execute(
        select(
            m.Account.name,
            m.Account.id,
            func.count(m.Ticket.id),
            _negative(),
            func.avg(m.Ticket.sentiment_score),
        )
        .join(m.Account, m.Account.id == m.Ticket.crm_account_id)
        .where(*live)  # type: ignore[arg-type]
        .group_by(m.Account.id, m.Account.name)
        .order_by(_negative().desc(), func.avg(m.Ticket.sentiment_score).asc().nulls_last())
        .limit(15)
    )
    return [
        GroupRow(
            key=name,
            account_id=aid,
            tickets=int(n),
            negative=int(neg or 0),
            average=round(float(avg), 3) if avg is not None else None,
        )
        for name, aid, n, neg, avg in result
    ]


def _by_group(session: Session, live: tuple[object, ...]) -> list[GroupRow]:
    result = session.execute(
        select(m.Ticket.group_name, func.count(m.Ticket.id), _negative(), func.avg(m.Ticket.sentiment_score))
        .where(*live, m.Ticket.group_name.is_not(None))  # type: ignore[arg-type]
        .group_by(m.Ticket.group_name)
        .order_by(func.avg(m.Ticket.sentiment_score).asc().nulls_last())
    )
    return [
        GroupRow(
            key=name,
            account_id=None,
            tickets=int(n),
            negative=int(neg or 0),
            average=round(float(avg), 3) if avg is not None else None,
        )
        for name, n, neg, avg in result
    ]


def tickets(
    session: Session,
    tenant_id: int,
    *,
    vendor: str | None = None,
    status: str | None = None,
    label: str | None = None,
    account_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[TicketRow]:
    """Tickets newest id first, keyset-paginated by id (`after_id` = the last id of the previous page)."""
    stmt = select(m.Ticket).where(m.Ticket.tenant_id == tenant_id, m.Ticket.deleted_at.is_(None))
    if vendor:
        stmt = stmt.where(m.Ticket.vendor == vendor)
    if status:
        stmt = stmt.where(m.Ticket.status == status)
    if label:
        stmt = stmt.where(m.Ticket.sentiment_label == label)
    if account_id is not None:
        stmt = stmt.where(m.Ticket.crm_account_id == account_id)
    if after_id is not None:
        stmt = stmt.where(m.Ticket.id < after_id)
    return [ticket_row(t) for t in session.scalars(stmt.order_by(m.Ticket.id.desc()).limit(limit))]


def ticket(session: Session, tenant_id: int, vendor: str, external_id: str) -> TicketRow | None:
    t = session.scalar(
        select(m.Ticket).where(
            m.Ticket.tenant_id == tenant_id, m.Ticket.vendor == vendor, m.Ticket.external_id == external_id
        )
    )
    return ticket_row(t) if t is not None else None
