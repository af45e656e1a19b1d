"""The counts behind a driver, so it reads in a rep's words ("6 of 9 tickets in the last 30 days read
negative") instead of a model-internal number ("support sentiment -0.63 (-1..1, 30 days)")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from connector.store import models as m

COUNTED_METRICS = {"sentiment_30d", "negative_ticket_share_30d"}
WINDOW = timedelta(days=30)


def sentiment_counts(
    session: Session, tenant_id: int, as_of: dict[int, datetime]
) -> dict[int, dict[str, int]]:
    """Per account: tickets with a sentiment label in the 30 days up to its score's as_of, and how many
    of them read negative (the same window as the metric)."""
    if not as_of:
        return {}
    conds = [
        and_(
            m.Ticket.crm_account_id == acc,
            m.Ticket.vendor_created_at > when - WINDOW,
            m.Ticket.vendor_created_at <= when,
        )
        for acc, when in as_of.items()
    ]
    out: dict[int, dict[str, int]] = {acc: {"tickets_30d": 0, "negative_30d": 0} for acc in as_of}
    rows = session.execute(
        select(m.Ticket.crm_account_id, m.Ticket.sentiment_label).where(
            m.Ticket.tenant_id == tenant_id,
            m.Ticket.deleted_at.is_(None),
            m.Ticket.sentiment_label.is_not(None),
            or_(*conds),
        )
    )
    for acc, label in rows:
        if acc in out:
            out[acc]["tickets_30d"] += 1
            out[acc]["negative_30d"] += label == "negative"
    return out


def with_counts(drivers: list[Any], counts: dict[str, int] | None) -> list[Any]:
    """Drivers with the ticket counts attached where the text needs them."""
    if not counts:
        return drivers
    return [
        {**d, "counts": counts} if isinstance(d, dict) and d.get("metric") in COUNTED_METRICS else d
        for d in drivers
    ]
