"""One account: history, dimensions, drivers, tickets, surveys, deals, record links; lookups by vendor id."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.readmodels.common import CRM_VENDORS
from connector.readmodels.customers import former_customer_ids
from connector.readmodels.drivers import sentiment_counts, with_counts
from connector.readmodels.rows import (
    DealRow,
    HistoryPoint,
    RecordLink,
    SurveyRow,
    TicketRow,
    record_links,
    ticket_bases,
    ticket_row,
)
from connector.readmodels.usage import UsagePoint, usage_history
from connector.store import models as m

logger = logging.getLogger(__name__)

DEFAULT_BANDS: tuple[dict[str, Any], ...] = (
    {"name": "green", "min": 75.0, "colour": "#2e7d32"},
    {"name": "yellow", "min": 50.0, "colour": "#f9a825"},
    {"name": "red", "min": 0.0, "colour": "#c62828"},
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDetail:
    id: int
    vendor: str
    external_id: str
    name: str
    segment: str | None
    plan: str | None
    owner: str | None
    arr: Decimal | None
    renewal_date: Any
    score: float | None
    band: str | None
    band_since: datetime | None
    trend_30d: float | None
    sentiment_30d: float | None
    confidence: float | None
    recommended_action: str | None
    model_version: str | None
    as_of: datetime | None
    dimensions: dict[str, Any] = field(default_factory=dict)
    drivers: list[Any] = field(default_factory=list)
    history: list[HistoryPoint] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)
    surveys: list[SurveyRow] = field(default_factory=list)
    deals: list[DealRow] = field(default_factory=list)
    links: list[RecordLink] = field(default_factory=list)
    bands: list[dict[str, Any]] = field(default_factory=list)
    former: bool = False  # churned in the CRM or renewal lost: the scoring pass skips it
    usage: list[UsagePoint] = field(default_factory=list)  # seat usage from the CRM's field history


def band_thresholds(
    session: Session, tenant_id: int, account: m.Account | None = None
) -> list[dict[str, Any]]:
    """Bands (highest first) of the tenant's published model for this account's segment rule (bands are
    per segment), else of the model's default segment; the packaged defaults when nothing is published."""
    from connector.readmodels.admin import published_model

    row = published_model(session, tenant_id)
    if row is not None:
        try:
            from connector.readmodels.common import parsed_model

            model = parsed_model(row.yaml)
            segment = model.default_segment
            if account is not None:
                segment = next(
                    (
                        s
                        for s in model.segments
                        if s.rule is not None
                        and s.rule.matches(arr=account.arr, plan=account.plan, segment=account.segment)
                    ),
                    segment,
                )
            return [{"name": b.name, "min": float(b.min), "colour": b.colour} for b in segment.bands]
        except Exception:  # noqa: BLE001 - a stored model that no longer parses falls back to defaults
            logger.warning("published model of tenant %s does not parse; showing default bands", tenant_id)
    return [dict(b) for b in DEFAULT_BANDS]


def score_history(session: Session, tenant_id: int, account_id: int, limit: int = 400) -> list[HistoryPoint]:
    rows = session.scalars(
        select(m.ScoreSnapshot)
        .where(m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.account_id == account_id)
        .order_by(m.ScoreSnapshot.as_of.desc(), m.ScoreSnapshot.id.desc())
        .limit(limit)
    )
    return [
        HistoryPoint(as_of=s.as_of, score=s.score, band=s.band, model_version=s.model_version)
        for s in reversed(list(rows))
    ]


def linked_sources(session: Session, tenant_id: int, account_id: int) -> list[m.Account]:
    """Helpdesk organizations tied to this CRM account (auto or confirmed links)."""
    return list(
        session.scalars(
            select(m.Account)
            .join(m.AccountLink, m.AccountLink.source_account_id == m.Account.id)
            .where(
                m.AccountLink.tenant_id == tenant_id,
                m.AccountLink.crm_account_id == account_id,
                m.AccountLink.status.in_(("auto", "confirmed")),
            )
        )
    )


