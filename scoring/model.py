"""The validated scoring model: dimensions, metrics, segments, bands and actions as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

MetricDirection = Literal["higher_is_better", "lower_is_better"]
Method = Literal["linear", "segment_percentile", "stepped"]
DEFAULT_SEGMENT = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalisation:
    """How a raw metric value becomes 0..1 (1 = healthiest)."""

    method: Method
    low: float = 0.0  # linear: the two bounds, low < high; direction says which end is healthy
    high: float = 1.0
    thresholds: tuple[float, ...] = ()  # stepped: ascending cut points
    scores: tuple[float, ...] = ()  # stepped: len(thresholds) + 1 values in 0..1
    min_population: int = 20  # percentile: below this many values in the segment, rank in the whole batch


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """How much data stands behind a metric's value: `metric` names a count in the signals (e.g. answers
    behind an average). The metric counts `count / (count + half)` of its weight: a mean of one answer
    weighs less than a mean of ten, and an account without the count keeps the full weight."""

    metric: str
    half: float  # the count at which the metric carries half its weight (> 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """One metric of one dimension."""

    name: str
    dimension: str
    label: str
    unit: str
    direction: MetricDirection
    lookback_days: int
    weight: float  # relative to the other metrics of the same dimension
    normalise: Normalisation
    text: str  # str.format template with {value}, e.g. "CSAT {value:.1f}/5"
    evidence: Evidence | None = None  # None: the weight does not depend on how much data there is


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionSpec:
    """A group of metrics with one weight in the health score."""

    name: str
    label: str
    weight: float
    metrics: tuple[MetricSpec, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """A named score range: score >= min (and below the next band's min)."""

    name: str
    colour: str
    min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentRule:
    """Which accounts belong to a segment; every given condition must hold (empty = all)."""

    segments: tuple[str, ...] = ()  # account.segment in this list
    plans: tuple[str, ...] = ()  # account.plan in this list
    arr_min: float | None = None  # arr >= arr_min
    arr_max: float | None = None  # arr < arr_max

    def matches(self, *, arr: Decimal | float | None, plan: str | None, segment: str | None) -> bool:
        """Whether an account with these fields falls in the segment."""
        if self.segments and segment not in self.segments:
            return False
        if self.plans and plan not in self.plans:
            return False
        if self.arr_min is not None and (arr is None or float(arr) < self.arr_min):
            return False
        return not (self.arr_max is not None and (arr is None or float(arr) >= self.arr_max))


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A segment with its complete (override-merged) dimension weights and bands."""

    name: str
    rule: SegmentRule | None  # None for the default segment
    weights: tuple[float, ...]  # one per model dimension, in model order
    bands: tuple[Band, ...]  # highest first, last min is 0
    crash_drop: float | None = None  # the segment's crash threshold (hysteresis.crash_drop if not set)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hysteresis:
    """Leave a band only past `margin` points beyond its edge and after `min_dwell_days` in it."""

    margin: float = 2.0
    min_dwell_days: float = 3.0
    # A drop of MORE than this many points since the last score moves the band at once (no margin, no
    # dwell): a collapse must not hide behind the dwell time. None = off. Segments may override it.
    crash_drop: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRule:
    """Recommend `action` when the band matches and a top driver in `direction` matches the metric set."""

    bands: tuple[str, ...]  # empty = any band
    dimensions: tuple[str, ...]  # a driver of one of these dimensions...
    metrics: tuple[str, ...]  # ...or one of these metrics (both empty = any driver)
    direction: Literal["up", "down"]
    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringModel:
    """A validated model; build it with `scoring.config.load_model`."""

    version: str
    dimensions: tuple[DimensionSpec, ...]
    segments: tuple[Segment, ...]  # rule segments in match order, the default segment last
    hysteresis: Hysteresis
    top_drivers: int
    min_driver_impact: float
    score_changed_delta: float
    band_actions: tuple[tuple[str, str], ...]  # (band name, action)
    action_rules: tuple[ActionRule, ...]
    no_data_action: str

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        """All metrics in model order (dimension by dimension)."""
        return tuple(m for d in self.dimensions for m in d.metrics)

    @property
    def default_segment(self) -> Segment:
        """The segment of accounts no rule matches."""
        return self.segments[-1]

    def segment_index(self, name: str) -> int:
        """Position of a segment by name.

        Raises:
            KeyError: no segment of that name.
        """
        for i, seg in enumerate(self.segments):
            if seg.name == name:
                return i
        raise KeyError(name)
