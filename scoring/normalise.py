"""Raw metric columns → normalised 0..1 columns for a whole batch (percentile references included)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring import features
from scoring.model import MetricSpec, ScoringModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
# (metric name, segment index) → sorted values the percentile ranks against.
PercentileReference = Mapping[tuple[str, int], FloatArray]


def column(metrics: Mapping[str, npt.ArrayLike], name: str, n: int) -> FloatArray:
    """A metric column as float64 with non-finite values as NaN; an absent metric is all NaN.

    Raises:
        ValueError: the column is not (n,).
    """
    if name not in metrics:
        return np.full(n, np.nan)
    col = np.asarray(metrics[name], dtype=np.float64)
    if col.shape != (n,):
        raise ValueError(f"metric {name!r} has shape {col.shape}, expected ({n},)")
    if np.isinf(col).any():  # inf is a division-by-zero upstream, not a measurement
        col = np.where(np.isinf(col), np.nan, col)
    return col


def percentile_reference(
    model: ScoringModel, segment_idx: IntArray, metrics: Mapping[str, npt.ArrayLike]
) -> dict[tuple[str, int], FloatArray]:
    """Sorted distributions per percentile metric and segment (keep one to score a single account later).

    A segment with fewer than `min_population` values gets the whole batch's distribution.
    """
    ref: dict[tuple[str, int], FloatArray] = {}
    n = segment_idx.shape[0]
    for spec in model.metrics:
        if spec.normalise.method != "segment_percentile":
            continue
        values = column(metrics, spec.name, n)
        ok = ~np.isnan(values)
        everyone = np.sort(values[ok])
        for s in range(len(model.segments)):
            mine = values[ok & (segment_idx == s)]
            ref[(spec.name, s)] = np.sort(mine) if mine.size >= spec.normalise.min_population else everyone
    return ref


def percentile_column(
    spec: MetricSpec, values: FloatArray, segment_idx: IntArray, reference: PercentileReference, segments: int
) -> FloatArray:
    """Mid-rank percentile of each value against its segment's reference distribution."""
    result = np.full(values.shape, np.nan)
    for s in range(segments):
        rows = segment_idx == s
        if rows.any():
            ref = reference.get((spec.name, s), np.empty(0))
            result[rows] = features.percentile_rank(values[rows], ref, spec.direction)
    return result


def normalise_into(spec: MetricSpec, values: FloatArray, out: npt.NDArray[np.floating[Any]]) -> None:
    """Linear or stepped normalisation of `values` written into `out` (same shape), NaN kept."""
    norm = spec.normalise
    if norm.method == "linear":
        # Distance from the unhealthy bound, as a share of the range; maximum/minimum keep NaN.
        if spec.direction == "higher_is_better":
            np.subtract(values, norm.low, out=out, casting="same_kind")
        else:
            np.subtract(norm.high, values, out=out, casting="same_kind")
        np.multiply(out, 1.0 / (norm.high - norm.low), out=out)
        np.maximum(out, 0.0, out=out)
        np.minimum(out, 1.0, out=out)
    elif norm.method == "stepped":
        # scores[0] plus each step's rise once the value reaches its threshold; v * 0 carries NaN.
        np.multiply(values, 0.0, out=out, casting="same_kind")
        out += norm.scores[0]
        for threshold, low, high in zip(norm.thresholds, norm.scores, norm.scores[1:], strict=False):
            if high != low:
                out += (values >= threshold) * np.float32(high - low)
    else:
        raise ValueError(f"{spec.name}: percentile metrics are normalised batch-wide, not per chunk")
