"""The headroom benchmark's free fits: they must recover what the data holds, or its verdict ('the weights
are not what is missing') would mean nothing."""

from __future__ import annotations

import numpy as np
import yaml

from benchmarks.backtest import model_text
from benchmarks.score_headroom import fit_ridge, rows
from benchmarks.tune_scoring import smoke_cases
from scoring.config import model_from_dict


def test_ridge_recovers_a_linear_truth_on_new_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    h = 0.7 * x[:, 0] - 0.3 * x[:, 2]
    fit = fit_ridge(x[:400], h[:400], penalty=1.0)
    pred = fit.predict(x[400:])
    assert np.corrcoef(pred, h[400:])[0, 1] > 0.999


def test_ridge_learns_what_a_missing_value_means() -> None:
    # Accounts with no answer are the unhealthy ones: only the missing-value indicator can say so.
    rng = np.random.default_rng(1)
    h = rng.uniform(size=800)
    x = (h + rng.normal(0, 0.05, size=800)).reshape(-1, 1)
    x[h < 0.3, 0] = np.nan
    fit = fit_ridge(x[:500], h[:500], penalty=1.0)
    pred = fit.predict(x[500:])
    missing = np.isnan(x[500:, 0])
    assert missing.any()
    assert pred[missing].max() < pred[~missing].mean()


def test_rows_score_the_default_beside_the_free_fits() -> None:
    model = model_from_dict(yaml.safe_load(model_text()))
    first, second = smoke_cases(accounts=300)
    (rec,) = rows([first], [second], model)
    assert rec["seed"] == 1
    assert rec["accounts"] == 300
    for name in ("score", "linear", "gbm"):
        assert 0.5 < rec[f"{name}_auc"] <= 1.0
        assert rec[f"{name}_ratio"] == rec[f"{name}_auc"] / rec["ceiling"]
    # The synthetic truth drives NPS, CSAT and sentiment linearly: a free linear fit reads it well.
    assert rec["linear_rho"] > 0.8
