"""The in-place chunk normalisers agree with the reference functions in features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring import features
from scoring.model import MetricDirection, MetricSpec, Normalisation
from scoring.normalise import column, normalise_into

VALUES = np.array([-5.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.999, 3.0, 3.5, 4.0, 10.0, math.nan])


def spec(norm: Normalisation, direction: MetricDirection) -> MetricSpec:
    return MetricSpec(
        name="m",
        dimension="d",
        label="m",
        unit="",
        direction=direction,
        lookback_days=0,
        weight=1.0,
        normalise=norm,
        text="{value}",
    )


@pytest.mark.parametrize("direction", ["higher_is_better", "lower_is_better"])
@pytest.mark.parametrize(("low", "high"), [(0.0, 4.0), (1.0, 3.0), (-10.0, 10.0)], ids=["0-4", "1-3", "wide"])
def test_linear_into_matches_reference(direction: MetricDirection, low: float, high: float) -> None:
    out = np.empty(VALUES.size, dtype=np.float32)
    normalise_into(spec(Normalisation(method="linear", low=low, high=high), direction), VALUES, out)
    np.testing.assert_allclose(out, features.linear(VALUES, low, high, direction), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("thresholds", "scores", "direction"),
    [
        pytest.param((1.0, 3.0), (1.0, 0.5, 0.0), "lower_is_better", id="falling"),
        pytest.param((0.0, 2.0, 3.0), (0.0, 0.2, 0.2, 1.0), "higher_is_better", id="rising-with-flat-step"),
        pytest.param((2.0,), (0.45, 0.45), "higher_is_better", id="flat"),
    ],
)
def test_stepped_into_matches_reference(
    thresholds: tuple[float, ...], scores: tuple[float, ...], direction: MetricDirection
) -> None:
    norm = Normalisation(method="stepped", thresholds=thresholds, scores=scores)
    out = np.empty(VALUES.size, dtype=np.float32)
    normalise_into(spec(norm, direction), VALUES, out)
    np.testing.assert_allclose(out, features.stepped(VALUES, thresholds, scores), rtol=1e-6)


def test_percentile_is_not_a_chunk_normaliser() -> None:
    with pytest.raises(ValueError, match="batch-wide"):
        normalise_into(
            spec(Normalisation(method="segment_percentile"), "higher_is_better"), VALUES, VALUES.copy()
        )


def test_column_turns_inf_into_no_data_and_absent_into_nan() -> None:
    got = column({"m": [1.0, math.inf, -math.inf]}, "m", 3)
    assert got[0] == 1.0
    assert np.isnan(got[1:]).all()
    assert np.isnan(column({}, "m", 2)).all()
