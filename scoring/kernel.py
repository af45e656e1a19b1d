"""The numeric core of the engine: one chunk of accounts, metrics along rows (M, c) for cache locality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.model import MetricSpec, ScoringModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Compiled:
    """A model's weights and thresholds as arrays (M metrics, D dimensions, S segments, B bands)."""

    specs: tuple[MetricSpec, ...]
    dim_of: IntArray  # (M,) dimension index of each metric
    mw: FloatArray  # (M,) metric weights
    mw100: FloatArray  # (M,) metric weights * 100 (impact in points)
    dim_start: IntArray  # (D,) first metric row of each dimension
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
    mw = np.array([m.weight for m in specs], dtype=np.float64)
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
        mw=mw,
        mw100=mw * 100.0,
        dim_start=np.searchsorted(dim_of, np.arange(len(names))).astype(np.intp),
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
    normalised: FloatArray
    impact: FloatArray
    drivers: IntArray


def score_chunk(c: Compiled, seg: IntArray, norm: FloatArray, out: ChunkOut) -> None:
    """Score one chunk: `norm` is (M, n) normalised values (NaN = no data) and is consumed.

    Every (·, n) array in `out` is metrics/dimensions along rows, accounts along columns.
    """
    out.normalised[:] = norm
    has = ~np.isnan(norm)
    np.copyto(norm, 0.0, where=~has)
    # Per-dimension sums without BLAS (metrics are stored dimension by dimension, so reduceat works
    # and no BLAS thread pool fights our chunk threads).
    weighted = norm * c.mw[:, None]
    num = np.add.reduceat(weighted, c.dim_start, axis=0)  # (D, n)
    den = np.add.reduceat(has * c.mw[:, None], c.dim_start, axis=0)
    dim_ok = den > 0
    safe_den = np.where(dim_ok, den, 1.0)
    dim_score = num / safe_den  # 0 where no data; NaN only in the output
    wd = c.seg_w_t[:, seg] * dim_ok
    wsum = wd.sum(axis=0)
    share = wd / np.where(wsum > 0, wsum, 1.0)
    score = np.round(100.0 * (share * dim_score).sum(axis=0), 1)
    no_data = wsum <= 0
    score[no_data] = np.nan
    out.score[:] = score
    np.multiply(dim_score, 100.0, out=out.dimensions)
    np.copyto(out.dimensions, np.nan, where=~dim_ok)
    out.dimension_weight[:] = share
    np.divide(den, c.dim_total_safe[:, None], out=out.dimension_coverage)
    # confidence = sum over dimensions of (segment's dimension weight share * coverage), which is the
    # share of effective metric weight with data.
    conf = (c.seg_wn_t[:, seg] * out.dimension_coverage).sum(axis=0)
    out.confidence[:] = np.where(no_data, 0.0, conf)

    # impact = renormalised effective weight * (x - 0.5) * 100, zero where there is no data.
    impact = out.impact
    np.take(share / safe_den, c.dim_of, axis=0, out=impact)
    impact *= c.mw100[:, None]
    norm -= 0.5
    impact *= norm
    impact *= has
    _drivers(c, impact, out.drivers)
    with np.errstate(invalid="ignore"):
        band = (score[None, :] < c.band_mins_t[:, seg]).sum(axis=0)
    out.raw_band[:] = np.where(no_data, -1, band)


def _drivers(c: Compiled, impact: FloatArray, out: IntArray) -> None:
    """Top-k |impact| per account, largest first (ties go to the earlier metric); -1 below min impact.

    k running-max sweeps over the M contiguous rows beat argmax along the strided axis.
    """
    mag = np.abs(impact)
    n = mag.shape[1]
    cols = np.arange(n)
    best = np.empty(n)
    idx = np.empty(n, dtype=np.intp)
    for t in range(c.top_k):
        best[:] = mag[0]
        idx[:] = 0
        for j in range(1, mag.shape[0]):
            row = mag[j]
            np.copyto(idx, j, where=row > best)
            np.maximum(best, row, out=best)
        np.copyto(idx, -1, where=best < c.min_impact)
        out[t] = idx
        mag[np.maximum(idx, 0), cols] = -1.0
