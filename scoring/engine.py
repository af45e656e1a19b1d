"""Vectorised scoring of a whole book at once: metrics → normalised → dimensions → health score.

The maths (documented once, here):
- Each metric is normalised to 0..1 (1 = healthiest); NaN/inf/None means "no data".
- A dimension score is the weighted mean of its metrics that have data (metric weights renormalised
  over the metrics present), * 100.
- The health score is the weighted mean of the dimension scores that have data (the segment's dimension
  weights renormalised over those dimensions), rounded to one decimal; NaN when nothing had data.
- confidence = (Σ effective weight of metrics with data) / (Σ effective weight of all metrics), where a
  metric's effective weight is dimension weight * its share of the dimension's metric weight.
- impact of a metric (points) = its renormalised effective weight * (normalised - 0.5) * 100. The impacts
  of one account sum exactly to score - 50, so "drivers" explain the distance from a neutral account.
- segment_percentile metrics rank within the account's segment in the batch (or a given reference);
  segments with fewer than `min_population` values rank within the whole batch instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from scoring import actions, bands, drivers, features
from scoring.model import MetricSpec, ScoringModel
from scoring.types import AccountSignals, BandState, DimensionScore, HealthResult

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
# (metric name, segment index) → sorted values the percentile ranks against.
PercentileReference = Mapping[tuple[str, int], FloatArray]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScoreArrays:
    """Columnar scoring output for n accounts, M metrics (model order), D dimensions, K drivers."""

    score: FloatArray  # (n,) 0..100 one decimal, NaN = no data
    raw_band: IntArray  # (n,) index into model.segments[segment].bands; -1 = no data
    dimensions: FloatArray  # (n, D) 0..100, NaN = no data in that dimension
    dimension_weight: FloatArray  # (n, D) share of the score each dimension carried (rows sum to 1)
    dimension_coverage: FloatArray  # (n, D) share of the dimension's metric weight with data
    confidence: FloatArray  # (n,) 0..1
    normalised: FloatArray  # (n, M) 0..1, NaN = no data
    impact: FloatArray  # (n, M) signed points vs neutral, 0 where no data
    drivers: IntArray  # (n, K) metric indices by |impact| descending; -1 = none (below min impact)


def select_segments(
    model: ScoringModel,
    arr: npt.ArrayLike,
    plan: Sequence[str | None],
    segment: Sequence[str | None],
) -> IntArray:
    """Segment index per account: the first segment whose rule matches, else the default (last)."""
    arr_f = np.asarray(arr, dtype=np.float64)
    plan_a = np.asarray(plan, dtype=object)
    seg_a = np.asarray(segment, dtype=object)
    out = np.full(arr_f.shape, len(model.segments) - 1, dtype=np.intp)
    free = np.ones(arr_f.shape, dtype=bool)
    for i, seg in enumerate(model.segments[:-1]):
        rule = seg.rule
        if rule is None:
            continue
        ok = free.copy()
        if rule.segments:
            ok &= np.isin(seg_a, np.asarray(rule.segments, dtype=object))
        if rule.plans:
            ok &= np.isin(plan_a, np.asarray(rule.plans, dtype=object))
        with np.errstate(invalid="ignore"):  # NaN ARR compares False: it matches no ARR bound
            if rule.arr_min is not None:
                ok &= arr_f >= rule.arr_min
            if rule.arr_max is not None:
                ok &= arr_f < rule.arr_max
        out[ok] = i
        free &= ~ok
    return out


def percentile_reference(
    model: ScoringModel, segment_idx: IntArray, metrics: Mapping[str, npt.ArrayLike]
) -> dict[tuple[str, int], FloatArray]:
    """Sorted reference distributions for every percentile metric and segment (keep it to score one account later)."""
    ref: dict[tuple[str, int], FloatArray] = {}
    for spec in model.metrics:
        if spec.normalise.method != "segment_percentile":
            continue
        values = _column(metrics, spec.name, segment_idx.shape[0])
        ok = np.isfinite(values)
        everyone = np.sort(values[ok])
        for s in range(len(model.segments)):
            mine = values[ok & (segment_idx == s)]
            ref[(spec.name, s)] = np.sort(mine) if mine.size >= spec.normalise.min_population else everyone
    return ref


def normalise(
    model: ScoringModel,
    segment_idx: IntArray,
    metrics: Mapping[str, npt.ArrayLike],
    reference: PercentileReference | None = None,
) -> FloatArray:
    """(n, M) matrix of normalised metric values in model order; NaN = no data."""
    n = segment_idx.shape[0]
    specs = model.metrics
    if reference is None and any(m.normalise.method == "segment_percentile" for m in specs):
        reference = percentile_reference(model, segment_idx, metrics)
    out = np.empty((n, len(specs)), dtype=np.float64)
    for j, spec in enumerate(specs):
        out[:, j] = _normalise_one(spec, _column(metrics, spec.name, n), segment_idx, reference, model)
    return out


def _normalise_one(
    spec: MetricSpec,
    values: FloatArray,
    segment_idx: IntArray,
    reference: PercentileReference | None,
    model: ScoringModel,
) -> FloatArray:
    norm = spec.normalise
    if norm.method == "linear":
        return features.linear(values, norm.low, norm.high, spec.direction)
    if norm.method == "stepped":
        return features.stepped(values, norm.thresholds, norm.scores)
    assert reference is not None  # noqa: S101 - normalise() builds one whenever a percentile metric exists
    result = np.full(values.shape, np.nan)
    for s in range(len(model.segments)):
        rows = segment_idx == s
        if rows.any():
            ref = reference.get((spec.name, s), np.empty(0))
            result[rows] = features.percentile_rank(values[rows], ref, spec.direction)
    return result


def _column(metrics: Mapping[str, npt.ArrayLike], name: str, n: int) -> FloatArray:
    """A metric column as float64 with non-finite values as NaN; an absent metric is all NaN."""
    if name not in metrics:
        return np.full(n, np.nan)
    col = np.asarray(metrics[name], dtype=np.float64)
    if col.shape != (n,):
        raise ValueError(f"metric {name!r} has shape {col.shape}, expected ({n},)")
    if not np.isfinite(col).all():
        col = np.where(np.isfinite(col), col, np.nan)
    return col


def score_matrix(
    model: ScoringModel,
    segment_idx: npt.ArrayLike,
    metrics: Mapping[str, npt.ArrayLike],
    *,
    reference: PercentileReference | None = None,
) -> ScoreArrays:
    """Score every account at once (the fast path); see the module docstring for the maths.

    Raises:
        ValueError: a metric column of the wrong length or a segment index out of range.
    """
    seg = np.asarray(segment_idx, dtype=np.intp)
    if seg.size and (seg.min() < 0 or seg.max() >= len(model.segments)):
        raise ValueError("segment index out of range")
    specs = model.metrics
    dims = model.dimensions
    norm = normalise(model, seg, metrics, reference)
    has = ~np.isnan(norm)
    norm0 = np.where(has, norm, 0.0)

    # A (M, D): metric weight placed in its dimension's column, so matmuls sum per dimension.
    dim_of = np.array([next(i for i, d in enumerate(dims) if d.name == m.dimension) for m in specs])
    mw = np.array([m.weight for m in specs], dtype=np.float64)
    a = np.zeros((len(specs), len(dims)))
    a[np.arange(len(specs)), dim_of] = mw
    num = norm0 @ a
    den = has.astype(np.float64) @ a
    dim_total = a.sum(axis=0)  # (D,)
    with np.errstate(invalid="ignore", divide="ignore"):
        dim_score = np.where(den > 0, num / den, np.nan)
        coverage = np.where(dim_total > 0, den / dim_total, 0.0)

    seg_w = np.array([s.weights for s in model.segments], dtype=np.float64)  # (S, D)
    wd = seg_w[seg] * (den > 0)  # (n, D) weights of dimensions that have data
    wsum = wd.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(wsum[:, None] > 0, wd / wsum[:, None], 0.0)
        score = np.round(100.0 * np.nansum(share * np.nan_to_num(dim_score), axis=1), 1)
        score[wsum <= 0] = np.nan

    # Effective weight of every metric per segment, for confidence (S, M).
    eff = seg_w[:, dim_of] * np.where(dim_total[dim_of] > 0, mw / dim_total[dim_of], 0.0)
    eff_total = eff.sum(axis=1)
    present = has.astype(np.float64) @ eff.T  # (n, S); S is small
    confidence = present[np.arange(seg.shape[0]), seg] / eff_total[seg]

    with np.errstate(invalid="ignore", divide="ignore"):
        per_metric = np.where(den > 0, share / den, 0.0)[:, dim_of] * mw  # renormalised effective weight
    impact = per_metric * (norm0 - 0.5) * 100.0 * has
    return ScoreArrays(
        score=score,
        raw_band=raw_bands(model, seg, score),
        dimensions=100.0 * dim_score,
        dimension_weight=share,
        dimension_coverage=coverage,
        confidence=np.where(np.isnan(score), 0.0, confidence),
        normalised=norm,
        impact=impact,
        drivers=top_drivers(impact, model.top_drivers, model.min_driver_impact),
    )


def raw_bands(model: ScoringModel, segment_idx: IntArray, score: FloatArray) -> IntArray:
    """Band index (highest band = 0) each score falls in for its segment, no hysteresis; -1 for NaN."""
    nb = max(len(s.bands) for s in model.segments)
    mins = np.full((len(model.segments), nb), np.inf)
    for i, s in enumerate(model.segments):
        mins[i, : len(s.bands)] = [b.min for b in s.bands]
    row_mins = mins[segment_idx]  # (n, B), descending per row
    with np.errstate(invalid="ignore"):
        idx = (score[:, None] < row_mins).sum(axis=1)
    # Bands are ordered highest first, so the count of mins above the score is the band's index
    # after the inf padding is discounted.
    pad = nb - np.array([len(s.bands) for s in model.segments])[segment_idx]
    band = idx - pad
    return np.where(np.isnan(score), -1, band).astype(np.intp)


def top_drivers(impact: FloatArray, k: int, min_impact: float) -> IntArray:
    """(n, k) metric indices with the largest |impact|, largest first; -1 where |impact| < min_impact."""
    n, m = impact.shape
    k = min(k, m)
    if k == 0:
        return np.empty((n, 0), dtype=np.intp)
    mag = np.abs(impact)
    if k < m:
        part = np.argpartition(-mag, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    order = np.argsort(-np.take_along_axis(mag, part, axis=1), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    keep = np.take_along_axis(mag, idx, axis=1) >= max(min_impact, 1e-12)
    return np.where(keep, idx, -1).astype(np.intp)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SignalColumns:
    """The columnar form of many AccountSignals (what a DataFrame or SQL result gives cheaply)."""

    account_ids: Sequence[str]
    metrics: Mapping[str, npt.ArrayLike]  # metric name → (n,) floats, NaN = no data
    arr: npt.ArrayLike  # (n,) floats, NaN = unknown
    plan: Sequence[str | None]
    segment: Sequence[str | None]


def columns_from_signals(signals: Sequence[AccountSignals], model: ScoringModel) -> SignalColumns:
    """Pivot per-account signals into columns for the model's metrics (None → NaN)."""
    names = [m.name for m in model.metrics]
    metrics = {
        name: np.array([_as_float(s.metrics.get(name)) for s in signals], dtype=np.float64) for name in names
    }
    return SignalColumns(
        account_ids=[s.account_id for s in signals],
        metrics=metrics,
        arr=np.array([_as_float(s.arr) for s in signals], dtype=np.float64),
        plan=[s.plan for s in signals],
        segment=[s.segment for s in signals],
    )


