"""The numeric core of the engine: one chunk of accounts, metrics along rows (M, c) for cache locality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.model import MetricSpec, ScoringModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Float32Array = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Compiled:
    """A model's weights and thresholds as arrays (M metrics, D dimensions, S segments, B bands)."""

    specs: tuple[MetricSpec, ...]
    dim_of: IntArray  # (M,) dimension index of each metric
    mw: Float32Array  # (M,) metric weights
    mw100: Float32Array  # (M,) metric weights * 100 (impact in points)
    dim_rows: tuple[tuple[int, int], ...]  # (start, stop) metric rows of each dimension
    dim_total_safe: FloatArray  # (D,) metric weight per dimension, 1 where 0 (no division by zero)
    dim_total: FloatArray  # (D,) metric weight per dimension
    seg_w_t: FloatArray  # (D, S) dimension weights per segment
    seg_wn_t: FloatArray  # (D, S) dimension weights per segment, each column sums to 1
    band_mins_t: FloatArray  # (B, S) band mins, highest band first, padded with -inf
    top_k: int
    min_impact: float


def compile_model(model: ScoringModel) -> Compiled:
    """Arrays for the kernel; cheap (model-sized), so it is rebuilt per call."""
    specs = model.metrics
    names = [d.name for d in model.dimensions]
    dim_of = np.array([names.index(m.dimension) for m in specs], dtype=np.intp)
    # Weights as the float32 kernel sees them, so full coverage divides out to exactly 1.
    mw = np.array([m.weight for m in specs], dtype=np.float32).astype(np.float64)
    dim_total = np.bincount(dim_of, weights=mw, minlength=len(names)).astype(np.float64)
    seg_w = np.array([s.weights for s in model.segments], dtype=np.float64)  # (S, D)
    # Dimensions without metric weight carry nothing, so they do not count towards confidence either.
    seg_wn = seg_w * (dim_total > 0)
    seg_wn /= seg_wn.sum(axis=1, keepdims=True)
    nb = max(len(s.bands) for s in model.segments)
    mins = np.full((len(model.segments), nb), -np.inf)
    for i, s in enumerate(model.segments):
        mins[i, : len(s.bands)] = [b.min for b in s.bands]
    return Compiled(
        specs=specs,
        dim_of=dim_of,
        mw=mw.astype(np.float32),
        mw100=(mw * 100.0).astype(np.float32),
        dim_rows=tuple(
            (int(np.searchsorted(dim_of, d)), int(np.searchsorted(dim_of, d, side="right")))
            for d in range(len(names))
        ),
        dim_total_safe=np.where(dim_total > 0, dim_total, 1.0),
        dim_total=dim_total,
        seg_w_t=np.ascontiguousarray(seg_w.T),
        seg_wn_t=np.ascontiguousarray(seg_wn.T),
        band_mins_t=np.ascontiguousarray(mins.T),
        top_k=min(model.top_drivers, len(specs)),
        min_impact=max(model.min_driver_impact, 1e-12),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ChunkOut:
    """Views into the full output arrays for one chunk's accounts, each (rows, chunk) or (chunk,)."""

    score: FloatArray
    raw_band: IntArray
    dimensions: FloatArray
    dimension_weight: FloatArray
    dimension_coverage: FloatArray
    confidence: FloatArray
    normalised: FloatArray | None  # None: the caller did not ask for the (M, n) detail
    impact: FloatArray | None
    drivers: IntArray
    driver_impact: FloatArray


def score_chunk(
    c: Compiled, seg: IntArray, norm: Float32Array, out: ChunkOut, scale: Float32Array | None = None
) -> None:
    """Score one chunk: `norm` is (M, n) normalised values (NaN = no data) and is consumed; `scale`
    (M, n) multiplies each metric's weight per account (evidence shares, 0..1), None = 1 everywhere.

    Every (., n) array in `out` is metrics/dimensions along rows, accounts along columns. Plain numpy
    ufuncs only: no BLAS (its own thread pool would fight the chunk threads) and few passes over (M, n).
    Per-metric work is float32 (half the memory traffic; 0..1 values need no more), sums and everything
    per dimension are float64, so a score differs from an all-float64 one by < 1e-4 points.
    """
    if out.normalised is not None:
        out.normalised[:] = norm
    has = norm == norm  # False exactly for NaN: one pass instead of isnan + invert
    np.fmax(norm, 0.0, out=norm)  # NaN -> 0; normalised values are >= 0 so nothing else changes
    # `has` becomes the weight multiplier: 1/0 for data/no data, times the evidence share if any.
    weight = has.astype(np.float32) if scale is None else (has * scale).astype(np.float32)
    per_dim = _dimensions(c, seg, norm, weight, out, None if scale is None else has)
    # impact = renormalised effective weight * (x - 0.5) * 100, zero where there is no data.
    impact = np.empty_like(norm)
    for d, (a, b) in enumerate(c.dim_rows):
        np.multiply(per_dim[d], c.mw100[a:b, None], out=impact[a:b], casting="same_kind")
    norm -= 0.5
    impact *= norm
    impact *= weight
    if out.impact is not None:
        out.impact[:] = impact
    _drivers(c, impact, out.drivers, out.driver_impact)


def _dimensions(
    c: Compiled,
    seg: IntArray,
    norm: Float32Array,
    has: Float32Array,
    out: ChunkOut,
    present: BoolArray | None = None,
) -> FloatArray:
    """Dimension scores, health score, confidence and raw band into `out`; returns each dimension's
    renormalised weight per unit of metric weight (D, n), which the impacts need.

    With evidence (`present` given, `has` holding the evidence shares), a dimension's weight in the score
    is scaled by its evidence: the evidence-weighted metric weight with data over the plain metric weight
    with data. A relationship dimension resting on one survey answer then gives way to the other
    dimensions, instead of renormalisation handing it its full share.
    """
    n = seg.shape[0]
    has_w = has * c.mw[:, None]  # `has`: 0 = no data, else the share of the metric's weight it carries
    weighted = norm * has_w
    num = np.empty((len(c.dim_rows), n))
    den = np.empty((len(c.dim_rows), n))
    for d, (a, b) in enumerate(c.dim_rows):  # metrics are stored dimension by dimension
        np.add.reduce(weighted[a:b], axis=0, dtype=np.float64, out=num[d])
        np.add.reduce(has_w[a:b], axis=0, dtype=np.float64, out=den[d])
    dim_ok = den > 0
    safe_den = np.where(dim_ok, den, 1.0)
    dim_score = num / safe_den  # 0 where no data; NaN only in the output
    wd = np.take(c.seg_w_t, seg, axis=1)
    if present is None:
        wd *= dim_ok
    else:
        plain = np.empty((len(c.dim_rows), n))
        present_w = present * c.mw[:, None]
        for d, (a, b) in enumerate(c.dim_rows):
            np.add.reduce(present_w[a:b], axis=0, dtype=np.float64, out=plain[d])
        wd *= np.where(dim_ok, den / np.where(plain > 0, plain, 1.0), 0.0)
    wsum = wd.sum(axis=0)
    no_data = wsum <= 0
    share = wd / np.where(no_data, 1.0, wsum)
    score = np.round(100.0 * (share * dim_score).sum(axis=0), 1)
    score[no_data] = np.nan
    out.score[:] = score
    np.multiply(dim_score, 100.0, out=out.dimensions)
    np.copyto(out.dimensions, np.nan, where=~dim_ok)
    out.dimension_weight[:] = share
    np.divide(den, c.dim_total_safe[:, None], out=out.dimension_coverage)
    np.minimum(out.dimension_coverage, 1.0, out=out.dimension_coverage)  # float32 weight rounding
    # confidence = sum over dimensions of (segment's dimension weight share * coverage), which is the
    # share of effective metric weight with data.
    conf = (np.take(c.seg_wn_t, seg, axis=1) * out.dimension_coverage).sum(axis=0)
    conf[no_data] = 0.0
    out.confidence[:] = conf
    band = np.zeros(n, dtype=np.intp)
    with np.errstate(invalid="ignore"):
        for mins in c.band_mins_t:  # count the band mins above the score: 0 = highest band
            band += score < mins[seg]
    band[no_data] = -1
    out.raw_band[:] = band
    per_dim: FloatArray = share / safe_den
    return per_dim


def _drivers(c: Compiled, impact: Float32Array, out: IntArray, out_impact: FloatArray) -> None:
    """Top-k |impact| per account, largest first (ties go to the earlier metric); -1 below min impact.

    Trick: |impact| as float32 bits with the metric number packed into the low 5 mantissa bits, so one
    max-reduction per pass yields both the largest value and its metric. Positive floats order like
    their bit patterns; the packing only blurs the ranking of impacts within ~1e-5 (20 metrics) of
    each other, relatively.
    """
    m, n = impact.shape
    mask = np.uint32((1 << max(m - 1, 1).bit_length()) - 1)
    packed = np.abs(impact).view(np.uint32)
    packed &= ~mask
    packed |= (mask - np.arange(m, dtype=np.uint32))[:, None]  # higher bits for earlier metrics
    cols = np.arange(n)
    for t in range(c.top_k):
        best = packed.max(axis=0)
        idx = (mask - (best & mask)).astype(np.intp)
        packed[idx, cols] = 0
        value = impact[idx, cols]
        keep = np.abs(value) >= c.min_impact
        out[t] = np.where(keep, idx, -1)
        out_impact[t] = np.where(keep, value, 0.0)
