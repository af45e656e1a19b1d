"""Backtest metrics on synthetic books where the right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.backtest import auc, backtest, calibration, churn_by_band, lift, midranks, suggest_weights


@pytest.mark.parametrize(
    ("risk", "churned", "expected"),
    [
        pytest.param([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0, id="perfect"),
        pytest.param([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0, id="inverse"),
        pytest.param([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5, id="all-tied"),
        pytest.param([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1], (1 + 1 + 0.5 + 1) / 4, id="one-tie-counts-half"),
        pytest.param([0.1, math.nan, 0.9], [0, 0, 1], 1.0, id="nan-rows-left-out"),
        pytest.param([0.1, 0.2], [0, 0], math.nan, id="one-class"),
    ],
)
def test_auc(risk: list[float], churned: list[int], expected: float) -> None:
    assert auc(risk, churned) == pytest.approx(expected, nan_ok=True)


def test_auc_random_is_about_half() -> None:
    rng = np.random.default_rng(0)
    assert auc(rng.random(20_000), rng.random(20_000) < 0.2) == pytest.approx(0.5, abs=0.02)


def test_auc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(1)
    risk = rng.integers(0, 5, 60).astype(float)
    y = rng.random(60) < 0.4
    pos, neg = risk[y], risk[~y]
    pairs = [(1.0 if p > q else 0.5 if p == q else 0.0) for p in pos for q in neg]
    assert auc(risk, y) == pytest.approx(sum(pairs) / len(pairs))


def test_midranks() -> None:
    np.testing.assert_array_equal(midranks(np.array([10.0, 20.0, 10.0, 30.0])), [1.5, 3.0, 1.5, 4.0])


def test_churn_by_band_and_lift() -> None:
    bands = ["green"] * 10 + ["yellow"] * 5 + ["red"] * 5
    churned = [1] + [0] * 9 + [1, 0, 0, 0, 0] + [1, 1, 1, 0, 0]
    table = churn_by_band(bands, churned, ["green", "yellow", "red"])
    assert [(b.band, b.accounts, b.churned, b.rate) for b in table] == [
        ("green", 10, 1, 0.1),
        ("yellow", 5, 1, 0.2),
        ("red", 5, 3, 0.6),
    ]
    assert lift(table, "red", "green") == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("red_churn", "green_churn", "expected"),
    [(1, 0, math.inf), (0, 0, None)],
    ids=["no-green-churn", "no-churn-at-all"],
)
def test_lift_edge_cases(red_churn: int, green_churn: int, expected: float | None) -> None:
    table = churn_by_band(["red", "green"], [red_churn, green_churn], ["green", "red"])
    assert lift(table, "red", "green") == expected


def test_lift_of_an_empty_band_is_none() -> None:
    assert lift(churn_by_band(["green"], [0], ["green", "red"]), "red", "green") is None


def test_calibration_deciles() -> None:
    predicted = np.arange(100) / 100
    churned = np.arange(100) >= 90  # only the riskiest decile churns
    rows = calibration(predicted, churned)
    assert [r.accounts for r in rows] == [10] * 10
    assert [r.observed for r in rows] == [0.0] * 9 + [1.0]
    assert rows[0].predicted == pytest.approx(0.045)
    assert rows[9].predicted == pytest.approx(0.945)


def test_backtest_report() -> None:
    scores = [90, 80, 60, 55, 30, 20, math.nan]
    bands = ["green", "green", "yellow", "yellow", "red", "red", None]
    churned = [0, 0, 0, 1, 1, 1, 1]
    report = backtest(scores, bands, churned, ["green", "yellow", "red"], bins=3)
    assert (report.accounts, report.excluded) == (6, 1)
    assert report.auc == 1.0
    assert report.churn_rate == pytest.approx(0.5)
    assert [b.rate for b in report.bands] == [0.0, 0.5, 1.0]
    assert report.lift == math.inf
    assert [r.accounts for r in report.calibration] == [2, 2, 2]


def test_backtest_length_mismatch() -> None:
    with pytest.raises(ValueError, match="same length"):
        backtest([1.0], ["red", "red"], [0, 1], ["red"])


def synthetic_book(n: int, seed: int, driver: int) -> tuple[np.ndarray, np.ndarray]:
    """Five dimension scores; churn depends only on dimension `driver` (low score → churn)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, (n, 5))
    x[rng.random((n, 5)) < 0.05] = np.nan  # some missing dimensions
    signal = np.nan_to_num(x[:, driver], nan=50.0)
    churned = rng.random(n) < 1 / (1 + np.exp(-(3 - 0.1 * signal)))
    return x, churned


@pytest.mark.parametrize("driver", [0, 3])
def test_suggest_weights_recovers_the_dimension_that_matters(driver: int) -> None:
    x, churned = synthetic_book(4000, seed=driver + 10, driver=driver)
    weights, before, after = suggest_weights(x, churned, folds=5, seed=1)
    assert weights.shape == (5,)
    assert (weights >= 0).all()
    assert weights.sum() == pytest.approx(1.0)
    assert int(np.argmax(weights)) == driver
    assert weights[driver] > 0.8
    assert after > before + 0.1  # equal weights dilute the one real signal


def test_suggest_weights_gives_zero_to_an_inverted_dimension() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 100, (600, 3))
    churned = x[:, 0] > 50  # healthier → MORE churn: a non-negative weight cannot use it
    weights, before, _ = suggest_weights(x, churned)
    assert weights[0] == 0.0
    assert before < 0.5


def test_suggest_weights_keeps_current_when_nothing_predicts() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 100, (600, 2))
    churned = x.sum(axis=1) > 100  # every dimension inverted: all fitted weights are 0
    weights, _, _ = suggest_weights(x, churned, current_weights=[1, 3])
    np.testing.assert_allclose(weights, [0.25, 0.75])


def test_suggest_weights_needs_enough_outcomes() -> None:
    with pytest.raises(ValueError, match="at least 5 churned"):
        suggest_weights(np.ones((10, 2)), [1, 1] + [0] * 8)
