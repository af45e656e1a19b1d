"""Week-on-week index per dimension and per metric: is support getting better or worse this week?

Compares an account's newest score snapshot with the newest one at least 7 days older (the same moment a
week back; passes run at varying times, so "closest not after now - 7 d"). For each dimension (0..100)
and each metric the model scores: the value now, a week ago, the change, and whether that change is
better or worse for the account (a metric's direction comes from the model: fewer high-priority tickets
is better). `index` = 100 x now / week ago (100 = unchanged), as a CS leader reads an index; None when
the week-ago value is 0 or missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store import models as m

WEEK = timedelta(days=7)
# Changes smaller than this share of the metric's normalisation range (or 1 point of a dimension) are "flat".
FLAT_POINTS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    name: str
    kind: str  # "dimension" | "metric"
    dimension: str | None  # a metric's dimension
    label: str
    now: float | None
    week_ago: float | None
    change: float | None
    index: float | None
    verdict: str  # "better" | "worse" | "flat" | "new" | "no data"
    unit: str = ""  # a metric's unit as the model describes it ("hours, median time to …", "share (0..1) …")


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekOnWeek:
    as_of: datetime | None
    compared_with: datetime | None  # None: no snapshot a week older yet
    dimensions: list[Change]
    metrics: list[Change]


def _verdict(now: float | None, before: float | None, higher_is_better: bool, flat: float) -> str:
    if now is None:
        return "no data"
    if before is None:
        return "new"
    delta = now - before
    if abs(delta) < flat:
        return "flat"
    return "better" if (delta > 0) == higher_is_better else "worse"


def _change(
    name: str,
    kind: str,
    dim: str | None,
    label: str,
    now: Any,
    before: Any,
    up: bool,
    flat: float,
    unit: str = "",
) -> Change:
    n = None if now is None else float(now)
    b = None if before is None else float(before)
    return Change(
        name=name,
        kind=kind,
        dimension=dim,
        label=label,
        now=None if n is None else round(n, 3),
        week_ago=None if b is None else round(b, 3),
        change=None if n is None or b is None else round(n - b, 3),
        index=None if n is None or not b else round(100.0 * n / b, 1),
        verdict=_verdict(n, b, up, flat),
        unit=unit,
    )


def compare(latest: m.ScoreSnapshot | None, older: m.ScoreSnapshot | None, model: Any) -> WeekOnWeek:
    """The index from two snapshots (pure: no session), using the model's labels and directions."""
    if latest is None:
        return WeekOnWeek(as_of=None, compared_with=None, dimensions=[], metrics=[])
    before_dims = dict(older.dimensions) if older else {}
    before_metrics = dict(older.metrics) if older else {}
    dims = [
        _change(
            d.name,
            "dimension",
            None,
            d.label,
            latest.dimensions.get(d.name),
            before_dims.get(d.name),
            True,
            FLAT_POINTS,
        )
        for d in model.dimensions
    ]
    metrics = []
    for spec in model.metrics:
        now, before = latest.metrics.get(spec.name), before_metrics.get(spec.name)
        if now is None and before is None:
            continue
        n = spec.normalise
        span = abs(n.high - n.low) if n.method == "linear" else 1.0
        metrics.append(
            _change(
                spec.name, "metric", spec.dimension, spec.label, now, before,
                spec.direction == "higher_is_better", 0.02 * span, str(getattr(spec, "unit", "") or ""),
            )
        )  # fmt: skip
    return WeekOnWeek(
        as_of=latest.as_of,
        compared_with=older.as_of if older else None,
        dimensions=dims,
        metrics=metrics,
    )


def week_on_week(session: Session, tenant_id: int, account_id: int, model: Any) -> WeekOnWeek:
    """The account's week-on-week index (empty lists when it has no score yet)."""
    base = select(m.ScoreSnapshot).where(
        m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.account_id == account_id
    )
    latest = session.scalars(
        base.order_by(m.ScoreSnapshot.as_of.desc(), m.ScoreSnapshot.id.desc()).limit(1)
    ).first()
    if latest is None:
        return compare(None, None, model)
    older = session.scalars(
        base.where(m.ScoreSnapshot.as_of <= latest.as_of - WEEK)
        .order_by(m.ScoreSnapshot.as_of.desc(), m.ScoreSnapshot.id.desc())
        .limit(1)
    ).first()
    return compare(latest, older, model)
