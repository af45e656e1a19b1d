"""Pure feature helpers: NPS, time-decayed means, and the three normalisations (raw value → 0..1).

Every normaliser maps NaN to NaN (no data) and returns 1.0 for the healthiest end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from scoring.model import MetricDirection

FloatArray = npt.NDArray[np.float64]


def nps(scores: Sequence[float]) -> float | None:
    """Net Promoter Score (-100..100) of 0..10 responses: % promoters (9-10) minus % detractors (0-6).

    Returns None for no responses.

    Raises:
        ValueError: a response outside 0..10.
    """
    if not scores:
        return None
    if any(not 0 <= s <= 10 for s in scores):
        raise ValueError("NPS responses must be within 0..10")
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return 100.0 * (promoters - detractors) / len(scores)


def detractor_share(scores: Sequence[float]) -> float | None:
    """Share (0..1) of 0..10 responses that are detractors (0-6); None for no responses."""
    if not scores:
        return None
    return sum(1 for s in scores if s <= 6) / len(scores)


def time_decayed_mean(values: Sequence[float], ages_days: Sequence[float], half_life: float) -> float | None:
    """Mean where a value `half_life` days old counts half as much as one from today; None if empty.

    Raises:
        ValueError: lengths differ, a negative age, or half_life ≤ 0.
    """
    if len(values) != len(ages_days):
        raise ValueError("values and ages_days must have the same length")
    if half_life <= 0:
        raise ValueError("half_life must be > 0")
    if not values:
        return None
    if any(a < 0 for a in ages_days):
        raise ValueError("ages must be ≥ 0 (the clock is passed in; future items are a caller bug)")
    weights = [math.pow(0.5, a / half_life) for a in ages_days]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def linear(values: FloatArray, low: float, high: float, direction: MetricDirection) -> FloatArray:
    """Linear between bounds: the bad bound → 0, the good bound → 1, clipped outside."""
    x = np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    return x if direction == "higher_is_better" else 1.0 - x


def stepped(values: FloatArray, thresholds: Sequence[float], scores: Sequence[float]) -> FloatArray:
    """Stepped thresholds: below thresholds[0] → scores[0]; at/above thresholds[i] → scores[i+1].

    The scores already encode the direction (validated monotone in config).
    """
    v = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(np.asarray(thresholds, dtype=np.float64), v, side="right")
    out = np.asarray(scores, dtype=np.float64)[idx]
    out[np.isnan(v)] = np.nan
    return out


def percentile_rank(
    values: FloatArray, reference_sorted: FloatArray, direction: MetricDirection
) -> FloatArray:
    """Mid-rank percentile of each value within a sorted reference distribution (ties count half).

    A value equal to the whole reference scores 0.5; an empty reference gives NaN.
    """
    v = np.asarray(values, dtype=np.float64)
    n = reference_sorted.size
    if n == 0:
        return np.full(v.shape, np.nan)
    # Search the distinct values only (counts and ratios have few, so the search stays in cache), with
    # one sentinel slot past the end for values above everything.
    distinct = np.flatnonzero(np.r_[True, reference_sorted[1:] != reference_sorted[:-1]])
    uniq = np.r_[reference_sorted[distinct], np.inf]
    below = np.r_[distinct, n].astype(np.float64)  # reference values below each distinct value
    half_ties = np.r_[np.diff(np.r_[distinct, n]), 0] / 2.0
    pos = np.searchsorted(uniq[:-1], v, side="left")
    rank: FloatArray = below[pos] + (uniq[pos] == v) * half_ties[pos]
    rank += v * 0.0  # NaN (and inf) in, NaN out: no data
    rank /= n
    return rank if direction == "higher_is_better" else 1.0 - rank