def _as_float(x: Decimal | float | None) -> float:
    return float("nan") if x is None else float(x)


def score_accounts(
    model: ScoringModel,
    signals: Sequence[AccountSignals] | SignalColumns,
    as_of: datetime,
    previous: Mapping[str, BandState] | None = None,
    *,
    reference: PercentileReference | None = None,
) -> list[HealthResult]:
    """Score a book: one HealthResult per account, bands with hysteresis from `previous` states.

    Pass the whole tenant book: percentile metrics rank within the batch unless `reference` is given.

    Raises:
        ValueError: a metric column of the wrong length.
    """
    cols = signals if isinstance(signals, SignalColumns) else columns_from_signals(signals, model)
    seg = select_segments(model, cols.arr, cols.plan, cols.segment)
    arrays = score_matrix(model, seg, cols.metrics, reference=reference)
    specs = model.metrics
    n = len(cols.account_ids)
    values = np.column_stack([_column(cols.metrics, m.name, n) for m in specs]) if n else np.empty((0, 0))
    prev = previous or {}
    return [
        _result(model, arrays, i, int(seg[i]), cols.account_ids[i], values[i], as_of, prev) for i in range(n)
    ]


def _result(
    model: ScoringModel,
    arrays: ScoreArrays,
    i: int,
    seg_i: int,
    account_id: str,
    values: FloatArray,
    as_of: datetime,
    previous: Mapping[str, BandState],
) -> HealthResult:
    segment = model.segments[seg_i]
    raw_score = float(arrays.score[i])
    score = None if np.isnan(raw_score) else raw_score
    state = bands.next_band(previous.get(account_id), score, as_of, segment.bands, model.hysteresis)
    found = drivers.build_drivers(
        model.metrics, arrays.drivers[i].tolist(), arrays.impact[i].tolist(), values.tolist()
    )
    band = None if state is None else state.band
    dims = tuple(
        DimensionScore(
            name=d.name,
            score=None if np.isnan(arrays.dimensions[i, k]) else round(float(arrays.dimensions[i, k]), 1),
            weight=float(arrays.dimension_weight[i, k]),
            coverage=float(arrays.dimension_coverage[i, k]),
        )
        for k, d in enumerate(model.dimensions)
    )
    raw_idx = int(arrays.raw_band[i])
    return HealthResult(
        account_id=account_id,
        as_of=as_of,
        score=score,
        band=band,
        raw_band=None if raw_idx < 0 else segment.bands[raw_idx].name,
        band_state=state,
        dimensions=dims,
        drivers=found,
        confidence=round(float(arrays.confidence[i]), 3),
        recommended_action=actions.recommend(model, band if score is not None else None, found),
        model_version=model.version,
        segment=segment.name,
    )
