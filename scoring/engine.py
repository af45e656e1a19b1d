"""Vectorised scoring of a whole book at once: metrics → normalised → dimensions → health score.

The maths (documented once, here):
- Each metric is normalised to 0..1 (1 = healthiest); NaN/inf/None means "no data".
- A dimension score is the weighted mean of its metrics that have data (metric weights renormalised
  over the metrics present), * 100.
- The health score is the weighted mean of the dimension scores that have data (the segment's dimension
  weights renormalised over those dimensions), rounded to one decimal; NaN when nothing had data.
- evidence: a metric with `evidence` counts `count / (count + half)` of its weight for each account,
  where `count` is another signal (e.g. the survey answers behind an average). Within the dimension the
  weights are then renormalised as above; the dimension's own weight in the score is scaled by the same
  evidence (its evidence-weighted metric weight with data ÷ its plain metric weight with data). So a mean
  of one answer gives way to the account's other metrics and dimensions, a mean of ten dominates them.
  A missing count keeps the full weight; a model without `evidence` scores exactly as before.
- confidence = (Σ effective weight of metrics with data) / (Σ effective weight of all metrics), where a
  metric's effective weight is dimension weight * its share of the dimension's metric weight (times its
  evidence share: a metric backed by little data counts partly).
- impact of a metric (points) = its renormalised effective weight * (normalised - 0.5) * 100. The impacts
  of one account sum exactly to score - 50, so "drivers" explain the distance from a neutral account.
- segment_percentile metrics rank within the account's segment in the batch (or a given reference);
  segments with fewer than `min_population` values rank within the whole batch instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from scoring import actions, bands, drivers, kernel, normalise
from scoring.model import MetricSpec, ScoringModel
from scoring.normalise import PercentileReference, percentile_reference
from scoring.types import AccountSignals, BandState, DimensionScore, HealthResult

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_CHUNK = 16_384  # accounts per chunk: the (M, chunk) float32 temporaries stay in L2/L3 cache

__all__ = [
    "PercentileReference",
    "ScoreArrays",
    "SignalColumns",
    "columns_from_signals",
    "percentile_reference",
    "score_accounts",
    "score_matrix",
    "select_segments",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScoreArrays:
    """Columnar scoring output for n accounts, M metrics (model order), D dimensions, K drivers."""

    score: FloatArray  # (n,) 0..100 one decimal, NaN = no data
    raw_band: IntArray  # (n,) index into model.segments[segment].bands; -1 = no data
    dimensions: FloatArray  # (n, D) 0..100, NaN = no data in that dimension
    dimension_weight: FloatArray  # (n, D) share of the score each dimension carried (rows sum to 1)
    dimension_coverage: FloatArray  # (n, D) share of the dimension's metric weight with data
    confidence: FloatArray  # (n,) 0..1
    drivers: IntArray  # (n, K) metric indices by |impact| descending; -1 = none (below min impact)
    driver_impact: FloatArray  # (n, K) signed points of those drivers, 0 where none
    normalised: FloatArray | None  # (n, M) 0..1, NaN = no data; only with detail=True
    impact: FloatArray | None  # (n, M) signed points vs neutral, 0 where no data; only with detail=True


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
            ok &= _one_of(seg_a, rule.segments)
        if rule.plans:
            ok &= _one_of(plan_a, rule.plans)
        with np.errstate(invalid="ignore"):  # NaN ARR compares False: it matches no ARR bound
            if rule.arr_min is not None:
                ok &= arr_f >= rule.arr_min
            if rule.arr_max is not None:
                ok &= arr_f < rule.arr_max
        out[ok] = i
        free &= ~ok
    return out


def _one_of(values: npt.NDArray[np.object_], allowed: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Elementwise membership; == per allowed value, because np.isin may sort and None < str fails."""
    hit = np.zeros(values.shape, dtype=bool)
    for value in allowed:
        hit |= values == value
    return hit


