"""An account's seat usage over time, from the CRM's field history of its usage fields (metric_changes):
what the account page shows beside the score, so a rep sees the usage trend the product dimension reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.pipeline.field_history import Change, metrics_as_of, number, seat_utilisation
from connector.store import models as m


@dataclass(frozen=True, slots=True)
class UsagePoint:
    since: datetime  # when the CRM field took this value
    active_users: float | None
    seats: float | None
    share: float | None  # active users ÷ seats, None when either is unknown


def usage_history(session: Session, tenant_id: int, account: m.Account, limit: int = 12) -> list[UsagePoint]:
    """The last `limit` values of the account's active users, newest first, each with the licensed seats in
    force then, by the backtest's as-of rule (field_history.metrics_as_of). Empty when the CRM keeps no
    history of the field."""
    rows = session.execute(
        select(
            m.MetricChange.metric, m.MetricChange.changed_at, m.MetricChange.value, m.MetricChange.old_value
        )
        .where(
            m.MetricChange.tenant_id == tenant_id,
            m.MetricChange.vendor == account.vendor,
            m.MetricChange.account_external_id == account.external_id,
            m.MetricChange.metric.in_(("active_users", "licensed_seats")),
            m.MetricChange.deleted_at.is_(None),
        )
        .order_by(m.MetricChange.changed_at, m.MetricChange.id)
    ).all()
    history: dict[str, list[Change]] = {}
    for r in rows:
        history.setdefault(r.metric, []).append(Change(r.changed_at, r.value, r.old_value))
    out = []
    for c in reversed(history.get("active_users", [])[-limit:]):
        then = metrics_as_of(account.metrics or {}, history, c.changed_at)
        out.append(
            UsagePoint(c.changed_at, c.value, number(then.get("licensed_seats")), seat_utilisation(then))
        )
    return out
