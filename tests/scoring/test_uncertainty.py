"""Bootstrap intervals checked against cases with a known answer (binomial and Hanley-McNeil errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.backtest import auc
from scoring.uncertainty import (
    TOO_SMALL,
    auc_interval,
    auc_matrix,
    auc_verdict,
    band_rate_intervals,
    band_verdict,
    difference_verdict,
    paired_auc_difference,
    resamples,
)


def test_auc_matrix_matches_auc_on_every_resample() -> None:
    rng = np.random.default_rng(3)
    risk = rng.integers(0, 6, 80).astype(float)  # many ties
    y = rng.random(80) < 0.3
    idx = resamples(80, draws=25, seed=1)
    got = auc_matrix(risk, y, idx)
    want = [auc(risk[i], y[i]) for i in idx]
    np.testing.assert_allclose(got, want)


def test_band_rate_interval_matches_binomial_error() -> None:
    """One band of 400 accounts, 80 churned: 95 % interval ≈ 0.2 ± 1.96·√(0.2·0.8/400) = 0.161..0.239."""
    y = np.r_[np.ones(80, bool), np.zeros(320, bool)]
    ci = band_rate_intervals(["red"] * 400, y, ["green", "red"], resamples(400, draws=2000))
    half = 1.96 * math.sqrt(0.2 * 0.8 / 400)
    assert ci["red"].value == pytest.approx(0.2)
    assert ci["red"].low == pytest.approx(0.2 - half, abs=0.01)
    assert ci["red"].high == pytest.approx(0.2 + half, abs=0.01)
    assert ci["green"].value is None
    assert ci["green"].low is None


def test_auc_interval_matches_hanley_mcneil() -> None:
    """Binormal risk with shift 1: AUC = Φ(1/√2) ≈ 0.760; the bootstrap interval's half-width should be
    close to 1.96 x the Hanley-McNeil standard error."""
    rng = np.random.default_rng(7)
    n1, n2 = 150, 600
    risk = np.r_[rng.normal(1.0, 1.0, n1), rng.normal(0.0, 1.0, n2)]
    y = np.r_[np.ones(n1, bool), np.zeros(n2, bool)]
    ci = auc_interval(risk, y, resamples(n1 + n2, draws=2000, seed=2))
    a = auc(risk, y)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2))
    assert ci.value == pytest.approx(a)
    assert ci.low is not None
    assert ci.high is not None
    assert ci.low < a < ci.high
    assert (ci.high - ci.low) / 2 == pytest.approx(1.96 * se, rel=0.2)
    assert 0.70 < a < 0.82  # the known population value is 0.760


def test_perfect_separation_has_a_degenerate_interval() -> None:
    y = np.r_[np.ones(20, bool), np.zeros(30, bool)]
    risk = np.r_[np.full(20, 0.9), np.full(30, 0.1)]
    ci = auc_interval(risk, y, resamples(50, draws=200))
    assert (ci.value, ci.low, ci.high) == (1.0, 1.0, 1.0)


def test_paired_difference_identical_models_is_zero_and_a_better_model_wins() -> None:
    rng = np.random.default_rng(11)
    n = 600
    y = rng.random(n) < 0.2
    good = y * 1.5 + rng.normal(0, 1, n)
    noisy = good + rng.normal(0, 2.0, n)
    idx = resamples(n, draws=500)
    same = paired_auc_difference(good, good, y, idx)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    better = paired_auc_difference(good, noisy, y, idx)
    assert better.low is not None
    assert better.low > 0
    assert "better" in difference_verdict(int(y.sum()), int((~y).sum()), better)
    assert "no clear difference" in difference_verdict(int(y.sum()), int((~y).sum()), same)


def test_verdicts_say_when_the_sample_is_too_small() -> None:
    y = np.r_[np.ones(4, bool), np.zeros(40, bool)]
    ci = auc_interval(np.r_[np.ones(4), np.zeros(40)], y, resamples(44, draws=100))
    assert auc_verdict(4, 40, ci).startswith(TOO_SMALL)
    assert band_verdict(12) is not None
    assert TOO_SMALL in (band_verdict(12) or "")
    assert band_verdict(20) is None
    chance = auc_interval(np.zeros(200), np.r_[np.ones(50, bool), np.zeros(150, bool)], resamples(200, 100))
    assert "chance" in auc_verdict(50, 150, chance)


def test_resamples_are_seeded() -> None:
    np.testing.assert_array_equal(resamples(30, 5, seed=4), resamples(30, 5, seed=4))
