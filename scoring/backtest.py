"""Backtest scores against outcomes (AUC, churn per band, lift, calibration) and suggest dimension weights.

Convention: "risk" is higher for accounts more likely to churn; a health score's risk is (100 - score)/100.
Weight fitting uses scipy's bounded L-BFGS-B on a logistic loss (no scikit-learn: its lbfgs solver has
no non-negativity constraint, and flipping signs does not give one).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class BandChurn:
    """Outcomes of the accounts that were in one band."""

    band: str
    accounts: int
    churned: int
    rate: float | None  # None when the band had no accounts


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationRow:
    """One risk bin: mean predicted risk vs observed churn rate."""

    bin: int  # 0 = lowest predicted risk
    accounts: int
    predicted: float
    observed: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestReport:
    """How well past scores ranked the accounts that later churned."""

    accounts: int  # scored accounts used (no-score rows are left out)
    excluded: int  # rows without a score
    churn_rate: float
    auc: float  # NaN when only one outcome class is present
    bands: tuple[BandChurn, ...]  # in model band order, highest band first
    lift: float | None  # churn rate of the lowest band / that of the highest; inf if the highest had none
    calibration: tuple[CalibrationRow, ...]


class WeightSuggestion(NamedTuple):
    """Suggested dimension weights (≥ 0, summing to 1) and cross-validated AUC before and after."""

    weights: FloatArray
    auc_before: float
    auc_after: float


def midranks(x: FloatArray) -> FloatArray:
    """1-based ranks with ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def auc(risk: npt.ArrayLike, churned: npt.ArrayLike) -> float:
    """ROC AUC via Mann-Whitney U: P(a churned account has higher risk than a retained one), ties ½.

    Rows with NaN risk are left out; NaN when either class is then empty.
    """
    r = np.asarray(risk, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    keep = ~np.isnan(r)
    r, y = r[keep], y[keep]
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    u = midranks(r)[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def churn_by_band(
    bands: Sequence[str], churned: npt.ArrayLike, band_order: Sequence[str]
) -> tuple[BandChurn, ...]:
    """Accounts, churned and churn rate per band, in `band_order`."""
    y = np.asarray(churned, dtype=bool)
    b = np.asarray(bands, dtype=object)
    out = []
    for name in band_order:
        rows = b == name
        n = int(rows.sum())
        c = int(y[rows].sum())
        out.append(BandChurn(band=name, accounts=n, churned=c, rate=c / n if n else None))
    return tuple(out)


def lift(by_band: Sequence[BandChurn], risky: str, safe: str) -> float | None:
    """Churn rate of band `risky` divided by that of band `safe` (inf if `safe` had no churn)."""
    rates = {b.band: b.rate for b in by_band}
    r, s = rates.get(risky), rates.get(safe)
    if r is None or s is None:
        return None
    if s == 0:
        return float("inf") if r > 0 else None
    return r / s


def calibration(
    predicted: npt.ArrayLike, churned: npt.ArrayLike, bins: int = 10
) -> tuple[CalibrationRow, ...]:
    """Equal-count bins of predicted risk (deciles by default): mean prediction vs observed churn."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    order = np.argsort(p, kind="mergesort")
    rows = []
    for i, idx in enumerate(np.array_split(order, min(bins, max(p.size, 1)))):
        if idx.size:
            rows.append(
                CalibrationRow(
                    bin=i,
                    accounts=int(idx.size),
                    predicted=float(p[idx].mean()),
                    observed=float(y[idx].mean()),
                )
            )
    return tuple(rows)


def backtest(
    scores: npt.ArrayLike,
    bands: Sequence[str | None],
    churned: npt.ArrayLike,
    band_order: Sequence[str],
    *,
    bins: int = 10,
) -> BacktestReport:
    """Evaluate health scores (0..100, NaN = none) and bands as of a past date against churn outcomes.

    Raises:
        ValueError: the inputs have different lengths.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    if not s.shape == y.shape == (len(bands),):
        raise ValueError("scores, bands and churned must have the same length")
    ok = ~np.isnan(s)
    s, y = s[ok], y[ok]
    kept = [b for b, keep in zip(bands, ok.tolist(), strict=True) if keep]
    risk = (100.0 - s) / 100.0
    by_band = churn_by_band([b or "" for b in kept], y, band_order)
    return BacktestReport(
        accounts=int(s.size),
        excluded=int((~ok).sum()),
        churn_rate=float(y.mean()) if y.size else float("nan"),
        auc=auc(risk, y),
        bands=by_band,
        lift=lift(by_band, band_order[-1], band_order[0]) if band_order else None,
        calibration=calibration(risk, y, bins),
    )


def weighted_score(dimensions: FloatArray, weights: FloatArray) -> FloatArray:
    """Health score as the engine computes it: weights renormalised over the dimensions with data."""
    has = ~np.isnan(dimensions)
    w = np.where(has, weights, 0.0)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (w * np.nan_to_num(dimensions)).sum(axis=1) / total, np.nan)


def stratified_folds(churned: BoolArray, folds: int, seed: int) -> npt.NDArray[np.intp]:
    """Fold number per row, each class spread evenly over the folds in a seeded random order."""
    rng = np.random.default_rng(seed)
    fold = np.empty(churned.size, dtype=np.intp)
    for cls in (True, False):
        idx = np.flatnonzero(churned == cls)
        fold[rng.permutation(idx)] = np.arange(idx.size) % folds
    return fold


def fit_nonnegative(x: FloatArray, y: BoolArray, l2: float = 1e-3) -> FloatArray:
    """Logistic regression P(churn) = sigmoid(b - x @ w) with w ≥ 0; returns w (per column of x).

    x has no NaN. Columns are standardised for the fit and w is mapped back, which keeps w ≥ 0.
    """
    mean: FloatArray = np.asarray(x.mean(axis=0), dtype=np.float64)
    std: FloatArray = np.asarray(x.std(axis=0), dtype=np.float64)
    std[std == 0] = 1.0
    z = (x - mean) / std
    t = y.astype(np.float64)
    d = x.shape[1]

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w, b = params[:d], params[d]
        logit = b - z @ w
        # log(1 + e^logit) - t*logit, written stably.
        value = float(np.mean(np.logaddexp(0.0, logit) - t * logit) + l2 * w @ w)
        resid = 1.0 / (1.0 + np.exp(-logit)) - t
        grad = np.empty(d + 1)
        grad[:d] = -(z.T @ resid) / len(t) + 2 * l2 * w
        grad[d] = resid.mean()
        return value, grad

    start = np.r_[np.full(d, 0.1), 0.0]
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * d + [(None, None)])
    w_std: FloatArray = np.asarray(res.x[:d], dtype=np.float64)
    return w_std / std


