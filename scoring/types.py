"""Value objects that go into and come out of the scoring engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSignals:
    """One account's raw metric values (None = no data) plus the fields segment rules look at."""

    account_id: str
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    arr: Decimal | float | None = None
    plan: str | None = None
    segment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionScore:
    """One dimension's 0..100 score; `score` is None when none of its metrics had data."""

    name: str
    score: float | None
    weight: float  # share of the health score this dimension carried for this account (0..1)
    coverage: float  # share of the dimension's metric weight that had data (0..1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Driver:
    """A metric that moved the score away from neutral (50), in words a rep understands."""

    metric: str
    dimension: str
    direction: Direction  # "up" pulls the score up, "down" pulls it down
    impact: float  # signed points of the 0..100 score relative to a neutral account
    value: float  # the raw metric value
    text: str  # e.g. "3 negative tickets in 14 days"


@dataclass(frozen=True, slots=True, kw_only=True)
class BandState:
    """The band an account is in and since when (what hysteresis needs to remember)."""

    band: str
    since: datetime
    score: float | None = None  # the score at the last scoring (a crash is measured from it)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthResult:
    """The scored health of one account at one moment."""

    account_id: str
    as_of: datetime
    score: float | None  # 0..100, one decimal; None when no metric had data
    band: str | None  # after hysteresis; None when score is None and no previous band is known
    raw_band: str | None  # the band the score alone falls in (no hysteresis)
    band_state: BandState | None  # persist this and pass it back next time
    dimensions: tuple[DimensionScore, ...]
    drivers: tuple[Driver, ...]
    confidence: float  # share of model weight that had data, 0..1
    recommended_action: str
    model_version: str
    segment: str
