"""How sure a backtest is: bootstrap 95 % intervals for the AUC and each band's churn rate, a paired
draft-vs-live AUC difference, and plain words when the sample is too small to conclude.

Pure numpy. Resampling is over accounts (with replacement), the same resamples for every figure of one
report, so the paired difference uses the SAME accounts for both models (what makes it paired). Seeded:
the same inputs always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Below these counts an interval is too wide to act on: with < 10 churned (or retained) accounts the AUC
# moves by ±0.1 between samples of the same book; a band rate from < 20 accounts by ±20 points.
MIN_CLASS = 10
MIN_BAND = 20
TOO_SMALL = "sample too small to conclude"


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """A point estimate with its bootstrap 95 % interval (None when undefined in the sample)."""

    value: float | None
    low: float | None
    high: float | None

    def as_dict(self, digits: int = 4) -> dict[str, float | None]:
        return {
            k: None if v is None else round(v, digits)
            for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
        }


def resamples(n: int, draws: int = 1000, seed: int = 0) -> IntArray:
    """(draws, n) row indices drawn with replacement: one bootstrap sample per row."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(draws, n)) if n else np.empty((draws, 0), dtype=np.intp)


def auc_matrix(risk: FloatArray, churned: npt.NDArray[np.bool_], idx: IntArray) -> FloatArray:
    """AUC (ties ½) of each bootstrap sample idx[k]; NaN for a sample with only one class."""
    r = risk[idx]  # (draws, n)
    y = churned[idx]
    # Mid-ranks per row: rank of each value = (#less) + (#equal + 1)/2, via sorting each row.
    order = np.argsort(r, axis=1, kind="mergesort")
    rs = np.take_along_axis(r, order, axis=1)
    n = r.shape[1]
    ranks = np.empty_like(r)
    for k in range(r.shape[0]):  # per row: np.unique-based ties are not vectorised across rows
        row = rs[k]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], n]
        ranks[k, order[k]] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    n_pos = y.sum(axis=1).astype(np.float64)
    n_neg = n - n_pos
    u = (ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)
    return out


def _interval(point: float | None, samples: FloatArray) -> Interval:
    s = samples[~np.isnan(samples)]
    if point is None or np.isnan(point) or s.size < 0.5 * samples.size:
        return Interval(value=None if point is None or np.isnan(point) else point, low=None, high=None)
    lo, hi = np.percentile(s, [2.5, 97.5])
    return Interval(value=float(point), low=float(lo), high=float(hi))


def auc_interval(risk: npt.ArrayLike, churned: npt.ArrayLike, idx: IntArray) -> Interval:
    """AUC of risk vs churn with its percentile bootstrap interval over the resamples `idx`."""
    r = np.asarray(risk, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    point = auc_matrix(r, y, np.arange(r.size)[None, :])[0] if r.size else float("nan")
    return _interval(float(point), auc_matrix(r, y, idx) if r.size else np.array([np.nan]))


def paired_auc_difference(
    risk_a: npt.ArrayLike, risk_b: npt.ArrayLike, churned: npt.ArrayLike, idx: IntArray
) -> Interval:
    """AUC(a) - AUC(b) on the same accounts, interval from the same resamples for both (paired)."""
    a = np.asarray(risk_a, dtype=np.float64)
    b = np.asarray(risk_b, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    if not a.size:
        return Interval(value=None, low=None, high=None)
    whole = np.arange(a.size)[None, :]
    point = float(auc_matrix(a, y, whole)[0] - auc_matrix(b, y, whole)[0])
    return _interval(point, auc_matrix(a, y, idx) - auc_matrix(b, y, idx))


def band_rate_intervals(
    bands: Sequence[str], churned: npt.ArrayLike, band_order: Sequence[str], idx: IntArray
) -> dict[str, Interval]:
    """Churn rate per band with its bootstrap interval (resampling accounts, so band sizes vary too)."""
    y = np.asarray(churned, dtype=bool)
    b = np.asarray(bands, dtype=object)
    out: dict[str, Interval] = {}
    for name in band_order:
        member = b == name
        n = int(member.sum())
        if not n:
            out[name] = Interval(value=None, low=None, high=None)
            continue
        m, c = member[idx], (member & y)[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = c.sum(axis=1) / m.sum(axis=1)
        out[name] = _interval(float(y[member].mean()), np.where(m.sum(axis=1) > 0, rates, np.nan))
    return out


def auc_verdict(churned: int, retained: int, interval: Interval) -> str:
    """One sentence a CS leader can read about the AUC."""
    if churned < MIN_CLASS or retained < MIN_CLASS or interval.low is None or interval.high is None:
        return (
            f"{TOO_SMALL}: {churned} churned and {retained} renewed accounts "
            f"(at least {MIN_CLASS} of each are needed)"
        )
    if interval.low > 0.5:
        return f"ranks churners above renewals better than chance (95 % interval {interval.low:.2f} to {interval.high:.2f})"
    return f"not distinguishable from chance (95 % interval {interval.low:.2f} to {interval.high:.2f} includes 0.5)"


def band_verdict(accounts: int) -> str | None:
    """None when a band's rate can be read; else why not."""
    return f"{TOO_SMALL} ({accounts} accounts, at least {MIN_BAND} needed)" if accounts < MIN_BAND else None


def difference_verdict(churned: int, retained: int, diff: Interval) -> str:
    """Whether a draft's AUC differs from the live model's on the same accounts."""
    if churned < MIN_CLASS or retained < MIN_CLASS or diff.low is None or diff.high is None:
        return f"{TOO_SMALL}: {churned} churned and {retained} renewed accounts"
    if diff.low > 0:
        return f"the draft ranks better than the live model (+{diff.low:.3f} to +{diff.high:.3f})"
    if diff.high < 0:
        return f"the draft ranks worse than the live model ({diff.low:+.3f} to {diff.high:+.3f})"
    return (
        f"no clear difference from the live model ({diff.low:+.3f} to {diff.high:+.3f}): "
        "publishing it would change the ranking by noise"
    )
