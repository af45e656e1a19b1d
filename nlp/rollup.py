"""Pure per-account rollups of ticket sentiment: decayed score, negative counts and shares, driver excerpts.

Rows are (ticket_id, created_at, label, score, excerpt) tuples; `as_of` is passed in (never read from the
clock). Tickets created after `as_of` are ignored, so a replayed history gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

TicketRow = tuple[str, datetime, str, float, str]
HALF_LIFE_DAYS = 30.0
WINDOWS = (30, 90)


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowStats:
    """Tickets in the last `days` days: how many, how many negative, and the negative share."""

    days: int
    tickets: int
    negative: int
    negative_share: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Driver:
    """A negative ticket and the sentence that drove it."""

    ticket_id: str
    created_at: datetime
    score: float
    excerpt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSentiment:
    """Everything the UI and the CRM drivers need about an account's ticket sentiment."""

    as_of: datetime
    decayed_score: float | None
    windows: tuple[WindowStats, ...]
    drivers: tuple[Driver, ...]


def _check(as_of: datetime) -> None:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")


def _past(rows: Iterable[TicketRow], as_of: datetime) -> list[TicketRow]:
    _check(as_of)
    out = []
    for row in rows:
        if row[1].tzinfo is None:
            raise ValueError(f"ticket {row[0]}: created_at must be timezone-aware (UTC)")
        if row[1] <= as_of:
            out.append(row)
    return out


def decayed_score(
    rows: Iterable[TicketRow], as_of: datetime, half_life_days: float = HALF_LIFE_DAYS
) -> float | None:
    """Mean ticket score weighted by 0.5 ** (age / half-life); None when there are no tickets."""
    total = weight_sum = 0.0
    for _, created, _, score, _ in _past(rows, as_of):
        age_days = (as_of - created).total_seconds() / 86400.0
        weight = math.pow(0.5, age_days / half_life_days)
        total += weight * score
        weight_sum += weight
    return total / weight_sum if weight_sum > 0 else None


def window_stats(rows: Iterable[TicketRow], as_of: datetime, days: int) -> WindowStats:
    """Count and share of negative tickets created in (as_of - days, as_of]."""
    start = as_of - timedelta(days=days)
    inside = [r for r in _past(rows, as_of) if r[1] > start]
    negative = sum(1 for r in inside if r[2] == "negative")
    return WindowStats(
        days=days,
        tickets=len(inside),
        negative=negative,
        negative_share=negative / len(inside) if inside else 0.0,
    )


def top_drivers(
    rows: Iterable[TicketRow], as_of: datetime, *, days: int = 90, limit: int = 3
) -> list[Driver]:
    """Excerpts of the most negative tickets of the window (most negative first, newer first on ties)."""
    start = as_of - timedelta(days=days)
    negative = [r for r in _past(rows, as_of) if r[1] > start and r[2] == "negative" and r[4].strip()]
    negative.sort(key=lambda r: (r[3], -r[1].timestamp(), r[0]))
    return [Driver(ticket_id=r[0], created_at=r[1], score=r[3], excerpt=r[4]) for r in negative[:limit]]


def account_sentiment(
    rows: Sequence[TicketRow], as_of: datetime, *, windows: Sequence[int] = WINDOWS, limit: int = 3
) -> AccountSentiment:
    """All rollups for one account at `as_of`."""
    return AccountSentiment(
        as_of=as_of,
        decayed_score=decayed_score(rows, as_of),
        windows=tuple(window_stats(rows, as_of, d) for d in windows),
        drivers=tuple(top_drivers(rows, as_of, days=max(windows), limit=limit)),
    )