def account_detail(
    session: Session, tenant_id: int, account_id: int, tickets: int = 15
) -> AccountDetail | None:
    """Everything the account page shows; None when the account is not this tenant's."""
    acc = session.scalar(
        select(m.Account).where(m.Account.id == account_id, m.Account.tenant_id == tenant_id)
    )
    if acc is None:
        return None
    history = score_history(session, tenant_id, acc.id)
    latest = session.scalar(
        select(m.ScoreSnapshot)
        .where(m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.account_id == acc.id)
        .order_by(m.ScoreSnapshot.as_of.desc(), m.ScoreSnapshot.id.desc())
        .limit(1)
    )
    sources = linked_sources(session, tenant_id, acc.id)
    keys = [(acc.vendor, acc.external_id)] + [(s.vendor, s.external_id) for s in sources]
    return AccountDetail(
        id=acc.id,
        vendor=acc.vendor,
        external_id=acc.external_id,
        name=acc.name,
        segment=acc.segment,
        plan=acc.plan,
        owner=acc.owner,
        arr=acc.arr,
        renewal_date=acc.renewal_date,
        score=latest.score if latest else None,
        band=latest.band if latest else None,
        band_since=latest.band_since if latest else None,
        trend_30d=latest.trend_30d if latest else None,
        sentiment_30d=latest.sentiment_30d if latest else None,
        confidence=latest.confidence if latest else None,
        recommended_action=latest.recommended_action if latest else None,
        model_version=latest.model_version if latest else None,
        as_of=latest.as_of if latest else None,
        dimensions=dict(latest.dimensions) if latest else {},
        drivers=with_counts(
            list(latest.drivers) if latest else [],
            sentiment_counts(session, tenant_id, {acc.id: latest.as_of} if latest else {}).get(acc.id),
        ),
        history=history,
        tickets=_tickets(session, tenant_id, acc.id, tickets),
        surveys=_surveys(session, tenant_id, keys),
        deals=_deals(session, tenant_id, acc),
        links=record_links(session, tenant_id, [acc, *sources]),
        bands=band_thresholds(session, tenant_id, acc),
        former=acc.id
        in former_customer_ids(session, tenant_id, tenant_now(session, tenant_id).date(), [acc.id]),
        usage=usage_history(session, tenant_id, acc),
    )


def _tickets(session: Session, tenant_id: int, account_id: int, limit: int) -> list[TicketRow]:
    rows = session.scalars(
        select(m.Ticket)
        .where(
            m.Ticket.tenant_id == tenant_id,
            m.Ticket.crm_account_id == account_id,
            m.Ticket.deleted_at.is_(None),
        )
        .order_by(m.Ticket.vendor_created_at.desc())
        .limit(limit)
    )
    bases = ticket_bases(session, tenant_id)
    return [ticket_row(t, bases=bases) for t in rows]


def _surveys(session: Session, tenant_id: int, keys: list[tuple[str, str]]) -> list[SurveyRow]:
    rows = session.scalars(
        select(m.SurveyResponse)
        .where(
            m.SurveyResponse.tenant_id == tenant_id,
            m.SurveyResponse.deleted_at.is_(None),
            tuple_(m.SurveyResponse.vendor, m.SurveyResponse.account_external_id).in_(keys),
        )
        .order_by(m.SurveyResponse.responded_at)
        .limit(500)
    )
    return [
        SurveyRow(kind=s.kind, score=s.score, responded_at=s.responded_at, comment=s.comment, vendor=s.vendor)
        for s in rows
    ]


def _deals(session: Session, tenant_id: int, acc: m.Account) -> list[DealRow]:
    rows = session.scalars(
        select(m.Deal)
        .where(
            m.Deal.tenant_id == tenant_id,
            m.Deal.vendor == acc.vendor,
            m.Deal.account_external_id == acc.external_id,
            m.Deal.deleted_at.is_(None),
        )
        .order_by(m.Deal.close_date.desc().nulls_last())
        .limit(20)
    )
    return [
        DealRow(
            name=d.name,
            kind=d.kind,
            amount=d.amount,
            stage=d.stage_label or d.stage,
            is_closed=d.is_closed,
            is_won=d.is_won,
            close_date=d.close_date,
        )
        for d in rows
    ]


def resolve_crm_account(session: Session, tenant_id: int, vendor: str, external_id: str) -> m.Account | None:
    """The CRM account for a vendor record id: itself for a CRM id, the linked account for a Zendesk org."""
    acc = session.scalar(
        select(m.Account).where(
            m.Account.tenant_id == tenant_id,
            m.Account.vendor == vendor,
            m.Account.external_id == external_id,
            m.Account.deleted_at.is_(None),
        )
    )
    if acc is None or acc.vendor in CRM_VENDORS:
        return acc
    link = session.scalar(
        select(m.AccountLink).where(
            m.AccountLink.tenant_id == tenant_id,
            m.AccountLink.source_account_id == acc.id,
            m.AccountLink.status.in_(("auto", "confirmed")),
        )
    )
    if link is None or link.crm_account_id is None:
        return None
    return session.scalar(
        select(m.Account).where(m.Account.id == link.crm_account_id, m.Account.tenant_id == tenant_id)
    )


def account_ids_for_vendor_record(
    session: Session, tenant_id: int, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Map (vendor, external_id) → our account id for this tenant."""
    if not pairs:
        return {}
    rows = session.execute(
        select(m.Account.vendor, m.Account.external_id, m.Account.id).where(
            m.Account.tenant_id == tenant_id,
            or_(*[and_(m.Account.vendor == v, m.Account.external_id == e) for v, e in pairs]),
        )
    )
    return {(v, e): i for v, e, i in rows}
