"""The support lead's workbench: every ticket (Zendesk, Salesforce cases, HubSpot tickets) with filters,
search, paging, totals that add up, and sentiment over time per agent group."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from connector.readmodels.rows import TicketRow, ticket_bases, ticket_row
from connector.store import models as m

LABELS = ("negative", "neutral", "positive")
NO_GROUP = "(no group)"  # CRM cases and HubSpot tickets have no help-desk group: still counted
UTC_MIDNIGHT = time(0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFilters:
    start: date
    end: date  # inclusive
    group: str | None = None
    priority: str | None = None
    status: str | None = None
    band: str | None = None
    sentiment: str | None = None  # negative|neutral|positive|unscored
    vendor: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupTotal:
    group: str
    tickets: int
    negative: int
    neutral: int
    positive: int
    unscored: int
    average: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workbench:
    rows: list[TicketRow]
    bands: dict[int, str]  # crm account id → band, for the rows' accounts
    total: int
    page: int
    per_page: int
    by_label: dict[str, int]  # negative, neutral, positive, unscored: sums to total
    by_group: list[GroupTotal]  # sums to total (tickets without a group under NO_GROUP)
    weeks: list[str] = field(default_factory=list)
    group_series: dict[str, list[float | None]] = field(default_factory=dict)  # weekly average per group
    groups: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _conditions(tenant_id: int, f: TicketFilters, band: Any) -> list[Any]:
    start = datetime.combine(f.start, UTC_MIDNIGHT)
    end = datetime.combine(f.end + timedelta(days=1), UTC_MIDNIGHT)
    conds: list[Any] = [
        m.Ticket.tenant_id == tenant_id,
        m.Ticket.deleted_at.is_(None),
        m.Ticket.vendor_created_at >= start.replace(tzinfo=UTC),
        m.Ticket.vendor_created_at < end.replace(tzinfo=UTC),
    ]
    if f.group == NO_GROUP:
        conds.append(m.Ticket.group_name.is_(None))
    elif f.group:
        conds.append(m.Ticket.group_name == f.group)
    if f.priority:
        conds.append(m.Ticket.priority == f.priority)
    if f.status:
        conds.append(m.Ticket.status == f.status)
    if f.vendor:
        conds.append(m.Ticket.vendor == f.vendor)
    if f.sentiment == "unscored":
        conds.append(m.Ticket.sentiment_label.is_(None))
    elif f.sentiment:
        conds.append(m.Ticket.sentiment_label == f.sentiment)
    if f.band == "unscored":
        conds.append(band.is_(None))
    elif f.band:
        conds.append(band == f.band)
    if f.q:
        like = f"%{f.q.strip().lower()}%"
        conds.append(
            or_(
                func.lower(m.Ticket.subject).like(like),
                func.lower(func.coalesce(m.Ticket.sentiment_excerpt, "")).like(like),
                func.lower(func.coalesce(m.Account.name, "")).like(like),
                m.Ticket.external_id == f.q.strip(),
                m.Ticket.number == f.q.strip(),
            )
        )
    return conds


def workbench(
    session: Session, tenant_id: int, f: TicketFilters, *, page: int = 1, per_page: int | None = 50
) -> Workbench:
    # Each ticket's account band through current_scores' primary key (one index lookup per ticket), not a
    # join against every account's current snapshot.
    current = (
        select(m.CurrentScore.account_id, m.ScoreSnapshot.band)
        .join(m.ScoreSnapshot, m.ScoreSnapshot.id == m.CurrentScore.snapshot_id)
        .where(m.CurrentScore.tenant_id == tenant_id)
        .subquery("current")
    )
    conds = _conditions(tenant_id, f, current.c.band)
    base = (
        select(m.Ticket, m.Account.name, current.c.band)
        .outerjoin(m.Account, m.Account.id == m.Ticket.crm_account_id)
        .outerjoin(current, current.c.account_id == m.Ticket.crm_account_id)
        .where(*conds)
    )
    # The counts join only what the filters read (the joins are to at most one row per ticket).
    counted = select(m.Ticket.id)
    if f.q:
        counted = counted.outerjoin(m.Account, m.Account.id == m.Ticket.crm_account_id)
    if f.band:
        counted = counted.outerjoin(current, current.c.account_id == m.Ticket.crm_account_id)
    facts = _facts(session, counted.where(*conds))
    total = sum(n for *_, n, _s, _c in facts)
    stmt = base.order_by(m.Ticket.vendor_created_at.desc(), m.Ticket.id.desc())
    page = max(1, page)
    if per_page is not None:
        stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    bases = ticket_bases(session, tenant_id)
    rows: list[TicketRow] = []
    bands: dict[int, str] = {}
    for t, name, band in session.execute(stmt):
        rows.append(ticket_row(t, name, bases))
        if t.crm_account_id is not None and band:
            bands[t.crm_account_id] = band
    by_label = {label: 0 for label in (*LABELS, "unscored")}
    groups: dict[str, list[Any]] = defaultdict(list)
    weekly: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for group, label, day, n, score_sum, scored in facts:
        by_label[label if label in LABELS else "unscored"] += n
        key = group or NO_GROUP
        groups[key].append((label, n, score_sum, scored))
        if scored:
            monday = (day - timedelta(days=day.weekday())).isoformat()
            weekly[key][monday][0] += score_sum
            weekly[key][monday][1] += scored
    by_group = sorted(
        (_group_total(g, items) for g, items in groups.items()),
        key=lambda g: (-(g.negative / g.tickets if g.tickets else 0), g.group),
    )
    weeks = sorted({w for series in weekly.values() for w in series})
    top = [g.group for g in sorted(by_group, key=lambda g: -g.tickets)[:6]]
    series = {g: [round(v[0] / v[1], 3) if (v := weekly[g].get(w)) else None for w in weeks] for g in top}
    return Workbench(
        rows=rows,
        bands=bands,
        total=total,
        page=page,
        per_page=per_page or max(1, total),
        by_label=by_label,
        by_group=by_group,
        weeks=weeks,
        group_series=series,
        **_options(session, tenant_id),
    )


def _facts(session: Session, base: Any) -> list[tuple[str | None, str | None, date, int, float, int]]:
    """(group, label, UTC day, tickets, sum of scores, scored tickets) over the filtered tickets, counted
    by the database: at 10k accounts a 90-day range is ~200k tickets, which the page used to fetch."""
    created = m.Ticket.vendor_created_at
    pg = session.get_bind().dialect.name == "postgresql"
    day = func.date(func.timezone("UTC", created)) if pg else func.date(created)  # SQLite stores UTC
    if pg:
        # ~65k rows at 10k accounts: at the default 4 MB the grouping sorted on disk (~100 ms); this
        # transaction (one page view) may use more memory for it.
        session.execute(text("SET LOCAL work_mem = '32MB'"))
    sub = base.with_only_columns(
        m.Ticket.group_name.label("g"), m.Ticket.sentiment_label.label("l"), m.Ticket.sentiment_score.label("s"),
        day.label("d"),
    ).subquery()  # fmt: skip
    rows = session.execute(
        select(sub.c.g, sub.c.l, sub.c.d, func.count(), func.sum(sub.c.s), func.count(sub.c.s)).group_by(
            sub.c.g, sub.c.l, sub.c.d
        )
    )
    return [
        (g, label, d if isinstance(d, date) else date.fromisoformat(str(d)), n, float(total or 0.0), scored)
        for g, label, d, n, total, scored in rows
    ]


def _group_total(group: str, items: list[Any]) -> GroupTotal:
    count = sum(n for _l, n, _s, _c in items)
    scored = sum(c for _l, _n, _s, c in items)
    return GroupTotal(
        group=group,
        tickets=count,
        negative=sum(n for label, n, _s, _c in items if label == "negative"),
        neutral=sum(n for label, n, _s, _c in items if label == "neutral"),
        positive=sum(n for label, n, _s, _c in items if label == "positive"),
        unscored=sum(n for label, n, _s, _c in items if label not in LABELS),
        average=round(sum(s for _l, _n, s, _c in items) / scored, 3) if scored else None,
    )


def _options(session: Session, tenant_id: int) -> dict[str, list[str]]:
    """The filters' choices: one scan for the distinct combinations (a few hundred rows), not one
    DISTINCT scan of the tenant's tickets per filter."""
    combos = session.execute(
        select(m.Ticket.group_name, m.Ticket.priority, m.Ticket.status, m.Ticket.vendor)
        .where(m.Ticket.tenant_id == tenant_id, m.Ticket.deleted_at.is_(None))
        .distinct()
    ).all()

    def values(i: int) -> list[str]:
        return sorted({row[i] for row in combos if row[i]})

    return {"groups": values(0), "priorities": values(1), "statuses": values(2), "vendors": values(3)}