def score_matrix(
    model: ScoringModel,
    segment_idx: npt.ArrayLike,
    metrics: Mapping[str, npt.ArrayLike],
    *,
    reference: PercentileReference | None = None,
    workers: int | None = None,
    detail: bool = False,
) -> ScoreArrays:
    """Score every account at once (the fast path); see the module docstring for the maths.

    Percentile metrics are normalised batch-wide first; the rest runs in cache-sized chunks, spread over
    `workers` threads (default: up to 4 CPUs; numpy releases the GIL in its loops). `detail` adds the
    (n, M) normalised values and impacts of every metric (2 * 8 * M bytes per account).

    Raises:
        ValueError: a metric column of the wrong length or a segment index out of range.
    """
    seg = np.asarray(segment_idx, dtype=np.intp)
    n = seg.shape[0]
    if n and (seg.min() < 0 or seg.max() >= len(model.segments)):
        raise ValueError("segment index out of range")
    comp = kernel.compile_model(model)
    cols = [normalise.column(metrics, m.name, n) for m in comp.specs]
    evidence = {
        j: (normalise.column(metrics, spec.evidence.metric, n), spec.evidence.half)
        for j, spec in enumerate(comp.specs)
        if spec.evidence is not None
    }
    if any(m.normalise.method == "segment_percentile" for m in comp.specs):
        ref = reference if reference is not None else normalise.percentile_reference(model, seg, metrics)
        for j, spec in enumerate(comp.specs):
            if spec.normalise.method == "segment_percentile":
                cols[j] = normalise.percentile_column(spec, cols[j], seg, ref, len(model.segments))
    m, d = len(comp.specs), len(model.dimensions)
    # 2-D outputs are stored (rows, n) so chunks write contiguous runs; callers see (n, rows) views.
    result = ScoreArrays(
        score=np.empty(n),
        raw_band=np.empty(n, dtype=np.intp),
        dimensions=np.empty((d, n)).T,
        dimension_weight=np.empty((d, n)).T,
        dimension_coverage=np.empty((d, n)).T,
        confidence=np.empty(n),
        drivers=np.empty((comp.top_k, n), dtype=np.intp).T,
        driver_impact=np.empty((comp.top_k, n)).T,
        normalised=np.empty((m, n)).T if detail else None,
        impact=np.empty((m, n)).T if detail else None,
    )

    def run(start: int) -> None:
        rows = slice(start, min(start + _CHUNK, n))
        norm = np.empty((m, rows.stop - rows.start), dtype=np.float32)
        for j, spec in enumerate(comp.specs):
            if spec.normalise.method == "segment_percentile":
                norm[j] = cols[j][rows]
            else:
                normalise.normalise_into(spec, cols[j][rows], norm[j])
        scale = None
        if evidence:
            scale = np.ones_like(norm)
            for j, (count, half) in evidence.items():
                c = np.maximum(count[rows], 0.0)
                share = c / (c + half)
                scale[j] = np.where(np.isnan(share), 1.0, share)  # no count: full weight
        kernel.score_chunk(comp, seg[rows], norm, _chunk_view(result, rows), scale)

    starts = range(0, n, _CHUNK)
    threads = min(workers or min(4, os.cpu_count() or 1), len(starts))
    if threads <= 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, starts))
    return result


def _chunk_view(r: ScoreArrays, rows: slice) -> kernel.ChunkOut:
    return kernel.ChunkOut(
        score=r.score[rows],
        raw_band=r.raw_band[rows],
        dimensions=r.dimensions.T[:, rows],
        dimension_weight=r.dimension_weight.T[:, rows],
        dimension_coverage=r.dimension_coverage.T[:, rows],
        confidence=r.confidence[rows],
        normalised=None if r.normalised is None else r.normalised.T[:, rows],
        impact=None if r.impact is None else r.impact.T[:, rows],
        drivers=r.drivers.T[:, rows],
        driver_impact=r.driver_impact.T[:, rows],
    )


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
    names += [m.evidence.metric for m in model.metrics if m.evidence and m.evidence.metric not in names]
    nan = float("nan")
    # _as_float inlined: one call per metric per account was most of this pivot's time (issue 17).
    metrics = {
        name: np.array(
            [nan if (v := s.metrics.get(name)) is None else float(v) for s in signals], dtype=np.float64
        )
        for name in names
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
    # Raw values of each account's driver metrics, gathered in one go: (n, K).
    raw = np.stack([normalise.column(cols.metrics, m.name, n) for m in specs]) if n else np.empty((0, 0))
    driver_values = raw[np.maximum(arrays.drivers, 0), np.arange(n)[:, None]] if n else np.empty((0, 0))
    build = _ResultBuilder(model, specs, as_of, previous or {})
    # Plain Python lists: per-element numpy scalar access would dominate this loop.
    return [
        build(*row)
        for row in zip(
            cols.account_ids,
            seg.tolist(),
            arrays.score.tolist(),
            arrays.raw_band.tolist(),
            arrays.confidence.tolist(),
            np.round(arrays.dimensions, 1).tolist(),
            arrays.dimension_weight.tolist(),
            arrays.dimension_coverage.tolist(),
            arrays.drivers.tolist(),
            arrays.driver_impact.tolist(),
            driver_values.tolist(),
            strict=True,
        )
    ]


@dataclass(frozen=True, slots=True)
class _ResultBuilder:
    """Turns one account's row of plain values into a HealthResult."""

    model: ScoringModel
    specs: tuple[MetricSpec, ...]
    as_of: datetime
    previous: Mapping[str, BandState]

    def __call__(
        self,
        account_id: str,
        seg_i: int,
        raw_score: float,
        raw_band: int,
        confidence: float,
        dim_scores: list[float],
        dim_weights: list[float],
        dim_coverage: list[float],
        driver_idx: list[int],
        driver_impact: list[float],
        driver_values: list[float],
    ) -> HealthResult:
        model = self.model
        segment = model.segments[seg_i]
        score = None if math.isnan(raw_score) else raw_score
        state = bands.next_band(
            self.previous.get(account_id),
            score,
            self.as_of,
            segment.bands,
            model.hysteresis,
            segment.crash_drop,
        )
        found = drivers.build_drivers(self.specs, driver_idx, driver_impact, driver_values)
        band = None if state is None else state.band
        dims = tuple(
            DimensionScore(name=d.name, score=None if math.isnan(sc) else sc, weight=w, coverage=cov)
            for d, sc, w, cov in zip(model.dimensions, dim_scores, dim_weights, dim_coverage, strict=True)
        )
        return HealthResult(
            account_id=account_id,
            as_of=self.as_of,
            score=score,
            band=band,
            raw_band=None if raw_band < 0 else segment.bands[raw_band].name,
            band_state=state,
            dimensions=dims,
            drivers=found,
            confidence=round(confidence, 3),
            recommended_action=actions.recommend(model, band if score is not None else None, found),
            model_version=model.version,
            segment=segment.name,
        )