def suggest_weights(
    dimension_matrix: npt.ArrayLike,
    churned: npt.ArrayLike,
    folds: int = 5,
    seed: int = 0,
    *,
    current_weights: npt.ArrayLike | None = None,
    l2: float = 1e-3,
) -> WeightSuggestion:
    """Non-negative dimension weights from cross-validated logistic regression on past outcomes.

    dimension_matrix: (n, D) dimension scores 0..100 as of the past date (NaN = no data; imputed with
    the training mean for fitting). auc_before scores with `current_weights` (equal if None); auc_after
    is the AUC of out-of-fold health scores from weights fitted on the other folds. The returned weights
    are fitted on all rows and sum to 1 (the current weights if the fit finds no signal).

    Raises:
        ValueError: shapes disagree, or a class has fewer rows than `folds`.
    """
    x = np.asarray(dimension_matrix, dtype=np.float64) / 100.0
    y = np.asarray(churned, dtype=bool)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("dimension_matrix must be (n, D) with one outcome per row")
    if folds < 2 or min(int(y.sum()), int((~y).sum())) < folds:
        raise ValueError(f"need folds ≥ 2 and at least {folds} churned and {folds} retained accounts")
    d = x.shape[1]
    current = (
        np.full(d, 1.0 / d) if current_weights is None else np.asarray(current_weights, dtype=np.float64)
    )
    fold = stratified_folds(y, folds, seed)
    oof = np.full(y.size, np.nan)
    for k in range(folds):
        train, test = fold != k, fold == k
        w = fit_nonnegative(_impute(x[train], x[train]), y[train], l2)
        oof[test] = weighted_score(x[test], w if w.sum() > 0 else current)
    final = fit_nonnegative(_impute(x, x), y, l2)
    final = final / final.sum() if final.sum() > 0 else current / current.sum()
    return WeightSuggestion(
        weights=final,
        auc_before=auc(-weighted_score(x, current), y),
        auc_after=auc(-oof, y),
    )


def _impute(x: FloatArray, train: FloatArray) -> FloatArray:
    """NaN → the training column mean (0.5, i.e. neutral, for an all-NaN column)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice" for an all-NaN column
        means = np.nanmean(train, axis=0)
    means = np.where(np.isnan(means), 0.5, means)
    return np.where(np.isnan(x), means, x)
